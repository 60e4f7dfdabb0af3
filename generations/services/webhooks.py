"""Webhooks: endpoints, recording deliveries after lifecycle events, and sending them signed (Standard Webhooks)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import math
import random
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from rest_framework.utils.encoders import JSONEncoder as APIJSONEncoder

from .. import downloads, queue, selectors
from ..api.serializers import GenerationSerializer
from ..conf import app_settings
from ..exceptions import (
    InvalidInput,
    InvalidTransition,
    NotAllowed,
    WebhookTargetForbidden,
)
from ..models import (
    Generation,
    Membership,
    Team,
    UserProfile,
    WebhookDelivery,
    WebhookEndpoint,
)
from ..policies import require_approved_account, require_below_limit
from . import audit, notifications
from .upstream_pool import UpstreamPool, named_pool

logger = logging.getLogger("generations.webhooks")

EVENTS: tuple[str, ...] = (
    "generation.dispatched",
    "generation.succeeded",
    "generation.failed",
    "generation.cancelled",
    "generation.moderated",
    "quota.threshold",  # a quota crossed 80 % / 100 % (services.quotas announces it)
)
#: The status a transition reaches → the event it announces.
STATUS_EVENTS: dict[str, str] = {
    Generation.Status.DISPATCHED: "generation.dispatched",
    Generation.Status.SUCCEEDED: "generation.succeeded",
    Generation.Status.FAILED: "generation.failed",
    Generation.Status.CANCELLED: "generation.cancelled",
}
#: Seconds after attempt n (1-based) before attempt n+1; then RETRY_EVERY until the retry window closes.
BACKOFF: tuple[int, ...] = (5, 30, 120, 600, 3600)
RETRY_EVERY = 4 * 3600
#: Added to a batch's longest possible send time when claiming it, so no claim runs out while its send waits.
CLAIM_MARGIN_SECONDS = 30
#: One task keeps sending full batches for at most this long, then asks for another (django-q's timeout is 900 s).
RUN_BUDGET_SECONDS = 300
ANSWER_KEPT = 1024
ROTATION_OVERLAP = timedelta(hours=24)
USER_AGENT = "gmi-video-portal-webhooks/1"
D = WebhookDelivery.Status


# --------------------------------------------------------------------------- secrets and signatures


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def sign(*, secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256>`` over ``{id}.{timestamp}.{body}`` keyed by the secret's decoded bytes."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


def signing_secrets(endpoint: WebhookEndpoint, *, now: datetime) -> list[str]:
    """The current secret, and during a rotation the previous one (receivers may still hold it)."""
    return _with_previous(endpoint.secret, endpoint.previous_secret, endpoint.previous_secret_expires_at, now=now)


def _with_previous(current: str, previous: str, expires_at: datetime | None, *, now: datetime) -> list[str]:
    """``current``, then ``previous`` while the rotation's overlap lasts: the one rule for both kinds of secret."""
    if previous and expires_at is not None and expires_at > now:
        return [current, previous]
    return [current]


def rotation_ends_at(endpoint: WebhookEndpoint, *, now: datetime | None = None) -> datetime | None:
    """Until when the previous secret still signs, while a rotation's overlap lasts; else None."""
    if len(signing_secrets(endpoint, now=now or timezone.now())) < 2:
        return None
    return endpoint.previous_secret_expires_at


def submission_secret(user: Any) -> str:
    """The secret that signs deliveries to a member's per-submission ``webhook`` URLs (made on first use)."""
    profile, _ = UserProfile.objects.get_or_create(user=user)
    if not profile.webhook_secret:
        # Conditional, so two first uses at once agree on one secret.
        UserProfile.objects.filter(pk=profile.pk, webhook_secret="").update(webhook_secret=new_secret())
        profile.refresh_from_db(fields=["webhook_secret"])
    return profile.webhook_secret


