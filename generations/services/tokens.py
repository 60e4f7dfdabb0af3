"""Personal API tokens: created once, stored as SHA-256, with an optional expiry and a scope; revocable."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import NamedTuple

from django.utils import timezone

from ..models import ApiToken
from ..policies import require_approved_account, require_below_limit
from ..selectors.accounts import usable_tokens
from ..types import User
from .audit import Action, record_event

PREFIX = "gmi_"
SCOPES = tuple(ApiToken.Scope.values)


class KeyCheck(NamedTuple):
    """What a presented key is: its token when it may be used, else why not (``invalid`` or ``expired``)."""

    token: ApiToken | None
    refusal: str = ""


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_token(*, user: User, name: str = "API token", scope: str = ApiToken.Scope.READ_SUBMIT,
                 expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """Return the token row and the key. The key is not stored and cannot be shown again.

    ``scope`` is ``read`` (safe methods only) or ``read+submit``; ``expires_at`` None keeps the
    token until it is revoked. Raises ``ValueError`` for an unknown scope or a past expiry,
    ``AccountPending`` for accounts waiting for approval and ``LimitReached`` when the user
    already has ``MAX_TOKENS_PER_USER`` usable tokens.
    """
    if scope not in SCOPES:
        raise ValueError(f"Unknown token scope {scope!r}: use one of {', '.join(SCOPES)}.")
    if expires_at is not None and expires_at <= timezone.now():
        raise ValueError("A token's expiry must be in the future.")
    require_approved_account(user)
    require_below_limit(
        setting="MAX_TOKENS_PER_USER", used=usable_tokens(user).count(),
        message="You already have {cap} API tokens: revoke one you no longer use first.",
    )
    key = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=(name or "API token")[:100], prefix=key[:12],
                                    key_hash=hash_key(key), scope=scope, expires_at=expires_at)
    record_event(action=Action.TOKEN_CREATED, actor=user, target=token, data={
        "scope": scope, "expires_at": expires_at.isoformat() if expires_at else None})
    return token, key


def check_key(key: str) -> KeyCheck:
    """Look a presented key up by its hash (no timing leak of the key) and say whether it may be used."""
    if not key or not key.startswith(PREFIX):
        return KeyCheck(None, "invalid")
    token = (
        ApiToken.objects.select_related("user", "user__gmi_profile")
        .filter(key_hash=hash_key(key), revoked_at__isnull=True).first()
    )
    if token is None or not token.user.is_active:
        return KeyCheck(None, "invalid")
    now = timezone.now()
    if token.expires_at is not None and token.expires_at <= now:
        return KeyCheck(None, "expired")
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return KeyCheck(token)


def authenticate_key(key: str) -> ApiToken | None:
    """The usable token for ``key``, or None (unknown, revoked, expired, or its user inactive)."""
    return check_key(key).token


def revoke_token(*, token: ApiToken, actor: User | None = None, reason: str = "") -> bool:
    """Revoke one token (``actor``: who did it, its owner by default); False when it was revoked already."""
    revoked = bool(ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now()))
    if revoked:
        record_event(action=Action.TOKEN_REVOKED, actor=actor if actor is not None else token.user, target=token,
                     data={"reason": reason} if reason else None)
    return revoked


def revoke_all_tokens(*, user: User, actor: User | None = None, reason: str = "") -> int:
    """Revoke every live token of ``user`` (after a password reset, or from the security page); how many."""
    revoked = 0
    for token in ApiToken.objects.filter(user=user, revoked_at__isnull=True):
        revoked += revoke_token(token=token, actor=actor if actor is not None else user, reason=reason)
    return revoked
