"""Teams: creation, membership and invitations."""
from __future__ import annotations

import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.text import slugify

from ..conf import app_settings
from ..exceptions import InvalidInput, InvalidTransition, NotAllowed, NotFound
from ..models import Generation, Membership, Team, TeamInvitation
from ..policies import require_approved_account, require_below_limit
from ..types import User
from . import audit

Role = Membership.Role


def membership_of(user: User, team: Team) -> Membership | None:
    return Membership.objects.filter(team=team, user=user).first()


def _require_manager(user: User, team: Team) -> Membership:
    membership = membership_of(user, team)
    if membership is None or not membership.can_manage:
        raise NotAllowed("Only the team's owners and admins can manage its members.")
    return membership


def create_team(*, user: User, name: str) -> Team:
    """A new team with ``user`` as its owner. The slug is derived from the name and unique,
    also when two teams of the same name are created at the same moment.

    Raises ``AccountPending`` while the account waits for approval and ``LimitReached``
    when the user already owns ``MAX_TEAMS_PER_USER`` teams.
    """
    require_approved_account(user)
    name = (name or "").strip()
    if not name:
        raise InvalidInput({"name": ["Give the team a name."]})
    require_below_limit(
        setting="MAX_TEAMS_PER_USER", used=Membership.objects.filter(user=user, role=Role.OWNER).count(),
        message="You already own {cap} teams: delete or hand over one before creating another.",
    )
    base = slugify(name)[:120] or "team"
    taken = set(Team.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    candidates = [base] + [f"{base}-{n}" for n in range(2, 10000)]
    for slug in (c for c in candidates if c not in taken):
        try:
            with transaction.atomic():
                team = Team.objects.create(name=name[:120], slug=slug)
                Membership.objects.create(team=team, user=user, role=Role.OWNER, seen_at=timezone.now())
            return team
        except IntegrityError:
            continue  # someone took this slug a moment ago; try the next
    raise InvalidInput({"name": ["Too many teams have this name; choose another."]})


def add_member(*, team: Team, actor: User, username: str, role: str = Role.MEMBER) -> Membership:
    """Owners and admins add an existing user as admin or member, or change a member's role.

    An owner's role is never changed here (ownership is handed over explicitly).
    The person added has not opened the team yet: they are told on their next page,
    may leave at once, and the team's videos stay out of their gallery until they
    open it (``open_team``).
    """
    require_approved_account(actor)
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
        audit.record_event(action=audit.Action.ROLE_CHANGED, actor=actor, target=membership,
                           data={"from": membership.role, "to": role})
        membership.role = role
        membership.save(update_fields=["role"])
    if created:
        audit.record_event(action=audit.Action.MEMBER_ADDED, actor=actor, target=membership, data={"role": role})
    return membership


def remove_member(*, team: Team, actor: User, username: str) -> None:
    """Managers remove members; anyone may leave. The last owner cannot leave."""
    User = get_user_model()
    target = (
        Membership.objects.filter(team=team, **{f"user__{User.USERNAME_FIELD}": username})
        .select_related("user").first()
    )
    if target is None:
        raise NotFound(f"{username!r} is not a member of this team.")
    if target.user != actor:
        manager = _require_manager(actor, team)
        if target.role == Role.OWNER and manager.role != Role.OWNER:
            raise NotAllowed("Only owners can remove an owner.")
    other_owners = Membership.objects.filter(team=team, role=Role.OWNER).exclude(pk=target.pk)
    if target.role == Role.OWNER and not other_owners.exists():
        raise InvalidTransition("A team needs an owner: make someone else owner first.")
    audit.record_event(action=audit.Action.MEMBER_REMOVED, actor=actor, target=target, data={"role": target.role})
    target.delete()


def invite(*, team: Team, actor: User, email: str = "", role: str = Role.MEMBER) -> TeamInvitation:
    """An invitation link for ``team``; at most ``MAX_PENDING_INVITATIONS_PER_TEAM`` are open at once."""
    require_approved_account(actor)
    _require_manager(actor, team)
    if role not in (Role.ADMIN, Role.MEMBER):
        raise InvalidInput({"role": ["Must be 'admin' or 'member'."]})
    require_below_limit(
        setting="MAX_PENDING_INVITATIONS_PER_TEAM",
        used=TeamInvitation.objects.filter(open_invitations_q(), team=team).count(),
        message="This team already has {cap} open invitation links: revoke unused ones first.",
    )
    invitation = TeamInvitation.objects.create(team=team, email=email.strip(), role=role,
                                               token=secrets.token_urlsafe(24), invited_by=actor)
    audit.record_event(action=audit.Action.MEMBER_INVITED, actor=actor, target=invitation, data={"role": role})
    return invitation


def open_invitations_q():
    """Invitations still usable: not accepted, not older than INVITATION_DAYS."""
    return Q(accepted_at__isnull=True, created_at__gte=timezone.now() - timedelta(days=app_settings.INVITATION_DAYS))


def revoke_invitation(*, team: Team, actor: User, invitation_id: int) -> None:
    """Owners and admins withdraw an unused invitation link."""
    _require_manager(actor, team)
    deleted = TeamInvitation.objects.filter(team=team, pk=invitation_id, accepted_at__isnull=True).delete()[0]
    if not deleted:
        raise NotFound("There is no open invitation with this id.")


@transaction.atomic
def accept_invitation(*, token: str, user: User) -> Membership:
    invitation = TeamInvitation.objects.select_for_update().filter(open_invitations_q(), token=token).first()
    if invitation is None:
        raise InvalidTransition("This invitation is not valid any more: ask for a new link.")
    membership, _ = Membership.objects.get_or_create(team=invitation.team, user=user,
                                                     defaults={"role": invitation.role, "seen_at": timezone.now()})
    # Accepting a link is consent, also for someone who had been added without asking.
    open_team(user=user, team=invitation.team)
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    audit.record_event(action=audit.Action.MEMBER_ACCEPTED, actor=user, target=membership,
                       data={"role": membership.role, "invited_by": invitation.invited_by_id})
    return membership


def open_team(*, user: User, team: Team) -> bool:
    """Record that ``user`` opened (or accepted) a team they belong to; True the first time.

    Conditional, so it costs one UPDATE that matches nothing once the team was opened.
    """
    return bool(Membership.objects.filter(team=team, user=user, seen_at__isnull=True).update(seen_at=timezone.now()))


def hide_unopened_teams(generations: QuerySet[Generation], *, user: User) -> QuerySet[Generation]:
    """``generations`` without other people's videos in teams ``user`` was added to and has not opened.

    Anyone can be added to a team by username; until they look at it, its videos must
    not fill their gallery or their API list. A subquery, so no extra query is run.
    """
    unopened = Membership.objects.filter(user=user, seen_at__isnull=True).values("team_id")
    return generations.exclude(Q(team_id__in=unopened) & ~Q(owner=user))
