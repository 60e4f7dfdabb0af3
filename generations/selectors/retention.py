"""Reads of retention: the days that apply to a video, what retention spares, which videos' files are
past their retention, and when a video's files go; deleting them and telling owners is
``services.retention``."""
from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from ..conf import app_settings
from ..models import Generation, Team
from .studio import in_any_collection_q

S = Generation.Status


def spared_q() -> Q:
    """The one rule of what retention never touches: videos their owner keeps, and videos in any collection."""
    return Q(keep=True) | in_any_collection_q()


def site_days() -> int | None:
    days = app_settings.RETENTION_DAYS
    return None if days in (None, "") else int(days)


def days_for(team_days: int | None) -> int | None:
    """The days that apply to a video: the site's, or its team's when fewer (None: kept forever)."""
    site = site_days()
    if team_days is None:
        return site
    return team_days if site is None else min(site, team_days)


def days_by_team() -> dict[int, int]:
    """The teams that set their own retention, with their days."""
    return {pk: int(days or 0) for pk, days in
            Team.objects.filter(retention_days__isnull=False).values_list("pk", "retention_days")}


def _due_q(cutoff: datetime, teams: dict[int, int]) -> Q | None:
    """Files of videos that finished ``days`` before ``cutoff`` (per site and team), or None when nothing expires."""
    site = site_days()
    clauses = []
    if site is not None:
        clauses.append(Q(finished_at__lt=cutoff - timedelta(days=site)))
    for team_id, days in teams.items():
        if site is None or days < site:
            clauses.append(Q(team_id=team_id, finished_at__lt=cutoff - timedelta(days=days)))
    if not clauses:
        return None
    due = clauses[0]
    for clause in clauses[1:]:
        due |= clause
    return due


def _with_files() -> QuerySet[Generation]:
    return Generation.objects.filter(status=S.SUCCEEDED).filter(~Q(video_name="") | ~Q(thumbnail_name="")).exclude(
        spared_q())


def expiring(*, now: datetime | None = None, within: timedelta = timedelta(0)) -> QuerySet[Generation]:
    """Videos whose files are past their retention at ``now + within`` (not yet deleted, not spared)."""
    now = now or timezone.now()
    due = _due_q(now + within, days_by_team())
    return _with_files().filter(due) if due is not None else Generation.objects.none()


def removal_date(generation: Generation, *, team_days: dict[int, int] | None = None) -> datetime | None:
    """When retention will delete this video's files (None: never, or kept)."""
    teams = days_by_team() if team_days is None else team_days
    days = days_for(teams.get(generation.team_id) if generation.team_id else None)
    if days is None or generation.keep or generation.finished_at is None:
        return None
    return generation.finished_at + timedelta(days=days)

