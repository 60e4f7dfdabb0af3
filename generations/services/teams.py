"""Teams: creation, membership and invitations."""
from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from .. import permissions
from ..exceptions import InvalidInput, InvalidTransition, NotAllowed, NotFound
from ..inputs import require_clean_text
from ..models import Membership, Team, TeamInvitation
from ..policies import require_approved_account, require_below_limit
from ..selectors.teams import invitation_cutoff, membership_of, open_invitations_q
from ..types import User
from . import audit

Role = Membership.Role


def _require_manager(user: User, team: Team) -> Membership:
    membership = membership_of(user, team)
    if not permissions.may_manage_team(membership):
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


def add_member(*, team: Team, actor: User, username: str,
               role: str = Role.MEMBER) -> Membership | TeamInvitation:
    """Owners and admins invite someone by username, or change a current member's role.

    Nobody becomes a member without consent: for anyone not yet in the team this records an
    invitation addressed to ``username`` that only that account can accept or decline in the
    app (``accept_named_invitation``); nothing is e-mailed or notified. The answer is the same
    whether or not such an account exists, so inviting never reveals who has one. Asking again
    while an invitation is open changes its role; a declined one is not renewed until it
    would have expired. For a current member (listed to the managers anyway) the role
    changes at once; an owner's role is never changed here (ownership is handed over explicitly).
    """
    require_approved_account(actor)
    _require_manager(actor, team)
    if role not in (Role.ADMIN, Role.MEMBER):
        raise InvalidInput({"role": ["Must be 'admin' or 'member'."]})
    username = (username or "").strip()
    require_clean_text(username=username)
    if not username:
        raise InvalidInput({"username": ["Give the username of the person to invite."]})
    User = get_user_model()
    membership = (Membership.objects.filter(team=team, **{f"user__{User.USERNAME_FIELD}": username})
                  .select_related("user").first())
    if membership is not None:
        if membership.role != role:
            if membership.role == Role.OWNER:
                raise InvalidTransition("This member is an owner; ownership is not changed by adding them again.")
            audit.record_event(action=audit.Action.ROLE_CHANGED, actor=actor, target=membership,
                               data={"from": membership.role, "to": role})
            membership.role = role
            membership.save(update_fields=["role"])
        return membership
    with transaction.atomic():
        # Serialises invitations of one team, so the cap and "one open invitation per username" hold.
        Team.objects.select_for_update().filter(pk=team.pk).first()
        recent = (TeamInvitation.objects.filter(team=team, username=username, accepted_at__isnull=True,
                                                created_at__gte=invitation_cutoff())
                  .order_by("-created_at").first())
        if recent is not None:
            if recent.declined_at is None and recent.role != role:
                recent.role = role
                recent.save(update_fields=["role"])
            return recent
        require_below_limit(
            setting="MAX_PENDING_INVITATIONS_PER_TEAM",
            used=TeamInvitation.objects.filter(open_invitations_q(), team=team).count(),
            message="This team already has {cap} open invitations: withdraw unused ones first.",
        )
        invitation = TeamInvitation.objects.create(team=team, username=username, role=role,
                                                   token=secrets.token_urlsafe(24), invited_by=actor)
    audit.record_event(action=audit.Action.MEMBER_INVITED, actor=actor, target=invitation,
                       data={"role": role, "username": username})
    return invitation


def remove_member(*, team: Team, actor: User, username: str) -> None:
    """Managers remove members; anyone may leave. The last owner cannot leave."""
    require_clean_text(username=username)
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
    """An invitation link for ``team``; at most ``MAX_PENDING_INVITATIONS_PER_TEAM`` invitations
    (links and invitations addressed to a username) are open at once."""
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


def revoke_invitation(*, team: Team, actor: User, invitation_id: int) -> None:
    """Owners and admins withdraw an unused invitation link or an invitation addressed to someone."""
    _require_manager(actor, team)
    deleted = TeamInvitation.objects.filter(team=team, pk=invitation_id, accepted_at__isnull=True).delete()[0]
    if not deleted:
        raise NotFound("There is no open invitation with this id.")


@transaction.atomic
def accept_invitation(*, token: str, user: User) -> Membership:
    """Join the team of an invitation link. Raises ``AccountPending`` while the account waits for approval."""
    require_approved_account(user)
    require_clean_text(token=token)
    invitation = (TeamInvitation.objects.select_for_update()
                  .filter(open_invitations_q(), token=token, username="").first())
    if invitation is None:
        raise InvalidTransition("This invitation is not valid any more: ask for a new link.")
    return _join(invitation, user)


@transaction.atomic
def accept_named_invitation(*, invitation_id: int, user: User) -> Membership:
    """``user`` accepts an invitation addressed to them: only now do they become a member.

    Raises ``AccountPending`` while the account waits for approval, ``NotFound`` for an
    invitation that is not theirs or not open any more.
    """
    require_approved_account(user)
    invitation = (TeamInvitation.objects.select_for_update()
                  .filter(open_invitations_q(), pk=invitation_id, username=user.get_username())
                  .exclude(username="").first())
    if invitation is None:
        raise NotFound("There is no open invitation with this id for you.")
    return _join(invitation, user)


def decline_invitation(*, invitation_id: int, user: User) -> None:
    """``user`` declines an invitation addressed to them; the team cannot renew it until it would have expired."""
    declined = (TeamInvitation.objects.filter(open_invitations_q(), pk=invitation_id, username=user.get_username())
                .exclude(username="").update(declined_at=timezone.now()))
    if not declined:
        raise NotFound("There is no open invitation with this id for you.")


def _join(invitation: TeamInvitation, user: User) -> Membership:
    membership, _ = Membership.objects.get_or_create(team=invitation.team, user=user,
                                                     defaults={"role": invitation.role, "seen_at": timezone.now()})
    # Accepting is consent, also for someone staff had added without asking.
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