def has_submission_secret(user: Any) -> bool:
    """Whether the member's per-submission secret exists yet (it is made on first use or when asked for)."""
    return UserProfile.objects.filter(user=user).exclude(webhook_secret="").exists()


def rotate_submission_secret(*, user: Any, now: datetime | None = None) -> str:
    """A new per-submission secret, returned to be shown once; as with an endpoint's, the old one
    keeps signing beside it for 24 h, so receivers can switch without losing a message."""
    now = now or timezone.now()
    secret = new_secret()
    profile, _ = UserProfile.objects.get_or_create(user=user)
    UserProfile.objects.filter(pk=profile.pk).update(
        webhook_secret=secret, previous_webhook_secret=profile.webhook_secret,
        previous_webhook_secret_expires_at=now + ROTATION_OVERLAP if profile.webhook_secret else None,
    )
    audit.record_event(action=audit.Action.SUBMISSION_SECRET_ROTATED, actor=user, target=profile)
    return secret


def submission_signing_secrets(user: Any, *, now: datetime) -> list[str]:
    """The per-submission secret, and during a rotation the previous one."""
    profile = UserProfile.objects.filter(user=user).first()
    if profile is None or not profile.webhook_secret:
        return [submission_secret(user)]  # made on first use: nothing was rotated yet
    return _with_previous(profile.webhook_secret, profile.previous_webhook_secret,
                          profile.previous_webhook_secret_expires_at, now=now)


# --------------------------------------------------------------------------- targets


def check_target(url: str) -> None:
    """Refuse a URL the site must not call (``WebhookTargetForbidden``); staff allow internal hosts by setting."""
    if not isinstance(url, str) or not url or len(url) > 2000:
        raise WebhookTargetForbidden("Give an http(s) URL of at most 2000 characters.")
    try:
        downloads.check_url(url, allowed_hosts=app_settings.WEBHOOK_ALLOWED_HOSTS, public_hosts=True)
    except downloads.DownloadError as exc:
        raise WebhookTargetForbidden(f"This webhook URL is not allowed: {exc.message}") from None


def _check_events(events: Any, *, allow_empty: bool) -> list[str]:
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        raise InvalidInput({"events": ["Give a list of event types."]})
    unknown = sorted(set(events) - set(EVENTS))
    if unknown:
        raise InvalidInput({"events": [f"Unknown event types: {', '.join(unknown)}. Known: {', '.join(EVENTS)}."]})
    if not events and not allow_empty:
        raise InvalidInput({"events": ["Choose at least one event type."]})
    return list(dict.fromkeys(events))


def check_submission_webhook(*, url: str | None, events_filter: list[str] | None) -> tuple[str, list[str]]:
    """Validate a submission's ``webhook`` and ``webhook_events_filter`` (empty filter: every event)."""
    if not url:
        if events_filter:
            raise InvalidInput({"webhook_events_filter": ["Give a webhook URL for the filter to apply to."]})
        return "", []
    check_target(url)
    return url, _check_events(events_filter or [], allow_empty=True)


# --------------------------------------------------------------------------- endpoints


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


def create_endpoint(*, user: Any, url: str, events: list[str], team: str | None = None) -> WebhookEndpoint:
    """Register an endpoint; the returned object carries ``secret``, shown to the member this once.

    For a team (its slug), only the team's owners and admins may do this. A refused
    target raises ``WebhookTargetForbidden`` saying why; an account waiting for approval
    gets ``AccountPending`` and one at ``MAX_WEBHOOKS_PER_USER`` endpoints ``LimitReached``.
    """
    require_approved_account(user)
    require_below_limit(
        setting="MAX_WEBHOOKS_PER_USER", used=WebhookEndpoint.objects.filter(owner=user).count(),
        message="You already have {cap} webhook endpoints: delete one you no longer use first.",
    )
    events = _check_events(events, allow_empty=False)
    team_obj = None
    if team:
        team_obj = Team.objects.filter(slug=team).first()
        membership = Membership.objects.filter(team=team_obj, user=user).first() if team_obj else None
        if team_obj is None or membership is None:
            raise InvalidInput({"team": ["You are not a member of this team."]})
        if not membership.can_manage:
            raise NotAllowed("Only the team's owners and admins can add its webhooks.")
    check_target(url)
    endpoint = WebhookEndpoint.objects.create(owner=user, team=team_obj, url=url, events=events, secret=new_secret())
    audit.record_event(action=audit.Action.WEBHOOK_CREATED, actor=user, target=endpoint, data={"events": events})
    return endpoint


