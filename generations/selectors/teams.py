"""Reads of teams: a member's membership, the invitations still usable, and the teams a member
has not opened yet (whose videos stay out of their lists)."""
from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from ..conf import app_settings
from ..models import Generation, Membership, Team, TeamInvitation
from ..types import User


def membership_of(user: User, team: Team) -> Membership | None:
    return Membership.objects.filter(team=team, user=user).first()


def invitation_cutoff() -> datetime:
    """Invitations made before this are no longer usable (``INVITATION_DAYS``)."""
    return timezone.now() - timedelta(days=app_settings.INVITATION_DAYS)


def open_invitations_q() -> Q:
    """Invitations still usable: not accepted, not declined, not older than INVITATION_DAYS."""
    return Q(accepted_at__isnull=True, declined_at__isnull=True, created_at__gte=invitation_cutoff())


def invitations_for(user: User) -> QuerySet[TeamInvitation]:
    """The open invitations addressed to ``user``'s username, newest first."""
    return (TeamInvitation.objects.filter(open_invitations_q(), username=user.get_username())
            .exclude(username="").exclude(team__memberships__user=user)
            .select_related("team", "invited_by").order_by("-created_at"))


def open_invitation(token: str | None) -> TeamInvitation | None:
    """The usable (not accepted, not expired) invitation for ``token``, or None."""
    if not token:
        return None
    return TeamInvitation.objects.select_related("team").filter(open_invitations_q(), token=token).first()


def hide_unopened_teams(generations: QuerySet[Generation], *, user: User) -> QuerySet[Generation]:
    """``generations`` without other people's videos in teams ``user`` was added to and has not opened.

    Staff can add anyone to a team (members only invite); until they look at it, its videos must
    not fill their gallery or their API list. A subquery, so no extra query is run.
    """
    unopened = Membership.objects.filter(user=user, seen_at__isnull=True).values("team_id")
    return generations.exclude(Q(team_id__in=unopened) & ~Q(owner=user))
