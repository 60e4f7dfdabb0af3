"""Teams: creation, membership and invitations."""
from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from ..exceptions import InvalidInput, InvalidTransition, NotAllowed, NotFound
from ..models import Membership, Team, TeamInvitation

Role = Membership.Role


def membership_of(user: Any, team: Team) -> Membership | None:
    return Membership.objects.filter(team=team, user=user).first()


def _require_manager(user: Any, team: Team) -> Membership:
    membership = membership_of(user, team)
    if membership is None or not membership.can_manage:
        raise NotAllowed("Only the team's owners and admins can manage its members.")
    return membership


def create_team(*, user: Any, name: str) -> Team:
    """A new team with ``user`` as its owner. The slug is derived from the name and unique,
    also when two teams of the same name are created at the same moment."""
    name = (name or "").strip()
    if not name:
        raise InvalidInput({"name": ["Give the team a name."]})
    base = slugify(name)[:120] or "team"
    taken = set(Team.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    candidates = [base] + [f"{base}-{n}" for n in range(2, 10000)]
    for slug in (c for c in candidates if c not in taken):
        try:
            with transaction.atomic():
                team = Team.objects.create(name=name[:120], slug=slug)
                Membership.objects.create(team=team, user=user, role=Role.OWNER)
            return team
        except IntegrityError:
            continue  # someone took this slug a moment ago; try the next
    raise InvalidInput({"name": ["Too many teams have this name; choose another."]})


def add_member(*, team: Team, actor: Any, username: str, role: str = Role.MEMBER) -> Membership:
    """Owners and admins add an existing user as admin or member, or change a member's role.

    An owner's role is never changed here (ownership is handed over explicitly).
    """
    _require_manager(actor, team)
    if role not in (Role.ADMIN, Role.MEMBER):
        raise InvalidInput({"role": ["Must be 'admin' or 'member'."]})
    User = get_user_model()
    user = User.objects.filter(**{User.USERNAME_FIELD: username}).first()
    if user is None:
        raise InvalidInput({"username": [f"There is no user named {username!r}. Check the spelling."]})
    try:
        with transaction.atomic():
            membership, created = Membership.objects.get_or_create(team=team, user=user, defaults={"role": role})
    except IntegrityError:
        membership, created = Membership.objects.get(team=team, user=user), False
    if not created and membership.role != role:
        if membership.role == Role.OWNER:
            raise InvalidTransition("This member is an owner; ownership is not changed by adding them again.")
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


def remove_member(*, team: Team, actor: Any, username: str) -> None:
    """Managers remove members; anyone may leave. The last owner cannot leave."""
    User = get_user_model()
    target = Membership.objects.filter(team=team, **{f"user__{User.USERNAME_FIELD}": username}).select_related("user").first()
    if target is None:
        raise NotFound(f"{username!r} is not a member of this team.")
    if target.user != actor:
        manager = _require_manager(actor, team)
        if target.role == Role.OWNER and manager.role != Role.OWNER:
            raise NotAllowed("Only owners can remove an owner.")
    if target.role == Role.OWNER and not Membership.objects.filter(team=team, role=Role.OWNER).exclude(pk=target.pk).exists():
        raise InvalidTransition("A team needs an owner: make someone else owner first.")
    target.delete()


def invite(*, team: Team, actor: Any, email: str = "", role: str = Role.MEMBER) -> TeamInvitation:
    _require_manager(actor, team)
    if role not in (Role.ADMIN, Role.MEMBER):
        raise InvalidInput({"role": ["Must be 'admin' or 'member'."]})
    return TeamInvitation.objects.create(team=team, email=email.strip(), role=role,
                                         token=secrets.token_urlsafe(24), invited_by=actor)


def open_invitations_q():
    """Invitations still usable: not accepted, not older than INVITATION_DAYS."""
    from datetime import timedelta

    from django.db.models import Q

    from ..conf import app_settings

    return Q(accepted_at__isnull=True, created_at__gte=timezone.now() - timedelta(days=app_settings.INVITATION_DAYS))


def revoke_invitation(*, team: Team, actor: Any, invitation_id: int) -> None:
    """Owners and admins withdraw an unused invitation link."""
    _require_manager(actor, team)
    deleted = TeamInvitation.objects.filter(team=team, pk=invitation_id, accepted_at__isnull=True).delete()[0]
    if not deleted:
        raise NotFound("There is no open invitation with this id.")


@transaction.atomic
def accept_invitation(*, token: str, user: Any) -> Membership:
    invitation = TeamInvitation.objects.select_for_update().filter(open_invitations_q(), token=token).first()
    if invitation is None:
        raise InvalidTransition("This invitation is not valid any more: ask for a new link.")
    membership, _ = Membership.objects.get_or_create(team=invitation.team, user=user,
                                                     defaults={"role": invitation.role})
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    return membership