@dataclass(frozen=True)
class EndpointRow:
    endpoint: WebhookEndpoint
    #: A team endpoint whose creator no longer manages the team: it gets no events
    #: (that person may still hold its secret and run the receiver).
    paused: bool


def endpoint_rows(user: Any) -> list[EndpointRow]:
    """The endpoints ``user`` manages (``endpoints_of``), each with whether it is paused; two queries."""
    endpoints = list(endpoints_of(user))
    managers = _still_managed(endpoints)
    return [EndpointRow(e, e.team_id is not None and (e.team_id, e.owner_id) not in managers) for e in endpoints]


def _still_managed(endpoints: list[WebhookEndpoint]) -> set[tuple[Any, Any]]:
    """(team, creator) of the team endpoints whose creator still manages the team; one query."""
    team_ones = [e for e in endpoints if e.team_id is not None]
    if not team_ones:
        return set()
    memberships = Membership.objects.filter(team_id__in={e.team_id for e in team_ones},
                                            user_id__in={e.owner_id for e in team_ones})
    return {(m.team_id, m.user_id) for m in memberships if m.can_manage}


def _withheld(deliveries: list[WebhookDelivery]) -> dict[Any, str]:
    """Deliveries to team endpoints that may no longer go, with why (two queries at most).

    What allowed a message when it was recorded is asked again before each attempt: a
    creator who has left the team or lost the role, or a job the team may no longer see
    (made private, rejected), ends its pending retries.
    """
    team_ones = [d for d in deliveries if d.endpoint is not None and d.endpoint.team_id is not None]
    if not team_ones:
        return {}
    managers = _still_managed([d.endpoint for d in team_ones if d.endpoint is not None])
    job_ids = {d.generation_id for d in team_ones if d.generation_id is not None}
    visible = set(Generation.objects.filter(pk__in=job_ids).filter(selectors.team_visible_q())
                  .values_list("pk", flat=True)) if job_ids else set()
    withheld = {}
    for d in team_ones:
        endpoint = d.endpoint
        if endpoint is None:
            continue
        if (endpoint.team_id, endpoint.owner_id) not in managers:
            withheld[d.pk] = "paused: its creator no longer manages the team"
        elif d.generation_id is not None and d.generation_id not in visible:
            withheld[d.pk] = "withheld: the team may no longer see this video"
    return withheld


def set_endpoint_enabled(*, endpoint: WebhookEndpoint, enabled: bool) -> WebhookEndpoint:
    """Pause an endpoint or enable it again (after a 410, failures, or a pause).

    Enabling checks the target again (``WebhookTargetForbidden``) and starts the failure
    count afresh; deliveries that were waiting go out at their next attempt.
    """
    if enabled:
        check_target(endpoint.url)
        endpoint.enabled, endpoint.disabled_reason, endpoint.failing_since = True, "", None
    else:
        endpoint.enabled, endpoint.disabled_reason = False, "Paused by a member."
    endpoint.save(update_fields=["enabled", "disabled_reason", "failing_since"])
    if enabled:
        transaction.on_commit(queue.request_webhook_delivery)
    return endpoint


def rotate_secret(*, endpoint: WebhookEndpoint, now: datetime | None = None) -> WebhookEndpoint:
    """A new secret; the old one keeps signing for 24 h, so receivers can switch without losing messages."""
    now = now or timezone.now()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = now + ROTATION_OVERLAP
    endpoint.secret = new_secret()
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
    audit.record_event(action=audit.Action.WEBHOOK_ROTATED, target=endpoint)
    return endpoint


