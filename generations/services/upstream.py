"""What every worker must know about GMI right now: whether it asked us to wait, is down, or is configured."""
from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from typing import Any

from django.utils import timezone

from ..client import get_client
from ..gmi.base import GMIBackend
from ..gmi.errors import GMIConfigurationError, GMIError, RateLimited, UpstreamUnavailable
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


class OutageWatch:
    """Whether GMI is down as this process sees it: ``THRESHOLD`` calls in a row failed and none answered since.

    While GMI is down, polling every job on its own back-off would leave each one waiting
    up to ``MAX_POLL_INTERVAL`` after GMI returns; instead the engine stops sending and
    polling and asks GMI one cheap question every poll interval (``probe_due``), and the
    first answer (to the probe or to anything else) makes every job due at once.
    """

    THRESHOLD = 3

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.failures = 0
        self.down_since: float | None = None
        self.last_probe = 0.0

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def record(self, result: Any, *, started: float | None = None) -> bool:
        """Note one call's outcome (a value, or the exception it raised); True when it ends an outage.

        An answer to a call that ``started`` (``time.monotonic()``) before the outage began
        says nothing about GMI now, so it does not end one.
        """
        with self._lock:
            if isinstance(result, UpstreamUnavailable) and not isinstance(result, RateLimited):
                self.failures += 1
                if self.failures >= self.THRESHOLD and self.down_since is None:
                    self.down_since = time.monotonic()
                    logger.warning("GMI is down (%s calls in a row failed): pausing sends and polls, "
                                   "probing once per poll interval", self.failures)
                return False
            if isinstance(result, Exception) and not isinstance(result, GMIError):
                return False  # our own error, not an answer from GMI
            if self.down_since is not None and (started is None or started < self.down_since):
                return False
            was_down, self.failures = self.down_since, 0
            self.down_since = None
        if was_down is not None:
            logger.warning("GMI answers again after %.1fs: every job is due now", time.monotonic() - was_down)
            return True
        return False

    def probe_due(self, interval: float) -> bool:
        """While GMI is down: whether to ask it again now (at most once per ``interval``)."""
        with self._lock:
            now = time.monotonic()
            if self.down_since is None or now - self.last_probe < interval:
                return False
            self.last_probe = now
            return True

    def reset(self) -> None:
        with self._lock:
            self.failures, self.down_since, self.last_probe = 0, None, 0.0


def probe() -> Any:
    """The cheap question asked while GMI is down: its model list (no job is touched)."""
    client = client_or_none()
    return None if client is None else client.list_models()
