"""Webhooks: endpoints, recording deliveries after lifecycle events, and sending them signed (Standard Webhooks)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import math
import os
import random
import secrets
import threading
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
    Window,
)
from django.db.models.functions import RowNumber
from django.utils import timezone
from rest_framework.utils.encoders import JSONEncoder as APIJSONEncoder

from .. import downloads, queue, representation, selectors
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
from .pools import ThreadPool, named_pool
from .waiting_line import queue_positions

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
#: With a thread free, a runner looks for newly due messages this often (seconds).
TICK = 0.2
#: What a refused target is told, whatever the reason: it never says what a name resolves to.
TARGET_REFUSED = ("not a public http(s) address that can be reached "
                  "(private networks and names that do not resolve are refused alike)")
ANSWER_KEPT = 1024
ROTATION_OVERLAP = timedelta(hours=24)
USER_AGENT = "gmi-video-portal-webhooks/1"
D = WebhookDelivery.Status
#: A delivery still to send: the caps count these.
WAITING = (D.PENDING, D.FAILED)


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
    keeps signing beside it for 24 h, so receivers can switch without losing a message.

    An account waiting for approval gets ``AccountPending``: it may not submit, so it has
    nothing for the secret to sign.
    """
    require_approved_account(user)
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
    except downloads.DownloadError:
        # One text for every reason: saying which (a private address, no such name) would let
        # anyone map the internal network's names through this form.
        raise WebhookTargetForbidden(f"This webhook URL is not allowed: it is {TARGET_REFUSED}.") from None


def _check_events(events: Any, *, allow_empty: bool) -> list[str]:
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        raise InvalidInput({"events": ["Give a list of event types."]})
    unknown = sorted(set(events) - set(EVENTS))
    if unknown:
        raise InvalidInput({"events": [f"Unknown event types: {', '.join(unknown)}. Known: {', '.join(EVENTS)}."]})
    if not events and not allow_empty:
        raise InvalidInput({"events": ["Choose at least one event type."]})
    return list(dict.fromkeys(events))


def check_submission_webhook(*, url: str | None, events_filter: list[str] | None,
                             user: Any = None) -> tuple[str, list[str]]:
    """Validate a submission's ``webhook`` and ``webhook_events_filter`` (empty filter: every event).

    With ``user``, the URL also counts against the member's caps (``LimitReached``): no
    new webhook while ``WEBHOOK_MAX_PENDING_PER_OWNER`` messages wait for their targets,
    and a submission's own URL is one of their ``MAX_WEBHOOKS_PER_USER`` targets while
    messages wait for it, beside their endpoints.
    """
    if not url:
        if events_filter:
            raise InvalidInput({"webhook_events_filter": ["Give a webhook URL for the filter to apply to."]})
        return "", []
    check_target(url)
    events = _check_events(events_filter or [], allow_empty=True)
    if user is not None:
        _require_room_for_submission_webhook(user, url)
    return url, events


def _require_room_for_submission_webhook(user: Any, url: str) -> None:
    waiting = WebhookDelivery.objects.filter(owner=user, status__in=WAITING)
    require_below_limit(
        setting="WEBHOOK_MAX_PENDING_PER_OWNER", used=waiting.count(),
        message="{cap} messages are already waiting to reach your webhooks: submit without a webhook, "
                "or again once your receivers have taken them.",
    )
    own_targets = set(waiting.filter(endpoint__isnull=True).exclude(url=url).values_list("url", flat=True)
                      .distinct()[:1000])
    require_below_limit(
        setting="MAX_WEBHOOKS_PER_USER",
        used=WebhookEndpoint.objects.filter(owner=user).count() + len(own_targets),
        message="Your webhook endpoints and the other submission webhooks with messages still waiting make "
                "{cap} targets: use one of those URLs, or wait until their messages have gone out.",
    )


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


def deliveries_of(endpoint: WebhookEndpoint, *, viewer: Any) -> QuerySet[WebhookDelivery]:
    """The endpoint's delivery log, newest first, each row with ``payload_shown``: whether ``viewer``
    may read the message it carries (a video's prompt, parameters and links).

    The rule is the video's own: the message shows only while ``viewer`` may open the video
    (``selectors.visible_generations``, as its page and API answer ask), so an admin who
    joined later, or anyone after the video was rejected, made private or deleted, sees the
    delivery's state but not what the video was. A message about no video (a team's quota
    event for a private job) shows; one whose video is gone does not.
    """
    may_see = selectors.visible_generations(viewer, include_all_for_staff=True).filter(pk=OuterRef("generation_id"))
    about_no_video = Q(generation__isnull=True) & ~Q(payload__data__has_key="id")
    shown = ExpressionWrapper(Q(Exists(may_see)) | about_no_video, output_field=BooleanField())
    return endpoint.deliveries.annotate(payload_shown=shown).order_by("-created_at")


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
    data = representation.generation_data(
        generation, viewer=generation.owner, absolute=representation.site_absolute(app_settings.SITE_URL),
        queue_position=queue_positions([generation]).get(generation.pk),
    )
    body = {"type": event_type, "timestamp": now.isoformat(), "data": data}
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
        WebhookDelivery(endpoint=e, owner_id=e.owner_id, generation=generation, event_type=event_type,
                        message_id=_message_id(), payload=payload, next_attempt_at=now, created_at=now)
        for e in endpoints
    ]
    if wants_own:
        rows.append(WebhookDelivery(url=generation.webhook, owner_id=generation.owner_id, generation=generation,
                                    event_type=event_type, message_id=_message_id(), payload=payload,
                                    next_attempt_at=now, created_at=now))
    rows = _within_caps(rows)
    if rows:
        WebhookDelivery.objects.bulk_create(rows)
        queue.request_webhook_delivery()
    return len(rows)



