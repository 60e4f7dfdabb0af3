"""Reads: which generations, teams and models a user may see."""
from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from . import permissions
from .conf import app_settings
from .gmi import schema
from .models import Generation, Membership, Notification, Team, VideoModel

M = Generation.Moderation


def team_visible_q() -> Q:
    """Team videos teammates may see: never rejected; under pre-moderation, only approved."""
    if app_settings.MODERATION == "pre":
        return Q(visibility=Generation.Visibility.TEAM, moderation=M.APPROVED)
    return Q(visibility=Generation.Visibility.TEAM) & ~Q(moderation=M.REJECTED)


def team_ids_of(user: Any) -> list[int]:
    if not getattr(user, "is_authenticated", False):
        return []
    return list(Membership.objects.filter(user=user).values_list("team_id", flat=True))


def visible_generations(user: Any, *, include_all_for_staff: bool = False) -> QuerySet[Generation]:
    """Everything ``user`` may open: their own (also when removed by moderation, to see why)
    and their teams' shared videos that moderation allows. ``include_all_for_staff`` gives
    everything to staff allowed to view any generation (``permissions``), and only to them."""
    base = Generation.objects.filter(deleted_at__isnull=True)
    if include_all_for_staff and permissions.can_view_any_generation(user):
        return base
    if not getattr(user, "is_authenticated", False):
        return base.none()
    return base.filter(Q(owner=user) | (Q(team_id__in=team_ids_of(user)) & team_visible_q()))


def gallery(user: Any, *, tab: str = "mine", team: Team | None = None, status: str = "", model: str = "",
            q: str = "", favorites: bool = False) -> QuerySet[Generation]:
    """The gallery list: own videos, or a team's shared ones, filtered; newest first."""
    if tab == "team":
        teams = [team.pk] if team is not None else team_ids_of(user)
        qs = Generation.objects.filter(deleted_at__isnull=True, team_id__in=teams).filter(
            team_visible_q() | Q(owner=user, visibility=Generation.Visibility.TEAM)
        )
    else:
        qs = visible_generations(user).filter(owner=user)
    if favorites:  # a star is its owner's: on a team tab, the member's own starred videos
        qs = qs.filter(owner=user, favorite=True)
    return filter_generations(qs, status=status, model=model, q=q)


def filter_generations(qs: QuerySet[Generation], *, status: str = "", model: str = "", q: str = "",
                       team: str = "") -> QuerySet[Generation]:
    if status:
        qs = qs.filter(status__in=[s for s in status.split(",") if s])
    if model:
        qs = qs.filter(model_id=model)
    if team:
        qs = qs.filter(team__slug=team)
    if q:
        qs = qs.filter(Q(prompt__icontains=q) | Q(model__id__icontains=q))
    return qs.select_related("owner", "team", "model").order_by("-created_at")


def get_visible_generation(user: Any, pk: Any, *, staff_sees_all: bool = True) -> Generation | None:
    try:
        return visible_generations(user, include_all_for_staff=staff_sees_all).select_related(
            "owner", "team", "model").get(pk=pk)
    except (Generation.DoesNotExist, ValueError, ValidationError):
        return None


def enabled_models() -> QuerySet[VideoModel]:
    return VideoModel.objects.filter(enabled=True, available=True).order_by("position", "id")


def teams_of(user: Any) -> QuerySet[Team]:
    return Team.objects.filter(memberships__user=user).order_by("name").distinct()


# Who may do what with a generation they can see: one place for each rule.


def may_flag(user: Any, generation: Generation) -> bool:
    """Anyone who can see a video may report it (SPEC: flag, "anyone who can see it")."""
    return visible_generations(user, include_all_for_staff=True).filter(pk=generation.pk).exists()


def may_cancel(user: Any, generation: Generation) -> bool:
    """The owner, and staff allowed to cancel others' jobs (they run the queue)."""
    return generation.owner_id == getattr(user, "pk", None) or permissions.can_cancel_any_generation(user)


def may_delete(user: Any, generation: Generation) -> bool:
    """Only the owner deletes; staff reject instead, which keeps the record."""
    return generation.owner_id == getattr(user, "pk", None)


def shows_files(user: Any, generation: Generation) -> bool:
    """Whether the video and thumbnail may be served to ``user`` (already allowed to see the row)."""
    return generation.has_video and (not generation.is_removed or permissions.can_view_any_generation(user))


def notifications_of(user: Any, *, unread_only: bool = False) -> QuerySet[Notification]:
    """The member's own notifications, newest first (nobody else's, staff included)."""
    if not getattr(user, "is_authenticated", False):
        return Notification.objects.none()
    qs = Notification.objects.filter(recipient=user)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs.order_by("-created_at", "-id")


def unread_notification_count(user: Any) -> int:
    """The bell's number: one COUNT over the unread rows' partial index."""
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def video_shape(generation: Generation) -> dict[str, Any]:
    """What a generation's payload asks for, read through its model's schema: ``aspect_ratio`` ("16:9") and
    ``duration_seconds`` (None when the payload and the schema cannot tell)."""
    params = _parameters_of(generation.model_id, generation.model.parameters)
    payload = generation.payload if isinstance(generation.payload, dict) else {}
    return {"aspect_ratio": schema.requested_aspect_ratio(params, payload),
            "duration_seconds": schema.requested_seconds(params, payload) if payload or params else None}


def _parameters_of(model_id: str, raw: Any) -> list[Any]:
    # A page of cards reads the same model's schema many times: read it once per page.
    key = (model_id, json.dumps(raw, sort_keys=True, default=str))
    found = _PARAMETER_CACHE.get(key)
    if found is None:
        if len(_PARAMETER_CACHE) > 64:
            _PARAMETER_CACHE.clear()
        found = _PARAMETER_CACHE[key] = schema.read_parameters(raw)
    return found


_PARAMETER_CACHE: dict[tuple[str, str], list[Any]] = {}
