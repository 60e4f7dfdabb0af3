"""Personal API tokens: created once, stored as SHA-256, revocable."""
from __future__ import annotations

import hashlib
import secrets

from django.utils import timezone

from ..models import ApiToken
from ..policies import require_approved_account, require_below_limit
from ..types import User

PREFIX = "gmi_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_token(*, user: User, name: str = "API token") -> tuple[ApiToken, str]:
    """Return the token row and the key. The key is not stored and cannot be shown again.

    Raises ``AccountPending`` for accounts waiting for approval and ``LimitReached``
    when the user already has ``MAX_TOKENS_PER_USER`` tokens that are not revoked.
    """
    require_approved_account(user)
    require_below_limit(
        setting="MAX_TOKENS_PER_USER", used=ApiToken.objects.filter(user=user, revoked_at__isnull=True).count(),
        message="You already have {cap} API tokens: revoke one you no longer use first.",
    )
    key = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=(name or "API token")[:100], prefix=key[:12],
                                    key_hash=hash_key(key))
    return token, key


def authenticate_key(key: str) -> ApiToken | None:
    """The active token for ``key``, or None. Comparison is by hash lookup; no timing leak of the key."""
    if not key or not key.startswith(PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("user", "user__gmi_profile")
        .filter(key_hash=hash_key(key), revoked_at__isnull=True).first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def revoke_token(*, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
