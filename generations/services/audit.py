"""The audit trail: records who did what (sign-ins, tokens, secrets, members, roles, quotas, moderation)."""
from __future__ import annotations

import logging
import re
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Model
from django.http import HttpRequest

from .. import request_context
from ..models import AuditEvent, Team
from ..types import User

logger = logging.getLogger("generations.audit")

Action = AuditEvent.Action

# Keys whose values are never stored, whatever they hold: a secret, token, key or password by any name.
_SECRET_KEY = re.compile(r"secret|token|password|passwd|key|signature|authorization|cookie|credential|otp",
                         re.IGNORECASE)
# Values that look like a secret whatever their key: our token and webhook secret formats, bearer
# headers, signed URLs' query strings and credentials in a URL.
_SECRET_VALUE = re.compile(
    r"(gmi_[A-Za-z0-9_-]{8,}|whsec_[A-Za-z0-9+/=]{8,}|sk-[A-Za-z0-9_-]{6,}|bearer\s+\S+"
    r"|[?&](x-amz-signature|signature|sig|token|key)=|://[^/@\s]+:[^/@\s]*@)",
    re.IGNORECASE,
)
REDACTED = "[redacted]"
_MAX_TEXT = 500
_MAX_DEPTH = 4


def record_event(
    *,
    action: str,
    actor: User | None = None,
    target: Model | None = None,
    team: Team | None = None,
    data: dict[str, Any] | None = None,
    actor_name: str = "",
    request: HttpRequest | None = None,
) -> AuditEvent | None:
    """Record one audit event; the client address and request id come from the request context.

    ``actor`` defaults to the request's authenticated user (the request context's user id), so a
    service that is not told who acts still records them; outside a request it stays empty.
    ``actor_name`` names an actor with no account instead (a failed sign-in's username).
    ``target`` is any saved model instance (its type, primary key and ``str()`` are kept as text);
    ``team`` defaults to the target's team when it has one. ``data`` is stored without anything
    secret-looking (keys or values), truncated and JSON-safe. ``request`` supplies the address and
    request id when no context is bound (a host site without the middleware).

    Never raises: the caller's work matters more than its audit row, so a failure is logged and
    None returned. Inside a transaction the row is written in a savepoint, so a failed insert cannot
    break the caller's transaction either; and it is rolled back with the caller's work.
    """
    try:
        context = request_context.current()
        if context.request_id == "" and request is not None:
            context = request_context.RequestContext(request_id=request_context.request_id_for(request),
                                                      client_ip=request_context.client_address(request),
                                                      user_id=None)
        if actor is None and not actor_name and context.user_id is not None:
            actor = get_user_model()._default_manager.filter(pk=context.user_id).first()
        if team is None and target is not None:
            team = _team_of(target)
        event = AuditEvent(
            action=action,
            actor=actor if actor is not None and actor.pk is not None else None,
            actor_name=_clean_text(actor.get_username() if actor is not None else actor_name or "")[:150],
            target_type=target._meta.label_lower[:100] if target is not None else "",
            target_id=str(target.pk)[:64] if target is not None else "",
            target_label=_clean_text(str(target))[:200] if target is not None else "",
            team=team if team is not None and team.pk is not None else None,
            team_label=(team.slug if team is not None else "")[:140],
            client_ip=context.client_ip,
            request_id=context.request_id,
            data=scrub(data or {}),
        )
        with transaction.atomic():
            event.save()
        return event
    except Exception:  # whatever went wrong, the caller's action has happened and must go on
        logger.exception("Could not record the audit event %s", action)
        return None


def record_quota_change(*, target: Model, previous: dict[str, Any], limits: dict[str, Any]) -> None:
    """A user's or team's limit overrides changed (None: back to the site default); unchanged ones are left out."""
    changed = {name: {"from": previous.get(name), "to": value}
               for name, value in limits.items() if previous.get(name) != value}
    if changed:
        record_event(action=Action.QUOTA_CHANGED, target=target, data={"limits": changed})


def on_user_logged_in(sender: Any, request: HttpRequest | None = None, user: Any = None, **kwargs: Any) -> None:
    """``user_logged_in`` receiver: the sign-in, with the address it came from (any log-in view or library)."""
    if user is not None:
        request_context.set_user(user.pk)
    record_event(action=Action.LOGIN, actor=user, request=request, data={"backend": getattr(user, "backend", "")})


def on_user_logged_out(sender: Any, request: HttpRequest | None = None, user: Any = None, **kwargs: Any) -> None:
    """``user_logged_out`` receiver (``user`` is None when the session had no user)."""
    if user is not None:
        record_event(action=Action.LOGOUT, actor=user, request=request)
    request_context.set_user(None)  # the rest of the request runs signed out


def on_user_login_failed(sender: Any, credentials: dict[str, Any] | None = None,
                         request: HttpRequest | None = None, **kwargs: Any) -> None:
    """``user_login_failed`` receiver: the name that was tried (never the password) and the address."""
    credentials = credentials or {}
    username_field = get_user_model().USERNAME_FIELD
    tried = str(credentials.get(username_field) or credentials.get("username") or credentials.get("email") or "")
    record_event(action=Action.LOGIN_FAILED, actor_name=tried or "(no name)", request=request)


def scrub(value: Any, *, depth: int = 0) -> Any:
    """``value`` made JSON-safe with every secret-looking key or value replaced by ``[redacted]``."""
    if depth > _MAX_DEPTH:
        return REDACTED
    if isinstance(value, dict):
        return {
            str(key)[:100]: REDACTED if _SECRET_KEY.search(str(key)) else scrub(item, depth=depth + 1)
            for key, item in list(value.items())[:50]
        }
    if isinstance(value, (list, tuple, set)):
        return [scrub(item, depth=depth + 1) for item in list(value)[:50]]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return _clean_text(str(value))


def _clean_text(text: str) -> str:
    if _SECRET_VALUE.search(text):
        return REDACTED
    return text[:_MAX_TEXT]


def _team_of(target: Model) -> Team | None:
    if isinstance(target, Team):
        return target
    team = getattr(target, "team", None)
    return team if isinstance(team, Team) else None
