"""Who may do what: every "may this user do X to this object" rule, asked by pages, API, admin and services.

Members' rules over their own things (cancel, delete, flag, collections) sit beside site staff's
powers outside the admin, which are granted by the same model permissions the admin asks for.
Every edge that gives staff more than a member (selectors, API, pages, templates, services)
asks one of these predicates, so a staff account the admin refuses is refused everywhere.
They mirror Django's admin exactly:

- the admin lets in only active staff (``AdminSite.has_permission``), so a permission held by
  a non-staff account grants nothing here either;
- a model's "view" screens open with its view *or* change permission
  (``ModelAdmin.has_view_permission``), so reading follows the same pair;
- superusers hold every permission and inactive accounts none: ``user.has_perm`` says so.
"""
from __future__ import annotations

from typing import Any, TypeGuard

from django.contrib.auth import get_permission_codename
from django.db.models import Model
from django.utils.crypto import constant_time_compare

from .conf import app_settings
from .models import ApiToken, Collection, Flag, Generation, Membership, Team, VideoModel


def _has(user: Any, action: str, model: type[Model]) -> bool:
    # is_staff first: members never pay the permission queries, and non-staff get no power the admin refuses.
    if user is None or not getattr(user, "is_active", False) or not getattr(user, "is_staff", False):
        return False
    has_perm = getattr(user, "has_perm", None)  # a host's user model may lack PermissionsMixin: no powers then
    opts = model._meta
    return has_perm is not None and bool(has_perm(f"{opts.app_label}.{get_permission_codename(action, opts)}"))


def _may_view(user: Any, model: type[Model]) -> bool:
    return _has(user, "view", model) or _has(user, "change", model)


def can_view_any_generation(user: Any) -> bool:
    """Open anyone's generation, private or removed by moderation, with its video and thumbnail."""
    return _may_view(user, Generation)


def can_moderate_generations(user: Any) -> bool:
    """Approve or reject any generation (admin, API), as the admin's change permission allows."""
    return _has(user, "change", Generation)


def can_cancel_any_generation(user: Any) -> bool:
    """Cancel someone else's job that has not ended (staff run the queue)."""
    return _has(user, "change", Generation)


def can_review_flags(user: Any) -> bool:
    """Close members' reports in the review queue."""
    return _has(user, "change", Flag)


def can_view_any_team(user: Any) -> bool:
    """Open the page of a team one is not a member of (members, pools, usage)."""
    return _may_view(user, Team)


def can_change_catalogue(user: Any) -> bool:
    """Enable, disable and price models (the admin's catalogue screens)."""
    return _has(user, "change", VideoModel)


def can_revoke_any_token(user: Any) -> bool:
    """Revoke members' API tokens from the admin (a stolen token is stopped without its owner)."""
    return _has(user, "change", ApiToken)


def can_view_operations(user: Any) -> bool:
    """Read /metrics and the admin's system page: any active staff account (the figures name no member)."""
    return bool(user is not None and getattr(user, "is_active", False) and getattr(user, "is_staff", False))


# A member's rules over generations and collections; staff powers above widen some of them.


def may_flag(user: Any, generation: Generation) -> bool:
    """Anyone who can see a video may report it (SPEC: flag, "anyone who can see it")."""
    # selectors asks this module for staff powers, so the visibility read is imported when a flag is asked.
    from .selectors import generations as generation_reads

    return generation_reads.visible_generations(user, include_all_for_staff=True).filter(pk=generation.pk).exists()


def may_cancel(user: Any, generation: Generation) -> bool:
    """The owner, and staff allowed to cancel others' jobs (they run the queue)."""
    return generation.owner_id == getattr(user, "pk", None) or can_cancel_any_generation(user)


def may_change(user: Any, generation: Generation) -> bool:
    """Only the owner edits, shares and revokes links to a video; staff moderate instead."""
    return generation.owner_id == getattr(user, "pk", None)


def may_delete(user: Any, generation: Generation) -> bool:
    """Only the owner deletes; staff reject instead, which keeps the record."""
    return may_change(user, generation)


def may_see_files(user: Any, generation: Generation) -> bool:
    """Whether the video and thumbnail may be served to ``user`` (already allowed to see the row)."""
    return generation.has_video and (not generation.is_removed or can_view_any_generation(user))


def may_manage_team(membership: Membership | None) -> TypeGuard[Membership]:
    """A team's owners and admins manage it (members, invitations); ``membership`` is the member's own, if any."""
    return membership is not None and membership.can_manage


def may_manage_collection(user: Any, collection: Collection) -> bool:
    """Renaming and deleting: its creator, and for a team collection the team's owners and admins.

    Adding and removing videos is open to everyone who may open it (``selectors.studio.collections_of``).
    """
    if collection.owner_id == getattr(user, "pk", None):
        return True
    return collection.team_id is not None and Membership.objects.filter(
        team_id=collection.team_id, user=user, role__in=(Membership.Role.OWNER, Membership.Role.ADMIN)).exists()


def metrics_token_matches(scheme: str, token: str) -> bool:
    """``Authorization: Bearer <GMI_METRICS_TOKEN>``, compared in constant time; never true while it is unset."""
    expected = str(app_settings.METRICS_TOKEN or "")
    return bool(expected) and scheme.lower() == "bearer" and constant_time_compare(token, expected)
