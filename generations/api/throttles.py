"""API throttling: per-user scopes (submit, quote, upload, list, detail, other calls), per-address anonymous use,
and per-address failed token attempts, counted in the shared cache.

Rates come from ``GENERATIONS["THROTTLE_RATES"]`` ("N/s", "N/min", "N/hour", "N/day", or "N/<k><unit>" such as
"20/10min"; None turns a scope off); ``GENERATIONS["THROTTLE"] = False`` turns all of it off. Counting uses fixed
windows with an atomic ``cache.incr`` (one round trip on Redis), so concurrent calls cannot slip through between
a read and a write as with a read-modify-write history, and ``Retry-After`` is exact: the window's end.
A member's sessions and tokens share one budget per scope, so more tokens do not buy more calls. A cache that
fails lets the call through (logged): an outage of the counter must not take the API down with it.
"""
from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import dataclass

from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from .. import request_context
from ..conf import app_settings

logger = logging.getLogger("generations.api")

KEY_PREFIX = "gmi:throttle"
_UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600,
          "d": 86400, "day": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([a-z]+)\s*$")

# Scopes a view may name (``ApiView.throttle_scopes``); "api" is every other authenticated call.
USER_SCOPES = ("submit", "quote", "upload", "list", "detail", "api")
ANON_SCOPE = "anon"
FAILED_TOKEN_SCOPE = "failed_token"


@dataclass(frozen=True)
class Rate:
    calls: int
    seconds: int


def parse_rate(text: str | None) -> Rate | None:
    """``"1200/min"`` -> Rate(1200, 60); None or "" -> None (no limit). Raises ValueError on nonsense."""
    if not text:
        return None
    match = _RATE.match(str(text).lower())
    if match is None or match.group(3) not in _UNITS:
        raise ValueError(f"Not a rate: {text!r} (write e.g. '60/min', '1000/hour', '20/10min').")
    multiple = int(match.group(2) or 1)
    return Rate(calls=int(match.group(1)), seconds=max(1, multiple) * _UNITS[match.group(3)])


def rate_for(scope: str) -> Rate | None:
    """The configured rate of ``scope``, or None when throttling (or this scope) is off."""
    if not app_settings.THROTTLE:
        return None
    return parse_rate(app_settings.THROTTLE_RATES.get(scope))


def _window(rate: Rate, now: float) -> tuple[int, float]:
    """The current window's number and the seconds until it ends (at least 1, for Retry-After)."""
    number = int(now // rate.seconds)
    return number, max(1.0, math.ceil((number + 1) * rate.seconds - now))


def _key(scope: str, ident: str, window: int) -> str:
    return f"{KEY_PREFIX}:{scope}:{ident}:{window}"


def count_call(scope: str, ident: str, rate: Rate) -> float | None:
    """Count one call; None if it is within ``rate``, else the seconds until the window ends."""
    window, remaining = _window(rate, time.time())
    key = _key(scope, ident, window)
    try:
        calls = _increment(key, timeout=rate.seconds + 1)
    except Exception:  # an unreachable cache: let the call through rather than fail every request
        logger.warning("Throttle cache unavailable; %s not counted", scope, exc_info=True)
        return None
    return remaining if calls > rate.calls else None


def _increment(key: str, *, timeout: int) -> int:
    """Add one to ``key``'s count and return it. The window's first call creates the key; the others find it,
    so the common case is one ``incr`` (which a database cache pays in queries: it has no atomic increment)."""
    for _ in range(3):
        try:
            return int(cache.incr(key))
        except ValueError:  # no count yet in this window
            if cache.add(key, 1, timeout=timeout):
                return 1
            # another call created it between the two: count on it
    return int(cache.incr(key))


def client_ident(request: Request) -> str:
    """The address calls are counted by: the request context's rule (TRUSTED_PROXY_COUNT)."""
    return "ip:" + (request_context.client_address(request) or "unknown")


def failed_token_wait(request) -> float | None:
    """Seconds the caller's address must wait because of earlier wrong tokens, or None.

    Asked before a token is looked up: an address past the limit is refused without a database query.
    """
    rate = rate_for(FAILED_TOKEN_SCOPE)
    if rate is None:
        return None
    window, remaining = _window(rate, time.time())
    try:
        failures = cache.get(_key(FAILED_TOKEN_SCOPE, client_ident(request), window), 0)
    except Exception:
        logger.warning("Throttle cache unavailable; failed tokens not checked", exc_info=True)
        return None
    return remaining if failures >= rate.calls else None


def record_failed_token(request) -> None:
    """Count one wrong, revoked or malformed token from the caller's address."""
    rate = rate_for(FAILED_TOKEN_SCOPE)
    if rate is not None:
        count_call(FAILED_TOKEN_SCOPE, client_ident(request), rate)


class _Throttle(BaseThrottle):
    wait_seconds: float | None = None

    def wait(self) -> float | None:
        return self.wait_seconds

    def _count(self, scope: str, ident: str) -> bool:
        rate = rate_for(scope)
        if rate is None:
            return True
        self.wait_seconds = count_call(scope, ident, rate)
        return self.wait_seconds is None


class UserScopeThrottle(_Throttle):
    """Signed-in callers: one budget per member and scope; the scope is the view's for the HTTP method."""

    def allow_request(self, request: Request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return True
        scopes = getattr(view, "throttle_scopes", {})
        scope = scopes.get(request.method, scopes.get("*", "api"))
        return self._count(scope, f"user:{user.pk}")


class AnonAddressThrottle(_Throttle):
    """Callers not signed in (who mostly get 401): one budget per client address."""

    def allow_request(self, request: Request, view) -> bool:
        user = request.user
        if user and user.is_authenticated:
            return True
        return self._count(ANON_SCOPE, client_ident(request))


THROTTLE_CLASSES = [AnonAddressThrottle, UserScopeThrottle]
