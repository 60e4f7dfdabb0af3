"""Sending webhook deliveries: claimed in fair turns per owner, posted signed from a pool of their own,
retried with backoff until the retry window closes; an endpoint gone (410) or failing for days is disabled."""
from __future__ import annotations

import json
import logging
import math
import os
import random
import threading
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Case, F, IntegerField, Q, QuerySet, Value, When, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from ... import queue
from ...conf import app_settings
from ...models import Generation, WebhookDelivery, WebhookEndpoint
from ...net import policy
from ...net.errors import DownloadError, DownloadRefused
from ...net.send import send
from ...selectors.generations import team_visible_q
from ...selectors.webhooks import still_managed
from ..notifications import recording as notification_recording
from ..pools import ThreadPool, named_pool
from . import TARGET_REFUSED, WAITING
from .signing import sign, signing_secrets, submission_signing_secrets

logger = logging.getLogger("generations.webhooks")

#: Seconds after attempt n (1-based) before attempt n+1; then RETRY_EVERY until the retry window closes.
BACKOFF: tuple[int, ...] = (5, 30, 120, 600, 3600)
RETRY_EVERY = 4 * 3600
#: Added to a batch's longest possible send time when claiming it, so no claim runs out while its send waits.
CLAIM_MARGIN_SECONDS = 30
#: One task keeps sending full batches for at most this long, then asks for another (django-q's timeout is 900 s).
RUN_BUDGET_SECONDS = 300
#: With a thread free, a runner looks for newly due messages this often (seconds).
TICK = 0.2
ANSWER_KEPT = 1024
USER_AGENT = "gmi-video-portal-webhooks/1"
D = WebhookDelivery.Status


def withheld(deliveries: list[WebhookDelivery]) -> dict[Any, str]:
    """Deliveries to team endpoints that may no longer go, with why (two queries at most).

    What allowed a message when it was recorded is asked again before each attempt: a
    creator who has left the team or lost the role, or a job the team may no longer see
    (made private, rejected), ends its pending retries.
    """
    team_ones = [d for d in deliveries if d.endpoint is not None and d.endpoint.team_id is not None]
    if not team_ones:
        return {}
    managers = still_managed([d.endpoint for d in team_ones if d.endpoint is not None])
    job_ids = {d.generation_id for d in team_ones if d.generation_id is not None}
    visible = set(Generation.objects.filter(pk__in=job_ids).filter(team_visible_q())
                  .values_list("pk", flat=True)) if job_ids else set()
    why = {}
    for d in team_ones:
        endpoint = d.endpoint
        if endpoint is None:
            continue
        if (endpoint.team_id, endpoint.owner_id) not in managers:
            why[d.pk] = "paused: its creator no longer manages the team"
        elif d.generation_id is not None and d.generation_id not in visible:
            why[d.pk] = "withheld: the team may no longer see this video"
    return why


@dataclass(frozen=True)
class _Outcome:
    status_code: int | None
    answer: str
    latency_ms: int
    error: str = ""


def _get_pool() -> ThreadPool:
    """This process's webhook pool: separate from GMI's, so slow receivers never hold up polls."""
    return named_pool("webhooks", int(app_settings.WEBHOOK_CONCURRENCY))


def owner_share(pool_size: int) -> int:
    """How many of one owner's deliveries may be in flight at once in a pool of ``pool_size`` (at least one)."""
    return max(1, math.floor(pool_size * float(app_settings.WEBHOOK_OWNER_SHARE)))