def _within_caps(rows: list[WebhookDelivery]) -> list[WebhookDelivery]:
    """``rows`` less those past ``WEBHOOK_MAX_PENDING_PER_OWNER`` or ``..._PER_TARGET`` (one query).

    A member whose receivers do not keep up (or who makes events faster than any
    receiver could take them) gets their newest messages dropped, not an ever longer
    queue that the runner and the database carry for a day.
    """
    owner_cap, target_cap = app_settings.WEBHOOK_MAX_PENDING_PER_OWNER, app_settings.WEBHOOK_MAX_PENDING_PER_TARGET
    if not rows or (owner_cap is None and target_cap is None):
        return rows
    per_owner: Counter[Any] = Counter()
    per_target: Counter[tuple[Any, Any, str]] = Counter()
    waiting = (WebhookDelivery.objects.filter(status__in=WAITING, owner_id__in={r.owner_id for r in rows})
               .values("owner_id", "endpoint_id", "url").annotate(n=Count("pk")))
    for group in waiting:
        per_owner[group["owner_id"]] += group["n"]
        per_target[(group["owner_id"], group["endpoint_id"], group["url"])] += group["n"]
    kept, dropped = [], 0
    for row in rows:
        target = (row.owner_id, row.endpoint_id, row.url)
        if (owner_cap is not None and per_owner[row.owner_id] >= int(owner_cap)) or (
                target_cap is not None and per_target[target] >= int(target_cap)):
            dropped += 1
            continue
        per_owner[row.owner_id] += 1
        per_target[target] += 1
        kept.append(row)
    if dropped:
        logger.warning("%s %s webhook message(s) not recorded: messages waiting for their owner or target "
                       "reached WEBHOOK_MAX_PENDING_PER_OWNER or _PER_TARGET", dropped, rows[0].event_type)
    return kept


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
    rows = _within_caps([
        WebhookDelivery(endpoint=e, owner_id=e.owner_id, generation=shown, event_type=event_type,
                        message_id=_message_id(), payload=payload, next_attempt_at=now, created_at=now)
        for e in endpoints
    ])
    if rows:
        WebhookDelivery.objects.bulk_create(rows)
        queue.request_webhook_delivery()
    return len(rows)


def _message_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)


# --------------------------------------------------------------------------- sending


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
        downloads.check_url(url, allowed_hosts=allowed, public_hosts=True, resolve=resolve)
    except downloads.DownloadError:
        return _Outcome(None, "", 0, f"refused: the target is {TARGET_REFUSED}")
    timestamp = int(time.time())
    signature = " ".join(sign(secret=k, message_id=message_id, timestamp=timestamp, body=body) for k in keys)
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, "webhook-id": message_id,
               "webhook-timestamp": str(timestamp), "webhook-signature": signature}
    started = time.monotonic()
    try:
        status_code, answer = downloads.send(
            "POST", url, allowed_hosts=allowed, public_hosts=True, body=body, headers=headers, resolve=resolve,
            connect_timeout=float(app_settings.WEBHOOK_CONNECT_TIMEOUT),
            read_timeout=float(app_settings.WEBHOOK_TIMEOUT), deadline=float(app_settings.WEBHOOK_TIMEOUT),
        )
    except downloads.DownloadRefused:
        return _Outcome(None, "", 0, f"refused: the target is {TARGET_REFUSED}")
    except downloads.DownloadError as exc:
        return _Outcome(None, "", int((time.monotonic() - started) * 1000), exc.message)
    text = answer[:ANSWER_KEPT].decode("utf-8", "replace")
    return _Outcome(status_code, text, int((time.monotonic() - started) * 1000))


def _resolve_once() -> downloads.Resolver:
    """A resolver that asks DNS once per name: the check and the connection then agree on the addresses."""
    answers: dict[tuple[str, int], list[str]] = {}

    def resolve(host: str, port: int) -> list[str]:
        if (host, port) not in answers:
            answers[(host, port)] = list(downloads.resolve_host(host, port))
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


def _unclaimed(now: datetime) -> Q:
    return Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)


def _sendable() -> Q:
    """A delivery whose target still takes messages: a submission's own URL, or an enabled endpoint.

    Asked in the claim's own UPDATE, so an endpoint paused, disabled or deleted a moment
    before is never sent to, whatever a runner read earlier.
    """
    return Q(endpoint__isnull=True) | Q(endpoint__enabled=True)


def _due(now: datetime) -> QuerySet[WebhookDelivery]:
    return (WebhookDelivery.objects.filter(status__in=(D.PENDING, D.FAILED), next_attempt_at__lte=now)
            .filter(_unclaimed(now)).filter(_sendable()))


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
    withheld = _withheld(candidates)
    for delivery in [d for d in candidates if d.pk in withheld]:
        if WebhookDelivery.objects.filter(pk=delivery.pk, status=delivery.status).filter(_unclaimed(now)).update(
                status=D.GAVE_UP, next_attempt_at=None, last_error=withheld[delivery.pk]):
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
        if delivery.pk not in withheld and _slots.take(delivery.owner_id, size=size, share=share):
            picked.append(delivery)
    if not picked:
        return []
    # One conditional update for all: still due, unclaimed, and its endpoint still taking messages.
    WebhookDelivery.objects.filter(pk__in=[d.pk for d in picked], status__in=WAITING, next_attempt_at__lte=now).filter(
        _unclaimed(now)).filter(_sendable()).update(next_attempt_at=claim_until, claimed_until=claim_until)
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
        notifications.announce_webhook_disabled(endpoint=endpoint)
    except Exception:  # telling the owner must not stop the deliveries of other endpoints
        logger.exception("could not tell the owner of webhook endpoint %s", endpoint.pk)
