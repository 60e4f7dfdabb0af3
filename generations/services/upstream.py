"""What every worker must know about GMI right now: whether it asked us to wait, and whether it is configured."""
from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.utils import timezone

from ..client import get_client
from ..gmi.base import GMIBackend
from ..gmi.errors import GMIConfigurationError
from ..models import DispatchLock
from ..telemetry import UPSTREAM_PAUSES

logger = logging.getLogger("generations.upstream")

GATE = "dispatch"
_last_config_warning = 0.0


def pause(seconds: float) -> None:
    """GMI said 429: nobody sends or polls before ``seconds`` have passed (never shortens a pause)."""
    until = timezone.now() + timedelta(seconds=max(0.0, float(seconds)))
    DispatchLock.objects.get_or_create(name=GATE)
    DispatchLock.objects.filter(name=GATE).exclude(paused_until__gte=until).update(paused_until=until)
    UPSTREAM_PAUSES.inc()
    logger.warning("GMI asked to slow down: pausing sends and polls for %.0fs", seconds)


def paused() -> bool:
    return DispatchLock.objects.filter(name=GATE, paused_until__gt=timezone.now()).exists()


def client_or_none() -> GMIBackend | None:
    """The configured client, or None (logged at most once a minute) when GMI is not configured.

    A site without a key keeps accepting jobs; they wait in the queue, holding no slot,
    until the key is set.
    """
    global _last_config_warning
    try:
        return get_client()
    except GMIConfigurationError as exc:
        if time.monotonic() - _last_config_warning > 60:
            _last_config_warning = time.monotonic()
            logger.error("GMI is not configured, nothing is sent or polled: %s", exc)
        return None


def ready() -> bool:
    """True when workers may talk to GMI now."""
    return client_or_none() is not None and not paused()
