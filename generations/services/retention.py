"""Retention of mirrored files: which videos' files go when, telling owners first, and deleting them safely.

The site keeps files ``RETENTION_DAYS`` after a job finished (``GMI_RETENTION_DAYS``; None
keeps them forever); a team may set fewer days for its own videos. What retention spares
is one rule, ``selectors.retention.spared_q``. Owners are told ``RETENTION_WARNING_DAYS`` ahead, and a file is
deleted only once its owner was told that long ago, so turning retention on (or
shortening it) never removes anything without a week's notice. Deleting clears the
row's file names first (pages then say the files were removed) and the storage objects
after commit; sizes, history and ledger rows stay.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from .. import telemetry
from ..conf import app_settings
from ..models import Generation
from ..selectors.retention import days_by_team, days_for, expiring, removal_date, site_days
from . import mirroring
from .notifications import recording as notification_recording

logger = logging.getLogger("generations.retention")

CHUNK = 500


@dataclass
class RetentionResult:
    warned_members: int = 0
    warned_videos: int = 0
    deleted_videos: int = 0
    bytes_freed: int = 0
    failures: int = 0
    examples: list[str] = field(default_factory=list)


def warn_owners(*, now: datetime | None = None, dry_run: bool = False) -> tuple[int, int]:
    """Tell each owner, once, about their videos whose files go within ``RETENTION_WARNING_DAYS``.

    Returns (members told, videos concerned). One notification per member and night.
    """
    now = now or timezone.now()
    warning = timedelta(days=int(app_settings.RETENTION_WARNING_DAYS))
    teams = days_by_team()
    by_owner: dict[Any, list[Generation]] = {}
    for generation in expiring(now=now, within=warning).filter(retention_warned_at__isnull=True).only(
            "pk", "owner_id", "team_id", "finished_at", "keep").iterator(chunk_size=CHUNK):
        by_owner.setdefault(generation.owner_id, []).append(generation)
    if dry_run:
        return len(by_owner), sum(len(v) for v in by_owner.values())
    for owner_id, generations in by_owner.items():
        # A file is never deleted sooner than the warning said: at the earliest, a full warning period from now.
        dates = [removal_date(g, team_days=teams) or now for g in generations]
        removed_on = max(min(dates), now + warning)
        days = days_for(teams.get(generations[0].team_id) if generations[0].team_id else None) or 0
        Generation.objects.filter(pk__in=[g.pk for g in generations], retention_warned_at__isnull=True).update(
            retention_warned_at=now)
        try:
            notification_recording.announce_files_expiring(
                owner_id=owner_id, count=len(generations), removed_on=removed_on, days=days,
                batch=f"{owner_id}:{now.date().isoformat()}")
        except Exception:  # the warning is recorded on the rows; a notification hiccup must not stop retention
            logger.exception("could not tell member %s about expiring files", owner_id)
    return len(by_owner), sum(len(v) for v in by_owner.values())


def _deletable(now: datetime) -> QuerySet[Generation]:
    warning = timedelta(days=int(app_settings.RETENTION_WARNING_DAYS))
    if not warning:
        return expiring(now=now)  # the site chose not to warn
    return expiring(now=now).filter(retention_warned_at__lte=now - warning)


def _chunks(qs: QuerySet[Generation]) -> Iterator[list[Generation]]:
    chunk: list[Generation] = []
    for generation in qs.only("pk", "team_id", "video_name", "thumbnail_name", "video_size", "thumbnail_size",
                              "finished_at").order_by("finished_at", "pk").iterator(chunk_size=CHUNK):
        chunk.append(generation)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def delete_expired_files(*, now: datetime | None = None, dry_run: bool = False,
                         progress: Callable[[str], None] | None = None) -> RetentionResult:
    """Delete the files of videos past their retention whose owners were told in time.

    Each row is cleared with a conditional UPDATE (still the same files, still not kept), so
    a member marking "keep" at that moment wins; the storage objects go after commit.
    With ``dry_run`` nothing changes and the result says what would go.
    """
    now = now or timezone.now()
    result = RetentionResult()
    teams = days_by_team()
    for chunk in _chunks(_deletable(now)):
        for generation in chunk:
            size = (generation.video_size or 0) if generation.video_name else 0
            size += (generation.thumbnail_size or 0) if generation.thumbnail_name else 0
            if not dry_run and not _clear(generation, now=now, days=days_for(teams.get(generation.team_id or 0))):
                continue
            result.deleted_videos += 1
            result.bytes_freed += size
            if len(result.examples) < 20:
                result.examples.append(f"{generation.pk} ({size} bytes)")
        if progress:
            verb = "would free" if dry_run else "freed"
            progress(f"{result.deleted_videos} videos, {verb} {result.bytes_freed} bytes so far")
    if not dry_run:
        telemetry.RETENTION_BYTES.inc(result.bytes_freed)
    return result


def _clear(generation: Generation, *, now: datetime, days: int | None) -> bool:
    names = [name for name in (generation.video_name, generation.thumbnail_name) if name]
    with transaction.atomic():
        cleared = Generation.objects.filter(
            pk=generation.pk, keep=False, video_name=generation.video_name, thumbnail_name=generation.thumbnail_name,
        ).update(video_name="", thumbnail_name="", files_removed_at=now, files_retention_days=days, updated_at=now)
        if cleared:
            transaction.on_commit(lambda: mirroring.delete_files(names))
    return bool(cleared)


def apply_retention(*, now: datetime | None = None, dry_run: bool = False,
                    progress: Callable[[str], None] | None = None) -> RetentionResult:
    """The nightly pass: warn owners of what goes within the warning period, then delete what is due."""
    now = now or timezone.now()
    if site_days() is None and not days_by_team():
        return RetentionResult()
    result = delete_expired_files(now=now, dry_run=dry_run, progress=progress)
    result.warned_members, result.warned_videos = warn_owners(now=now, dry_run=dry_run)
    logger.info("retention%s: %d videos' files %s (%d bytes), %d members warned about %d videos",
                " (dry run)" if dry_run else "", result.deleted_videos, "would go" if dry_run else "deleted",
                result.bytes_freed, result.warned_members, result.warned_videos)
    return result
