"""Fault injection for the simulator: which faults exist, their parameters, and when they fire.

A fault fires either for the next ``count`` matching calls or on each matching call with
a ``probability``. Call faults change one HTTP answer; job faults mark the jobs created
while they are active.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any

#: Endpoint names used in fault scopes and in the journal.
REQUEST_QUEUE_ENDPOINTS = frozenset({"models", "model", "create", "get", "list", "cancel", "upload_url"})
LEGACY_ENDPOINTS = frozenset({"legacy_models", "legacy_submit", "legacy_status", "legacy_result", "legacy_cancel"})
STORAGE_ENDPOINTS = frozenset({"media", "upload", "uploaded_file"})
API_ENDPOINTS = REQUEST_QUEUE_ENDPOINTS | LEGACY_ENDPOINTS
SUBMIT_ENDPOINTS = frozenset({"create", "legacy_submit"})
ALL_ENDPOINTS = API_ENDPOINTS | STORAGE_ENDPOINTS

#: Call faults, in the order they are tried: the first three answer instead of the
#: API (nothing is created); the last three let the call take effect, then spoil the answer.
CALL_FAULTS = ("rate_limit", "server_error", "content_policy", "timeout", "lost_response", "malformed_json")
#: Job faults, applied to each job created while they are active.
JOB_FAULTS = ("failed_job", "expired_urls", "envelope", "unknown_status", "echo")

FAULTS: dict[str, str] = {
    "rate_limit": "429 with Retry-After (retry_after seconds, http_date=true for the date form)",
    "server_error": "a 5xx answer (status, default 503; 502/504 answer an HTML gateway page)",
    "content_policy": "submissions refused with 400 'violates content policy' (message)",
    "timeout": "the call takes effect but the answer comes only after `seconds` (default 35)",
    "lost_response": "the call takes effect, then the connection is dropped without an answer",
    "malformed_json": "the call takes effect, the answer is cut-off JSON",
    "failed_job": "new jobs end 'failed' with a top-level error (error)",
    "expired_urls": "new jobs' outcome URLs are already expired (403); with endpoints=upload_url, upload URLs",
    "envelope": "new jobs answer the media_urls envelope outcome (strings=true: plain URL strings)",
    "unknown_status": "new jobs report a status word no client knows while processing (word)",
    "echo": "new jobs repeat `text` in their error (they fail unless fail=false) and in an extra nested field",
    "upload_target": "upload-url answers send the PUT to `url` instead of the simulator's storage",
}

DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    "rate_limit": {"retry_after": 2, "http_date": False},
    "server_error": {"status": 503},
    "content_policy": {"message": "The request violates content policy: the safety system flagged the prompt."},
    "timeout": {"seconds": 35.0},
    "lost_response": {},
    "malformed_json": {},
    "failed_job": {"error": "Video generation failed: the model could not render this request."},
    "expired_urls": {},
    "envelope": {"strings": False},
    "unknown_status": {"word": "preparing"},
    "echo": {"text": "", "fail": True},
    "upload_target": {"url": ""},
}

_DEFAULT_SCOPE: dict[str, frozenset[str]] = {
    name: (SUBMIT_ENDPOINTS if name == "content_policy" or name in JOB_FAULTS else API_ENDPOINTS) for name in FAULTS
} | {"upload_target": frozenset({"upload_url"})}


@dataclass
class FaultRule:
    """One active fault."""

    name: str
    count: int | None
    probability: float | None
    endpoints: frozenset[str]
    params: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "count": self.count,
            "probability": self.probability,
            "endpoints": sorted(self.endpoints),
            **self.params,
        }


def make_rule(
    name: str,
    *,
    count: int | None = None,
    probability: float | None = None,
    endpoints: list[str] | tuple[str, ...] | frozenset[str] | str | None = None,
    **params: Any,
) -> FaultRule:
    """Validate a fault request; with neither count nor probability it fires once."""
    if name not in FAULTS:
        raise ValueError(f"unknown fault {name!r}; known: {', '.join(FAULTS)}")
    unknown = set(params) - set(DEFAULT_PARAMS[name])
    if unknown:
        raise ValueError(f"fault {name!r} takes no parameter {', '.join(sorted(unknown))}")
    if count is not None and probability is not None:
        raise ValueError("give either count or probability, not both")
    if probability is not None and not 0 < float(probability) <= 1:
        raise ValueError("probability must be in (0, 1]")
    if count is not None and int(count) < 1:
        raise ValueError("count must be at least 1")
    if isinstance(endpoints, str):
        endpoints = endpoints.replace("+", ",").split(",")
    scope = frozenset(endpoints) if endpoints else _DEFAULT_SCOPE[name]
    if scope - ALL_ENDPOINTS:
        raise ValueError(f"unknown endpoints {', '.join(sorted(scope - ALL_ENDPOINTS))}")
    return FaultRule(
        name=name,
        count=None if probability is not None else int(count or 1),
        probability=float(probability) if probability is not None else None,
        endpoints=scope,
        params={**DEFAULT_PARAMS[name], **params},
    )


def parse_fault_spec(text: str) -> FaultRule:
    """Parse a command-line fault: ``NAME[:N|:P%|:always][,param=value...]``.

    ``rate_limit:3,retry_after=5`` fires on the next three calls; ``server_error:20%``
    on a fifth of the calls; ``timeout:always,seconds=10`` on every call.
    """
    head, *pairs = [part.strip() for part in text.split(",") if part.strip()]
    name, _, amount = head.partition(":")
    count: int | None = None
    probability: float | None = None
    if amount == "always":
        probability = 1.0
    elif amount.endswith("%"):
        probability = float(amount[:-1]) / 100
    elif "." in amount:
        probability = float(amount)
    elif amount:
        count = int(amount)
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"expected param=value, got {pair!r}")
        params[key.strip()] = _scalar(value.strip())
    return make_rule(name.strip(), count=count, probability=probability, **params)


def _scalar(value: str) -> Any:
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


class FaultBoard:
    """The active faults, shared by all request threads."""

    def __init__(self, seed: int | None = None) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()
        self._random = random.Random(seed)

    def add(self, rule: FaultRule) -> None:
        with self._lock:
            self._rules.append(rule)

    def clear(self, name: str | None = None) -> None:
        with self._lock:
            self._rules = [rule for rule in self._rules if name is not None and rule.name != name]

    def active(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.describe() for rule in self._rules]

    def draw(self, name: str, endpoint: str) -> dict[str, Any] | None:
        """The parameters of fault ``name`` if it fires on this call, consuming one use."""
        if not self._rules:
            return None  # the common case, checked without the lock every call would take
        with self._lock:
            for rule in self._rules:
                if rule.name != name or endpoint not in rule.endpoints:
                    continue
                if rule.count is not None:
                    rule.count -= 1
                    if rule.count <= 0:
                        self._rules.remove(rule)
                    return dict(rule.params)
                if self._random.random() < (rule.probability or 0):
                    return dict(rule.params)
            return None
