"""Recording webhook deliveries after an event committed: one row per interested target, its body
written from ``representation`` (the generation as the REST API shows it); never a send."""
from __future__ import annotations

import json
import logging
import secrets
from collections import Counter
from datetime import datetime
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone
from rest_framework.utils.encoders import JSONEncoder as APIJSONEncoder

from ... import queue, representation
from ...conf import app_settings
from ...models import Generation, Team, WebhookDelivery, WebhookEndpoint
from ...selectors.generations import team_visible_q
from ...selectors.webhooks import team_managers
from ..waiting_line import queue_positions
from . import WAITING

logger = logging.getLogger("generations.webhooks")

#: The status a transition reaches → the event it announces.
STATUS_EVENTS: dict[str, str] = {
    Generation.Status.DISPATCHED: "generation.dispatched",
    Generation.Status.SUCCEEDED: "generation.succeeded",
    Generation.Status.FAILED: "generation.failed",
    Generation.Status.CANCELLED: "generation.cancelled",
}


def payload_for(generation: Generation, *, event_type: str, now: datetime) -> dict[str, Any]:
    """The body: the generation as the REST API shows it to its owner, with absolute URLs."""
    data = representation.generation_data(
        generation, viewer=generation.owner, absolute=representation.site_absolute(app_settings.SITE_URL),
        queue_position=queue_positions([generation]).get(generation.pk),
    )
    return _as_api_writes({"type": event_type, "timestamp": now.isoformat(), "data": data})


def _as_api_writes(value: Any) -> Any:
    # Through the API's own encoder, so numbers and dates read exactly as the REST answer has them.
    return json.loads(json.dumps(value, cls=APIJSONEncoder))


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
    rows = _rows_for(endpoints, generation=generation, event_type=event_type, payload=payload, now=now)
    if wants_own:
        rows.append(WebhookDelivery(url=generation.webhook, owner_id=generation.owner_id, generation=generation,
                                    event_type=event_type, message_id=_message_id(), payload=payload,
                                    next_attempt_at=now, created_at=now))
    return _record(rows)


def record_quota_event(*, generation: Generation, quota: dict[str, Any], team: Team | None = None) -> int:
    """A ``quota.threshold`` delivery to each enabled endpoint that wants it: the member's own endpoints
    for their quotas, the team's for its pools. ``data`` is the generation whose reservation crossed
    the threshold, as the API shows it, plus ``quota``. Never sends. Returns how many were recorded."""
    event_type = "quota.threshold"
    if team is not None:
        # As for generation events: only endpoints whose creator still manages the team.
        owners = WebhookEndpoint.objects.filter(team=team, owner_id__in=team_managers(team.pk))
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
    payload["data"]["quota"] = _as_api_writes(quota)
    return _record(_rows_for(endpoints, generation=shown, event_type=event_type, payload=payload, now=now))


def _rows_for(endpoints: list[WebhookEndpoint], *, generation: Generation | None, event_type: str,
              payload: dict[str, Any], now: datetime) -> list[WebhookDelivery]:
    return [
        WebhookDelivery(endpoint=e, owner_id=e.owner_id, generation=generation, event_type=event_type,
                        message_id=_message_id(), payload=payload, next_attempt_at=now, created_at=now)
        for e in endpoints
    ]


def _record(rows: list[WebhookDelivery]) -> int:
    """Insert the rows the caps leave, in one INSERT, and ask for a sending run; how many were recorded."""
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
    return team_managers(generation.team_id)


def _team_may_see(generation: Generation) -> bool:
    return Generation.objects.filter(pk=generation.pk).filter(team_visible_q()).exists()


def _message_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)
