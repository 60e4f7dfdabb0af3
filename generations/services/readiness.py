"""What /readyz asks of the portal's own parts: a live engine, a fresh catalogue, GMI reachable (or pausing us).

Each probe returns a short, public sentence when the part is fine and raises
``NotReady`` with another when it is not. Neither ever carries an address, a key or
vendor text: the answers are served to anyone who can reach the probe.
"""
from __future__ import annotations

import threading
import time
from datetime import timedelta

from django.db.models import Max
from django.utils import timezone

from ..conf import app_settings
from ..exceptions import GenerationError
from ..gmi.errors import GMIError, RateLimited
from ..models import DispatchLock, EngineBeat, VideoModel
from . import upstream


class NotReady(GenerationError):
    """A part of the portal cannot do its work now; the message says which, in public words."""


def engine_heartbeat() -> str:
    """At least one engine beat within ``ENGINE_STALE`` seconds (else nothing sends or polls jobs)."""
    stale = float(app_settings.ENGINE_STALE)
    newest = EngineBeat.objects.aggregate(newest=Max("beat_at"))["newest"]
    if newest is None:
        raise NotReady("no engine has ever beaten: is a qcluster running?")
    age = (timezone.now() - newest).total_seconds()
    if age > stale:
        raise NotReady(f"engine heartbeat stale: last beat {age:.0f}s ago (limit {stale:g}s)")
    live = EngineBeat.objects.filter(beat_at__gte=timezone.now() - timedelta(seconds=stale)).count()
    return f"{live} live engine(s)"


def catalogue_fresh() -> str:
    """The model catalogue was synced within ``CATALOGUE_STALE_HOURS`` (it is synced daily)."""
    newest = VideoModel.objects.filter(available=True).aggregate(newest=Max("synced_at"))["newest"]
    if newest is None:
        raise NotReady("the model catalogue has never been synced (gmi_sync_models)")
    limit = float(app_settings.CATALOGUE_STALE_HOURS)
    hours = (timezone.now() - newest).total_seconds() / 3600
    if hours > limit:
        raise NotReady(f"the model catalogue is stale: last synced {hours:.0f} h ago (limit {limit:g} h)")
    return f"synced {hours:.1f} h ago"


_gmi_lock = threading.Lock()
_gmi_seen: tuple[float, str | None] | None = None  # (monotonic time, problem or None)


def gmi_reachable() -> str:
    """GMI answers its model list, or told us to wait (a 429 pause is not a fault of ours).

    The answer is remembered for ``HEALTH_GMI_CACHE_SECONDS`` per process, so probes every
    few seconds from several balancers cost GMI one call per process and period.
    """
    global _gmi_seen
    paused_until = DispatchLock.objects.filter(name=upstream.GATE, paused_until__gt=timezone.now()).values_list(
        "paused_until", flat=True
    ).first()
    if paused_until is not None:
        return f"paused by GMI (429) for {(paused_until - timezone.now()).total_seconds():.0f}s more"
    client = upstream.client_or_none()
    if client is None:
        raise NotReady("GMI is not configured (GMI_API_KEY)")
    ttl = float(app_settings.HEALTH_GMI_CACHE_SECONDS)
    with _gmi_lock:
        seen = _gmi_seen
    if seen is None or time.monotonic() - seen[0] > ttl:
        problem: str | None = None
        try:
            client.list_models()
        except RateLimited:
            problem = None  # GMI answered; it only asks us to slow down
        except GMIError as exc:
            problem = f"GMI unreachable ({exc.code.value})"
        seen = (time.monotonic(), problem)
        with _gmi_lock:
            _gmi_seen = seen
    if seen[1]:
        raise NotReady(seen[1])
    return "reachable"


def forget_gmi_answer() -> None:
    """Drop the remembered GMI answer (tests; a changed key)."""
    global _gmi_seen
    with _gmi_lock:
        _gmi_seen = None
