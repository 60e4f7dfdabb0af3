"""What a member does with webhooks: register, pause, enable and delete endpoints, resend a message,
and the checks on a submission's own ``webhook`` URL (targets, event types, caps)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from ... import queue
from ...conf import app_settings
from ...exceptions import InvalidInput, InvalidTransition, NotAllowed, WebhookTargetForbidden
from ...models import Membership, Team, WebhookDelivery, WebhookEndpoint
from ...net import policy
from ...net.errors import DownloadError
from ...policies import require_approved_account, require_below_limit
from .. import audit
from . import TARGET_REFUSED, WAITING
from .delivery import unclaimed_q, withheld
from .signing import new_secret

EVENTS: tuple[str, ...] = (
    "generation.dispatched",
    "generation.succeeded",
    "generation.failed",
    "generation.cancelled",
    "generation.moderated",
    "quota.threshold",  # a quota crossed 80 % / 100 % (services.quota_alerts announces it)
)


def check_target(url: str) -> None:
    """Refuse a URL the site must not call (``WebhookTargetForbidden``); staff allow internal hosts by setting."""
    if not isinstance(url, str) or not url or len(url) > 2000:
        raise WebhookTargetForbidden("Give an http(s) URL of at most 2000 characters.")
    try:
        policy.check_url(url, allowed_hosts=app_settings.WEBHOOK_ALLOWED_HOSTS, public_hosts=True)
    except DownloadError:
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


def delete_endpoint(*, endpoint: WebhookEndpoint) -> None:
    audit.record_event(action=audit.Action.WEBHOOK_DELETED, target=endpoint)
    endpoint.delete()


def resend_delivery(*, delivery: WebhookDelivery, now: datetime | None = None) -> WebhookDelivery:
    """Send the same message (same ``webhook-id``) again soon, whatever became of it."""
    if delivery.endpoint is not None and not delivery.endpoint.enabled:
        raise InvalidTransition("This endpoint is disabled: enable it again first.")
    why = withheld([delivery]).get(delivery.pk)
    if why:
        raise InvalidTransition(f"This message cannot be sent again ({why}).")
    now = now or timezone.now()
    # Not while a runner is sending it: moving it then would let a second runner send it too.
    if not WebhookDelivery.objects.filter(pk=delivery.pk).filter(unclaimed_q(now)).update(
            status=WebhookDelivery.Status.PENDING, next_attempt_at=now):
        raise InvalidTransition("This message is being sent right now: look again in a moment.")
    delivery.status, delivery.next_attempt_at = WebhookDelivery.Status.PENDING, now
    transaction.on_commit(queue.request_webhook_delivery)
    return delivery
