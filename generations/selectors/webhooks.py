"""Reads of webhooks: the endpoints a member manages, whether each is paused, and a delivery log."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet

from ..models import Membership, Team, UserProfile, WebhookDelivery, WebhookEndpoint
from .generations import visible_generations


def teams_managed_by(user: Any) -> list[Team]:
    """Teams whose webhooks ``user`` manages: where their membership may manage the team (owners, admins)."""
    if not getattr(user, "is_authenticated", False):
        return []
    memberships = Membership.objects.filter(user=user).select_related("team").order_by("team__name")
    return [m.team for m in memberships if m.can_manage]


def endpoints_of(user: Any) -> QuerySet[WebhookEndpoint]:
    """The endpoints ``user`` manages: their personal ones and those of the teams they own or administer.

    Every edge (API, pages) looks endpoints up here, so an endpoint outside this set is a 404.
    """
    team_ids = [team.pk for team in teams_managed_by(user)]
    if not team_ids and not getattr(user, "is_authenticated", False):
        return WebhookEndpoint.objects.none()
    return WebhookEndpoint.objects.filter(Q(owner=user, team__isnull=True) | Q(team_id__in=team_ids)).select_related(
        "team", "owner")


@dataclass(frozen=True)
class EndpointRow:
    endpoint: WebhookEndpoint
    #: A team endpoint whose creator no longer manages the team: it gets no events
    #: (that person may still hold its secret and run the receiver).
    paused: bool


def endpoint_rows(user: Any) -> list[EndpointRow]:
    """The endpoints ``user`` manages (``endpoints_of``), each with whether it is paused; two queries."""
    endpoints = list(endpoints_of(user))
    managers = still_managed(endpoints)
    return [EndpointRow(e, e.team_id is not None and (e.team_id, e.owner_id) not in managers) for e in endpoints]


def still_managed(endpoints: list[WebhookEndpoint]) -> set[tuple[Any, Any]]:
    """(team, creator) of the team endpoints whose creator still manages the team; one query."""
    team_ones = [e for e in endpoints if e.team_id is not None]
    if not team_ones:
        return set()
    memberships = Membership.objects.filter(team_id__in={e.team_id for e in team_ones},
                                            user_id__in={e.owner_id for e in team_ones})
    return {(m.team_id, m.user_id) for m in memberships if m.can_manage}


def team_managers(team_id: Any) -> set[Any]:
    """Who manages the team now (owners, admins): the creators whose team endpoints still get its events."""
    return {m.user_id for m in Membership.objects.filter(team_id=team_id) if m.can_manage}


def deliveries_of(endpoint: WebhookEndpoint, *, viewer: Any) -> QuerySet[WebhookDelivery]:
    """The endpoint's delivery log, newest first, each row with ``payload_shown``: whether ``viewer``
    may read the message it carries (a video's prompt, parameters and links).

    The rule is the video's own: the message shows only while ``viewer`` may open the video
    (``visible_generations``, as its page and API answer ask), so an admin who joined later,
    or anyone after the video was rejected, made private or deleted, sees the delivery's
    state but not what the video was. A message about no video (a team's quota event for a
    private job) shows; one whose video is gone does not.
    """
    may_see = visible_generations(viewer, include_all_for_staff=True).filter(pk=OuterRef("generation_id"))
    about_no_video = Q(generation__isnull=True) & ~Q(payload__data__has_key="id")
    shown = ExpressionWrapper(Q(Exists(may_see)) | about_no_video, output_field=BooleanField())
    return endpoint.deliveries.annotate(payload_shown=shown).order_by("-created_at")


def has_submission_secret(user: Any) -> bool:
    """Whether the member's per-submission secret exists yet (it is made on first use or when asked for)."""
    return UserProfile.objects.filter(user=user).exclude(webhook_secret="").exists()
