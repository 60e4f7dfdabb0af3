"""Which engine drives which jobs: every job belongs to one of SHARDS shards, and a live engine leases shards.

A job is driven only by the engine holding its shard's lease, so no job is polled
twice at once, across processes and machines, without writing anything per poll.
Engines announce themselves with a heartbeat (``EngineBeat``); each takes its fair
share of the shards (``ceil(SHARDS / live engines)``), hands extras back when a new
engine appears, and takes over the shards of an engine that stopped beating once
their lease has run out. An engine stops using a shard a safety margin before its
lease ends, so a slow engine and its successor never overlap.
"""
from __future__ import annotations

import logging
import math
import os
import random
import socket
import time
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from .. import queue
from ..conf import app_settings
from ..models import SHARDS, EngineBeat, EngineShard

logger = logging.getLogger("generations.engine")


def lease_seconds() -> float:
    return float(app_settings.ENGINE_STALE)


def cluster_id() -> str:
    """This qcluster: its host and the pid of its sentinel (the parent of every worker process)."""
    return f"{socket.gethostname()}:{os.getppid()}"


def _stale_before():
    return timezone.now() - timedelta(seconds=lease_seconds())


def beat(owner: str, *, cluster: str = "") -> None:
    """Tell the others this engine is alive (an upsert of its heartbeat row)."""
    now = timezone.now()
    if not EngineBeat.objects.filter(owner=owner).update(beat_at=now):
        forget_dead()  # an engine starting clears the rows of engines long gone (killed, never retired)
        try:
            with transaction.atomic():
                EngineBeat.objects.create(owner=owner, cluster=cluster, beat_at=now, started_at=now)
        except IntegrityError:
            EngineBeat.objects.filter(owner=owner).update(beat_at=now)


def retire(owner: str) -> None:
    """Leave at once: shards go back to the pool and others rebalance without waiting for the lease."""
    release_all(owner)
    EngineBeat.objects.filter(owner=owner).delete()


def live_engines() -> int:
    return EngineBeat.objects.filter(beat_at__gte=_stale_before()).count()


def engine_alive() -> bool:
    return EngineBeat.objects.filter(beat_at__gte=_stale_before()).exists()


def request_dispatch() -> None:
    """Make sure accepted jobs are sent soon, with O(1) tasks per burst.

    A running engine picks up queued jobs within a tick, so nothing is enqueued
    while one is alive; otherwise one dispatch task per process per
    ``queue.WAKE_DEBOUNCE`` seconds, however many jobs arrive. When tasks run inline
    (tests, management commands) the dispatch runs at once.
    """
    if queue.runs_inline():
        queue.enqueue_dispatch()
        return
    if not queue.first_in_window("dispatch"):
        return
    try:
        if engine_alive():
            return
    except Exception:  # an unmigrated table must not fail a submission; the task copes either way
        logger.exception("could not tell whether an engine runs")
    queue.enqueue_dispatch()


def cluster_has_engine(cluster: str, *, other_than: str = "", older_than_me: str = "") -> bool:
    """Whether a live engine runs in ``cluster`` (with ``older_than_me``: one that wins the tie-break over it)."""
    qs = EngineBeat.objects.filter(cluster=cluster, beat_at__gte=_stale_before()).exclude(owner=other_than)
    if older_than_me:
        qs = qs.filter(owner__lt=older_than_me)
    return qs.exists()


def forget_dead(*, older_than: float = 600.0) -> None:
    EngineBeat.objects.filter(beat_at__lt=timezone.now() - timedelta(seconds=older_than)).delete()


def _ensure_rows() -> None:
    if EngineShard.objects.filter(shard__lt=SHARDS).count() == SHARDS:
        return
    EngineShard.objects.bulk_create([EngineShard(shard=s) for s in range(SHARDS)], ignore_conflicts=True)


def rebalance(owner: str, *, releasable: set[int] | None = None) -> tuple[set[int], float]:
    """Renew this engine's leases, take or hand back shards toward a fair share.

    Returns the shards held and the monotonic time until which they may be used.
    ``releasable`` are the held shards with nothing in flight (only those are handed
    back, so a shard is never polled by two engines at once).
    """
    _ensure_rows()
    started = time.monotonic()
    now = timezone.now()
    EngineShard.objects.filter(owner=owner).update(beat_at=now)
    held = set(EngineShard.objects.filter(owner=owner).values_list("shard", flat=True))
    share = math.ceil(SHARDS / max(1, live_engines()))
    if len(held) > share:
        extra = sorted(held & (releasable if releasable is not None else held))[: len(held) - share]
        if extra:
            EngineShard.objects.filter(owner=owner, shard__in=extra).update(owner="", beat_at=None)
            held -= set(extra)
    elif len(held) < share:
        free = Q(owner="") | Q(beat_at__isnull=True) | Q(beat_at__lt=now - timedelta(seconds=lease_seconds()))
        candidates = list(EngineShard.objects.filter(free, shard__lt=SHARDS).values_list("shard", flat=True))
        random.shuffle(candidates)  # engines starting together do not fight over the same rows
        wanted = candidates[: share - len(held)]
        if wanted:
            # The condition is checked again on every row as it is written, so of two
            # engines taking one shard exactly one gets it.
            EngineShard.objects.filter(free, shard__in=wanted).update(owner=owner, beat_at=now)
            held = set(EngineShard.objects.filter(owner=owner).values_list("shard", flat=True))
    # Usable until a margin before the lease others see runs out.
    return held, started + lease_seconds() * 0.6


def release_all(owner: str) -> None:
    EngineShard.objects.filter(owner=owner).update(owner="", beat_at=None)