def delete_endpoint(*, endpoint: WebhookEndpoint) -> None:
    audit.record_event(action=audit.Action.WEBHOOK_DELETED, target=endpoint)
    endpoint.delete()


def deliveries_of(endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    return endpoint.deliveries.order_by("-created_at")


def resend_delivery(*, delivery: WebhookDelivery, now: datetime | None = None) -> WebhookDelivery:
    """Send the same message (same ``webhook-id``) again soon, whatever became of it."""
    if delivery.endpoint is not None and not delivery.endpoint.enabled:
        raise InvalidTransition("This endpoint is disabled: enable it again first.")
    withheld = _withheld([delivery]).get(delivery.pk)
    if withheld:
        raise InvalidTransition(f"This message cannot be sent again ({withheld}).")
    now = now or timezone.now()
    # Not while a runner is sending it: moving it then would let a second runner send it too.
    if not WebhookDelivery.objects.filter(pk=delivery.pk).filter(_unclaimed(now)).update(
            status=D.PENDING, next_attempt_at=now):
        raise InvalidTransition("This message is being sent right now: look again in a moment.")
    delivery.status, delivery.next_attempt_at = D.PENDING, now
    transaction.on_commit(queue.request_webhook_delivery)
    return delivery


# --------------------------------------------------------------------------- recording events


def payload_for(generation: Generation, *, event_type: str, now: datetime) -> dict[str, Any]:
    """The body: the generation as the REST API shows it to its owner, with absolute URLs."""
    data = GenerationSerializer(context={"viewer": generation.owner, "site_url": app_settings.SITE_URL})
    body = {"type": event_type, "timestamp": now.isoformat(), "data": data.to_representation(generation)}
    # Through the API's own encoder, so numbers and dates read exactly as the REST answer has them.
    return json.loads(json.dumps(body, cls=APIJSONEncoder))


def record_generation_event(*, generation: Generation, event_type: str) -> int:
    """Record one delivery per interested target; never sends (this runs in the engine's path).

    Called after the change committed. Returns how many deliveries were recorded.
    """
    owners = Q(owner_id=generation.owner_id, team__isnull=True)
    if generation.team_id:
        owners |= Q(team_id=generation.team_id)
    endpoints = [e for e in WebhookEndpoint.objects.filter(owners, enabled=True) if event_type in e.events]
    if any(e.team_id for e in endpoints):
        audience = _team_audience(generation)
        endpoints = [e for e in endpoints if not e.team_id or e.owner_id in audience]
    wants_own = bool(generation.webhook) and (
        not generation.webhook_events_filter or event_type in generation.webhook_events_filter
    )
    if not endpoints and not wants_own:
        return 0
    now = timezone.now()
    payload = payload_for(generation, event_type=event_type, now=now)
    rows = [
        WebhookDelivery(endpoint=e, generation=generation, event_type=event_type, message_id=_message_id(),
                        payload=payload, next_attempt_at=now, created_at=now)
        for e in endpoints
    ]
    if wants_own:
        rows.append(WebhookDelivery(url=generation.webhook, generation=generation, event_type=event_type,
                                    message_id=_message_id(), payload=payload, next_attempt_at=now, created_at=now))
    WebhookDelivery.objects.bulk_create(rows)
    queue.request_webhook_delivery()
    return len(rows)


def _team_audience(generation: Generation) -> set[Any]:
    """Who may receive a team's events about ``generation``: nobody unless the team may see the video
    (a private or rejected job stays its owner's), else the team's current managers, so an endpoint
    made by someone who has since left or lost the role gets nothing."""
    if generation.team_id is None or not _team_may_see(generation):
        return set()
    return _team_managers(generation.team_id)


def _team_may_see(generation: Generation) -> bool:
    return Generation.objects.filter(pk=generation.pk).filter(selectors.team_visible_q()).exists()


def _team_managers(team_id: Any) -> set[Any]:
    return {m.user_id for m in Membership.objects.filter(team_id=team_id) if m.can_manage}


def record_quota_event(*, generation: Generation, quota: dict[str, Any], team: Team | None = None) -> int:
    """A ``quota.threshold`` delivery to each enabled endpoint that wants it: the member's own endpoints
    for their quotas, the team's for its pools. ``data`` is the generation whose reservation crossed
    the threshold, as the API shows it, plus ``quota``. Never sends. Returns how many were recorded."""
    event_type = "quota.threshold"
    if team is not None:
        # As for generation events: only endpoints whose creator still manages the team.
        owners = WebhookEndpoint.objects.filter(team=team, owner_id__in=_team_managers(team.pk))
    else:
        owners = WebhookEndpoint.objects.filter(owner_id=generation.owner_id, team__isnull=True)
    endpoints = [e for e in owners.filter(enabled=True) if event_type in e.events]
    if not endpoints:
        return 0
    now = timezone.now()
    shown: Generation | None = generation
    if team is not None and not _team_may_see(generation):
        shown = None  # a member's private (or not yet approved) job is not the team's to read
    if shown is not None:
        payload = payload_for(shown, event_type=event_type, now=now)
    else:
        payload = {"type": event_type, "timestamp": now.isoformat(), "data": {"team": getattr(team, "slug", None)}}
    payload["data"]["quota"] = json.loads(json.dumps(quota, cls=APIJSONEncoder))
    WebhookDelivery.objects.bulk_create([
        WebhookDelivery(endpoint=e, generation=shown, event_type=event_type, message_id=_message_id(),
                        payload=payload, next_attempt_at=now, created_at=now)
        for e in endpoints
    ])
    queue.request_webhook_delivery()
    return len(endpoints)


def _message_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)


