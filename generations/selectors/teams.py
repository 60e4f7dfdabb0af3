"""Reads of teams: the teams a member belongs to, their membership, the invitations still usable,
and the teams a member has not opened yet (whose videos stay out of their lists)."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from ..conf import app_settings
from ..models import Generation, Membership, Team, TeamInvitation
from ..types import User


def team_ids_of(user: Any) -> list[int]:
    if not getattr(user, "is_authenticated", False):
        return []
    return list(Membership.objects.filter(user=user).values_list("team_id", flat=True))


def team_ids_query(user: Any) -> QuerySet[Membership, Any]:
    """The ids of ``user``'s teams as a subquery (``team_id__in=``), so the list filtered by it stays one query."""
    return Membership.objects.filter(user=user).values("team_id")


def teams_of(user: Any) -> QuerySet[Team]:
    return Team.objects.filter(memberships__user=user).order_by("name").distinct()


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