class _Slots:
    """This process's sending slots: deliveries in flight, in all and per owner.

    Every runner in the process asks here before claiming, so what it claims starts at
    once: nothing claimed waits in the pool's queue, where a paused or deleted endpoint
    could no longer stop it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self.total = 0
        self.by_owner: Counter[Any] = Counter()

    def reset_after_fork(self) -> None:
        with self._lock:
            if self._pid != os.getpid():
                self._pid, self.total, self.by_owner = os.getpid(), 0, Counter()

    def room(self, size: int, share: int) -> tuple[int, dict[Any, int]]:
        """Free slots, and the owners with some in flight with how many more each may start."""
        with self._lock:
            return max(0, size - self.total), {o: max(0, share - n) for o, n in self.by_owner.items() if n}

    def take(self, owner_id: Any, *, size: int, share: int) -> bool:
        """Hold a slot for one of ``owner_id``'s deliveries, if the pool and the owner's share have room."""
        with self._lock:
            if self.total >= size or self.by_owner[owner_id] >= share:
                return False
            self.total += 1
            self.by_owner[owner_id] += 1
            return True

    def give_back(self, owner_id: Any) -> None:
        with self._lock:
            self.total -= 1
            self.by_owner[owner_id] -= 1
            if self.by_owner[owner_id] <= 0:
                del self.by_owner[owner_id]


_slots = _Slots()


def _post(url: str, body: bytes, message_id: str, keys: list[str], allowed: list[str]) -> _Outcome:
    """One attempt, in a pool thread (no database here). The target is checked again: DNS may have changed.

    Signed here, as it leaves: a delivery that waited for a pool thread still carries a
    fresh ``webhook-timestamp`` (receivers refuse old ones). The name is resolved once, for
    the check and the connection alike, and a refusal says nothing of what it resolved to.
    """
    resolve = _resolve_once()
    try:
        policy.check_url(url, allowed_hosts=allowed, public_hosts=True, resolve=resolve)
    except DownloadError:
        return _Outcome(None, "", 0, f"refused: the target is {TARGET_REFUSED}")
    timestamp = int(time.time())
    signature = " ".join(sign(secret=k, message_id=message_id, timestamp=timestamp, body=body) for k in keys)
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, "webhook-id": message_id,
               "webhook-timestamp": str(timestamp), "webhook-signature": signature}
    started = time.monotonic()
    try:
        status_code, answer = send(
            "POST", url, allowed_hosts=allowed, public_hosts=True, body=body, headers=headers, resolve=resolve,
            connect_timeout=float(app_settings.WEBHOOK_CONNECT_TIMEOUT),
            read_timeout=float(app_settings.WEBHOOK_TIMEOUT), deadline=float(app_settings.WEBHOOK_TIMEOUT),
        )
    except DownloadRefused:
        return _Outcome(None, "", 0, f"refused: the target is {TARGET_REFUSED}")
    except DownloadError as exc:
        return _Outcome(None, "", int((time.monotonic() - started) * 1000), exc.message)
    text = answer[:ANSWER_KEPT].decode("utf-8", "replace")
    return _Outcome(status_code, text, int((time.monotonic() - started) * 1000))


def _resolve_once() -> policy.Resolver:
    """A resolver that asks DNS once per name: the check and the connection then agree on the addresses."""
    answers: dict[tuple[str, int], list[str]] = {}

    def resolve(host: str, port: int) -> list[str]:
        if (host, port) not in answers:
            answers[(host, port)] = list(policy.resolve_host(host, port))
        return answers[(host, port)]

    return resolve


def _request(delivery: WebhookDelivery, now: datetime) -> tuple[str, bytes, str, list[str]]:
    """What a pool thread needs to send ``delivery``: URL, body, message id and signing secrets (read here)."""
    body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()
    if delivery.endpoint is not None:
        return delivery.endpoint.url, body, delivery.message_id, signing_secrets(delivery.endpoint, now=now)
    owner = delivery.owner if delivery.owner_id is not None else getattr(delivery.generation, "owner", None)
    keys = submission_signing_secrets(owner, now=now) if owner is not None else []
    return delivery.url, body, delivery.message_id, keys


def unclaimed_q(now: datetime) -> Q:
    """A delivery no runner holds now: never claimed, or its claim ran out."""
    return Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)


def _sendable() -> Q:
    """A delivery whose target still takes messages: a submission's own URL, or an enabled endpoint.

    Asked in the claim's own UPDATE, so an endpoint paused, disabled or deleted a moment
    before is never sent to, whatever a runner read earlier.
    """
    return Q(endpoint__isnull=True) | Q(endpoint__enabled=True)


def _due(now: datetime) -> QuerySet[WebhookDelivery]:
    return (WebhookDelivery.objects.filter(status__in=WAITING, next_attempt_at__lte=now)
            .filter(unclaimed_q(now)).filter(_sendable()))


def _candidates(now: datetime, *, share: int, busy: dict[Any, int], limit: int) -> list[WebhookDelivery]:
    """Due deliveries turn by turn per owner: every owner's first, then every owner's second ...

    Within an owner, first attempts before retries, then the longest waiting. Owners
    with no room left in this process are skipped, and no owner brings more than
    ``share``, so one member's backlog (or a receiver's outage) is never ahead of
    another member's first message.
    """
    first_attempts_first = Case(When(attempts=0, then=Value(0)), default=Value(1), output_field=IntegerField())
    turn = Window(RowNumber(), partition_by=[F("owner_id")],
                  order_by=[first_attempts_first.asc(), F("next_attempt_at").asc(), F("id").asc()])
    full = [owner for owner, left in busy.items() if left <= 0]
    return list(
        _due(now).exclude(owner_id__in=full).annotate(turn=turn, retry=first_attempts_first)
        .filter(turn__lte=share)
        .select_related("endpoint", "owner", "generation__owner")
        .order_by("turn", "retry", "next_attempt_at", "id")[:limit]
    )


def _claim(now: datetime, *, free: int, size: int, share: int, busy: dict[Any, int], limit: int,
           counts: dict[str, int]) -> list[WebhookDelivery]:
    """Claim at most ``free`` due deliveries, fairly (``_candidates``), each with a conditional update."""
    candidates = _candidates(now, share=share, busy=busy, limit=min(limit, max(free * share, free + 50)))
    withheld_now = withheld(candidates)
    for delivery in [d for d in candidates if d.pk in withheld_now]:
        if WebhookDelivery.objects.filter(pk=delivery.pk, status=delivery.status).filter(unclaimed_q(now)).update(
                status=D.GAVE_UP, next_attempt_at=None, last_error=withheld_now[delivery.pk]):
            counts["gave_up"] += 1
            counts["due"] += 1
    # The claim lasts as long as one send may: what is claimed starts at once (``_Slots``).
    claim_until = now + timedelta(seconds=float(app_settings.WEBHOOK_CONNECT_TIMEOUT)
                                  + float(app_settings.WEBHOOK_TIMEOUT) + CLAIM_MARGIN_SECONDS)
    # A claim mark of its own (the microseconds), to read back which rows this one update took.
    claim_until += timedelta(microseconds=random.randrange(1, 999_999))
    picked: list[WebhookDelivery] = []
    for delivery in candidates:
        if len(picked) >= free:
            break
        # The slot first (another runner of this process may take the last one meanwhile), then the row.
        if delivery.pk not in withheld_now and _slots.take(delivery.owner_id, size=size, share=share):
            picked.append(delivery)
    if not picked:
        return []
    # One conditional update for all: still due, unclaimed, and its endpoint still taking messages.
    WebhookDelivery.objects.filter(pk__in=[d.pk for d in picked], status__in=WAITING, next_attempt_at__lte=now).filter(
        unclaimed_q(now)).filter(_sendable()).update(next_attempt_at=claim_until, claimed_until=claim_until)
    taken = set(WebhookDelivery.objects.filter(pk__in=[d.pk for d in picked], claimed_until=claim_until)
                .values_list("pk", flat=True))
    claimed = []
    for delivery in picked:
        if delivery.pk in taken:
            claimed.append(delivery)
        else:
            _slots.give_back(delivery.owner_id)
    counts["due"] += len(claimed)
    return claimed


def deliver_due(*, now: datetime | None = None, limit: int = 200) -> dict[str, int]:
    """Send every delivery that is due (at ``now``, fixed, when given) and wait for the results.

    See ``_send`` for how; this is the whole of one run without a time budget.
    """
    return _send(now=now, limit=limit, budget_seconds=None)


def deliver_all_due(*, limit: int = 200, budget_seconds: float = RUN_BUDGET_SECONDS) -> dict[str, int]:
    """What the ``deliver_webhooks`` task runs: send until nothing is due, for at most ``budget_seconds``;
    past the budget it stops claiming, waits for what is in flight and asks for another task."""
    return _send(now=None, limit=limit, budget_seconds=budget_seconds)


def _send(*, now: datetime | None, limit: int, budget_seconds: float | None) -> dict[str, int]:
    """Keep the pool busy with due deliveries, fairly, until none is left; results are written here.

    Whenever a thread is free, due deliveries are claimed turn by turn per owner
    (``_candidates``), each with a conditional update that also asks that its endpoint
    still takes messages, so two runners never send the same attempt and a paused or
    deleted endpoint stops at once. One owner holds at most ``owner_share`` threads of
    the process's pool, so a slow receiver delays only its own owner's messages; a free
    thread takes the next due message within ``TICK`` seconds, whoever it belongs to.
    2xx ends a delivery; 410 disables its endpoint; anything else is retried with
    backoff and jitter until ``WEBHOOK_RETRY_HOURS`` after it was recorded; an endpoint
    failing for ``WEBHOOK_DISABLE_AFTER_DAYS`` is disabled.
    """
    pool = _get_pool()
    share = owner_share(pool.size)
    _slots.reset_after_fork()
    allowed = list(app_settings.WEBHOOK_ALLOWED_HOSTS)
    counts = {"sent": 0, "succeeded": 0, "failed": 0, "gave_up": 0, "due": 0}
    in_flight: dict[Future, WebhookDelivery] = {}
    started = looked_at = time.monotonic()
    try:
        while True:
            over_budget = budget_seconds is not None and time.monotonic() - started > budget_seconds
            claimed: list[WebhookDelivery] = []
            if not over_budget:
                free, busy = _slots.room(pool.size, share)
                # In a large pool, a few threads freed are worth one look, not each one as it frees:
                # a look costs a query, and a tick later anyone's new message still goes.
                if free and (free >= max(1, pool.size // 8) or not in_flight or looked_at + TICK <= time.monotonic()):
                    looked_at = time.monotonic()
                    at = now or timezone.now()
                    claimed = _claim(at, free=free, size=pool.size, share=share, busy=busy, limit=limit,
                                     counts=counts)
                    for delivery in claimed:
                        in_flight[pool.submit(_post, *_request(delivery, at), allowed)] = delivery
            if not in_flight:
                if over_budget and _due(timezone.now()).exists():
                    queue.request_webhook_delivery()
                return counts
            # With a thread still free, look again soon: a message recorded meanwhile goes out then.
            all_busy = over_budget or _slots.room(pool.size, share)[0] == 0
            done, _ = wait(list(in_flight), timeout=None if all_busy else TICK, return_when=FIRST_COMPLETED)
            for future in done:
                delivery = in_flight.pop(future)
                _slots.give_back(delivery.owner_id)
                counts["sent"] += 1
                counts[_apply(delivery, future.result(), now=now or timezone.now())] += 1
    finally:
        for future, delivery in in_flight.items():  # only on an error: their slots must not stay taken
            future.cancel()
            _slots.give_back(delivery.owner_id)


def _apply(delivery: WebhookDelivery, outcome: _Outcome, *, now: datetime) -> str:
    """Write one attempt's result on the delivery and its endpoint; return the delivery's new status."""
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.last_status_code = outcome.status_code
    delivery.last_latency_ms = outcome.latency_ms
    delivery.last_response = outcome.answer
    delivery.last_error = outcome.error[:500]
    endpoint = delivery.endpoint
    code = outcome.status_code
    if code is not None and 200 <= code < 300:
        delivery.status, delivery.next_attempt_at = D.SUCCEEDED, None
        if endpoint is not None and endpoint.failing_since is not None:
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)
    elif code == 410:
        # The receiver says it is gone for good: stop everything for this endpoint.
        delivery.status, delivery.next_attempt_at = D.GAVE_UP, None
        if endpoint is not None:
            _disable(endpoint, reason="The receiver answered 410 Gone.")
    else:
        delivery.status, delivery.next_attempt_at = _retry(delivery, now=now)
        if endpoint is not None:
            since = endpoint.failing_since or now
            if endpoint.failing_since is None:
                WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(failing_since=now)
            if now - since >= timedelta(days=float(app_settings.WEBHOOK_DISABLE_AFTER_DAYS)):
                _disable(endpoint, reason=f"Failing since {since.isoformat()} without a success.")
                delivery.status, delivery.next_attempt_at = D.GAVE_UP, None
    delivery.claimed_until = None
    # An update, not a save: the endpoint (and with it this row) may have been deleted during the send.
    fields = ("attempts", "last_attempt_at", "last_status_code", "last_latency_ms", "last_response", "last_error",
              "status", "next_attempt_at", "claimed_until")
    WebhookDelivery.objects.filter(pk=delivery.pk).update(**{f: getattr(delivery, f) for f in fields})
    outcomes: dict[str, str] = {D.SUCCEEDED: "succeeded", D.GAVE_UP: "gave_up"}
    return outcomes.get(delivery.status, "failed")


def _retry(delivery: WebhookDelivery, *, now: datetime) -> tuple[str, datetime | None]:
    base = BACKOFF[delivery.attempts - 1] if delivery.attempts <= len(BACKOFF) else RETRY_EVERY
    # Jitter spreads the retries of many deliveries that failed together (a receiver's outage).
    at = now + timedelta(seconds=base * random.uniform(0.9, 1.1))
    if at > delivery.created_at + timedelta(hours=float(app_settings.WEBHOOK_RETRY_HOURS)):
        return D.GAVE_UP, None
    return D.FAILED, at


def _disable(endpoint: WebhookEndpoint, *, reason: str) -> None:
    # Conditional, so that several failing deliveries of one batch disable (and tell) once.
    changed = WebhookEndpoint.objects.filter(pk=endpoint.pk, enabled=True).update(
        enabled=False, disabled_reason=reason[:300])
    endpoint.enabled, endpoint.disabled_reason = False, reason[:300]
    if not changed:
        return
    logger.warning("webhook endpoint %s disabled: %s", endpoint.pk, reason)
    try:
        notification_recording.announce_webhook_disabled(endpoint=endpoint)
    except Exception:  # telling the owner must not stop the deliveries of other endpoints
        logger.exception("could not tell the owner of webhook endpoint %s", endpoint.pk)