# --------------------------------------------------------------------------- sending


@dataclass(frozen=True)
class _Outcome:
    status_code: int | None
    answer: str
    latency_ms: int
    error: str = ""


def _get_pool() -> UpstreamPool:
    """This process's webhook pool: separate from GMI's, so slow receivers never hold up polls."""
    return named_pool("webhooks", int(app_settings.WEBHOOK_CONCURRENCY))


def _post(url: str, body: bytes, message_id: str, keys: list[str], allowed: list[str]) -> _Outcome:
    """One attempt, in a pool thread (no database here). The target is checked again: DNS may have changed.

    Signed here, as it leaves: a delivery that waited for a pool thread still carries a
    fresh ``webhook-timestamp`` (receivers refuse old ones).
    """
    timestamp = int(time.time())
    signature = " ".join(sign(secret=k, message_id=message_id, timestamp=timestamp, body=body) for k in keys)
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, "webhook-id": message_id,
               "webhook-timestamp": str(timestamp), "webhook-signature": signature}
    started = time.monotonic()
    try:
        status_code, answer = downloads.send(
            "POST", url, allowed_hosts=allowed, public_hosts=True, body=body, headers=headers,
            connect_timeout=float(app_settings.WEBHOOK_CONNECT_TIMEOUT),
            read_timeout=float(app_settings.WEBHOOK_TIMEOUT), deadline=float(app_settings.WEBHOOK_TIMEOUT),
        )
    except downloads.DownloadRefused as exc:
        return _Outcome(None, "", 0, f"refused: {exc.message}")
    except downloads.DownloadError as exc:
        return _Outcome(None, "", int((time.monotonic() - started) * 1000), exc.message)
    text = answer[:ANSWER_KEPT].decode("utf-8", "replace")
    return _Outcome(status_code, text, int((time.monotonic() - started) * 1000))


