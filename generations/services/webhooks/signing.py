"""Webhook secrets and signatures: an endpoint's secret and a member's per-submission one, each
rotated with a 24 h overlap, and the ``webhook-signature`` they make (Standard Webhooks)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from ...models import UserProfile, WebhookEndpoint
from ...policies import require_approved_account
from .. import audit

ROTATION_OVERLAP = timedelta(hours=24)


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


def rotate_secret(*, endpoint: WebhookEndpoint, now: datetime | None = None) -> WebhookEndpoint:
    """A new secret; the old one keeps signing for 24 h, so receivers can switch without losing messages."""
    now = now or timezone.now()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = now + ROTATION_OVERLAP
    endpoint.secret = new_secret()
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
    audit.record_event(action=audit.Action.WEBHOOK_ROTATED, target=endpoint)
    return endpoint


def submission_secret(user: Any) -> str:
    """The secret that signs deliveries to a member's per-submission ``webhook`` URLs (made on first use)."""
    profile, _ = UserProfile.objects.get_or_create(user=user)
    if not profile.webhook_secret:
        # Conditional, so two first uses at once agree on one secret.
        UserProfile.objects.filter(pk=profile.pk, webhook_secret="").update(webhook_secret=new_secret())
        profile.refresh_from_db(fields=["webhook_secret"])
    return profile.webhook_secret


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