def _request(delivery: WebhookDelivery, now: datetime) -> tuple[str, bytes, str, list[str]]:
    """What a pool thread needs to send ``delivery``: URL, body, message id and signing secrets (read here)."""
    body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()
    if delivery.endpoint is not None:
        return delivery.endpoint.url, body, delivery.message_id, signing_secrets(delivery.endpoint, now=now)
    keys = submission_signing_secrets(delivery.generation.owner, now=now) if delivery.generation is not None else []
    return delivery.url, body, delivery.message_id, keys


def _unclaimed(now: datetime) -> Q:
    return Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)


def deliver_due(*, now: datetime | None = None, limit: int = 200) -> dict[str, int]:
    """Send the deliveries that are due, ``WEBHOOK_CONCURRENCY`` at a time; results are written here.

    Each is claimed with a conditional update first, so two runners never send the
    same attempt; the claim lasts until the whole batch can have been sent through the
    pool, so it never runs out while a delivery waits for a thread. 2xx ends a
    delivery; 410 disables its endpoint; anything else is retried with backoff and
    jitter until ``WEBHOOK_RETRY_HOURS`` after it was recorded; an endpoint failing for
    ``WEBHOOK_DISABLE_AFTER_DAYS`` is disabled.
    """
    now = now or timezone.now()
    due = list(
        WebhookDelivery.objects.filter(status__in=(D.PENDING, D.FAILED), next_attempt_at__lte=now)
        .filter(_unclaimed(now))
        .filter(Q(endpoint__isnull=True) | Q(endpoint__enabled=True))
        .select_related("endpoint", "generation__owner")
        .order_by("next_attempt_at")[:limit]
    )
    withheld = _withheld(due)
    for delivery in [d for d in due if d.pk in withheld]:
        WebhookDelivery.objects.filter(pk=delivery.pk, status=delivery.status).update(
            status=D.GAVE_UP, next_attempt_at=None, last_error=withheld[delivery.pk])
    due = [d for d in due if d.pk not in withheld]
    pool = _get_pool()
    rounds = math.ceil(len(due) / pool.size)
    claim_until = now + timedelta(seconds=rounds * float(app_settings.WEBHOOK_TIMEOUT) + CLAIM_MARGIN_SECONDS)
    claimed = [
        d for d in due
        if WebhookDelivery.objects.filter(pk=d.pk, next_attempt_at=d.next_attempt_at, status=d.status)
        .filter(_unclaimed(now)).update(next_attempt_at=claim_until, claimed_until=claim_until)
    ]
    allowed = list(app_settings.WEBHOOK_ALLOWED_HOSTS)
    futures = [(d, pool.submit(_post, *_request(d, now), allowed)) for d in claimed]
    counts = {"sent": 0, "succeeded": 0, "failed": 0, "gave_up": len(withheld), "due": len(due) + len(withheld)}
    for delivery, future in futures:
        outcome = future.result()
        counts["sent"] += 1
        counts[_apply(delivery, outcome, now=now)] += 1
    return counts


def deliver_all_due(*, limit: int = 200, budget_seconds: float = RUN_BUDGET_SECONDS) -> dict[str, int]:
    """What the ``deliver_webhooks`` task runs: full batches one after another, so a backlog drains
    at the pool's rate instead of one batch per schedule tick; past the budget, another task is asked for."""
    started = time.monotonic()
    totals = {"sent": 0, "succeeded": 0, "failed": 0, "gave_up": 0, "due": 0}
    while True:
        counts = deliver_due(limit=limit)
        for key, value in counts.items():
            totals[key] += value
        if counts["due"] < limit:
            return totals
        if time.monotonic() - started > budget_seconds:
            queue.request_webhook_delivery()
            return totals


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
    delivery.save(update_fields=["attempts", "last_attempt_at", "last_status_code", "last_latency_ms",
                                 "last_response", "last_error", "status", "next_attempt_at", "claimed_until"])
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
        notifications.announce_webhook_disabled(endpoint=endpoint)
    except Exception:  # telling the owner must not stop the deliveries of other endpoints
        logger.exception("could not tell the owner of webhook endpoint %s", endpoint.pk)
