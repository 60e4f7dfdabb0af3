"""What each member is told of and how (off, in the bell, by e-mail, as a digest), and the signed
unsubscribe links of the e-mails, which work without a session."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core import signing

from ...conf import app_settings
from ...exceptions import InvalidInput
from ...models import NotificationPreference
from ...notification_kinds import EVERY_KIND, KINDS
from ...selectors.notifications import kinds_for, preferences_of
from ...types import User
from . import C, absolute, site_path

UNSUBSCRIBE_SALT = "generations.notifications.unsubscribe"
#: Signs the kinds an unsubscribe changed, for its page's Undo and "turn off entirely".
UNSUBSCRIBE_CHANGES_SALT = "generations.notifications.unsubscribe.changes"
#: How long that page's Undo stays valid: a page kept or copied cannot subscribe anyone later.
UNSUBSCRIBE_UNDO_MAX_AGE = timedelta(days=7)


def set_preferences(*, user: User, choices: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Save the member's choices ``{kind: {"channel"?, "digest"?}}`` (kinds left out keep theirs), in one query.

    Raises ``InvalidInput`` for an unknown kind, a kind the member may not choose for, or a
    channel that kind does not offer.
    """
    allowed = kinds_for(user)
    current = {row["kind"]: row for row in preferences_of(user)}
    errors: dict[str, list[str]] = {}
    rows = []
    for kind, choice in choices.items():
        if kind not in allowed:
            errors[kind] = [f"Unknown notification kind. Known: {', '.join(allowed)}."]
            continue
        channel = choice.get("channel", current[kind]["channel"])
        if channel not in KINDS[kind].channels:
            errors[kind] = [f"Choose one of: {', '.join(KINDS[kind].channels)}."]
            continue
        digest = bool(choice.get("digest", current[kind]["digest"]))
        rows.append(NotificationPreference(user=user, kind=kind, channel=channel, digest=digest))
    if errors:
        raise InvalidInput(errors)
    if rows:
        NotificationPreference.objects.bulk_create(rows, update_conflicts=True, unique_fields=["user", "kind"],
                                                   update_fields=["channel", "digest", "updated_at"])
    return preferences_of(user)


def unsubscribe_token(*, user_id: Any, kind: str) -> str:
    """A signed token for the unsubscribe link of ``kind`` (or ``"all"``) in a member's e-mails."""
    return signing.dumps({"u": user_id, "k": kind}, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_url(*, user_id: Any, kind: str) -> str:
    path = site_path("generations:notification-unsubscribe", unsubscribe_token(user_id=user_id, kind=kind))
    return absolute(path)


@dataclass(frozen=True)
class Unsubscription:
    """What an unsubscribe link names, and what a step on its page changed."""

    user: Any
    #: The kinds the link names (for ``"all"``: every kind the member may choose for).
    kinds: list[str]
    #: The kinds the link changed, which the page's Undo and "turn off entirely" act on.
    changed: list[str]
    #: Where those kinds are now: ``in_app`` (e-mails stopped; a kind without a bell goes off), ``off`` or ``email``.
    channel: str
    #: ``changed``, signed for the page's forms (``UNSUBSCRIBE_CHANGES_SALT``, valid ``UNSUBSCRIBE_UNDO_MAX_AGE``).
    changes: str


def _invalid_link() -> InvalidInput:
    return InvalidInput({"token": ["This unsubscribe link is not valid."]})


def read_unsubscribe_token(*, token: str) -> tuple[Any, list[str]]:
    """The member and the kinds an unsubscribe token names; changes nothing. Raises ``InvalidInput``,
    also for a link older than ``UNSUBSCRIBE_LINK_DAYS`` (a forwarded or leaked e-mail does not
    keep working for ever)."""
    days = int(app_settings.UNSUBSCRIBE_LINK_DAYS)
    try:
        value = signing.loads(token, salt=UNSUBSCRIBE_SALT, max_age=timedelta(days=days))
    except signing.SignatureExpired:
        raise InvalidInput({"token": [f"This unsubscribe link has expired: links in our e-mails work for {days} "
                                      "days. Choose what you are e-mailed about on the notification settings "
                                      "page (after signing in)."]}) from None
    except signing.BadSignature:
        raise _invalid_link() from None
    if not isinstance(value, dict):
        raise _invalid_link()
    user_id, kind = value.get("u"), value.get("k")
    user = get_user_model().objects.filter(pk=user_id).first() if isinstance(user_id, (int, str)) else None
    if user is None or (kind != EVERY_KIND and kind not in KINDS):
        raise _invalid_link()
    return user, kinds_for(user) if kind == EVERY_KIND else [kind]


def unsubscribe(*, token: str) -> Unsubscription:
    """Apply an unsubscribe link (the page's button, or a mail client's one-click POST): of the kinds it
    names, those that come by e-mail stop (in-app; off for a kind without a bell, the staff's summary).

    Works without a session: the signature is the authority. Kinds that are off or in-app are
    left as they are, and only the kinds changed are carried (signed) to the page's Undo.
    Raises ``InvalidInput`` for a token that does not verify.
    """
    user, kinds = read_unsubscribe_token(token=token)
    current = {row["kind"]: row["channel"] for row in preferences_of(user)}
    changed = [k for k in kinds if current.get(k) == C.EMAIL]
    if changed:
        set_preferences(user=user, choices={
            k: {"channel": C.IN_APP if C.IN_APP in KINDS[k].channels else C.OFF} for k in changed})
    changes = signing.dumps({"u": user.pk, "k": changed}, salt=UNSUBSCRIBE_CHANGES_SALT, compress=True)
    return Unsubscription(user=user, kinds=kinds, changed=changed, channel=C.IN_APP, changes=changes)


def revise_unsubscribe(*, token: str, changes: str, channel: str) -> Unsubscription:
    """The unsubscribe page's second step: the kinds the link changed go off entirely (``channel`` off),
    or come by e-mail again (``email``, Undo).

    ``changes`` is the signed value ``unsubscribe`` returned: only those kinds change, only for
    the member the link names, and only within ``UNSUBSCRIBE_UNDO_MAX_AGE`` of the unsubscribe,
    so a page kept or copied cannot subscribe anyone to e-mails later. Raises ``InvalidInput``.
    """
    user, kinds = read_unsubscribe_token(token=token)
    if channel not in (C.OFF, C.EMAIL):
        raise InvalidInput({"channel": [f"Choose one of: {C.OFF}, {C.EMAIL}."]})
    try:
        value = signing.loads(changes, salt=UNSUBSCRIBE_CHANGES_SALT, max_age=UNSUBSCRIBE_UNDO_MAX_AGE)
    except signing.SignatureExpired:
        raise InvalidInput({"changes": ["This page has expired: choose on the notification settings page "
                                        "(after signing in)."]}) from None
    except signing.BadSignature:
        raise _invalid_link() from None
    if not isinstance(value, dict) or str(value.get("u")) != str(user.pk) or not isinstance(value.get("k"), list):
        raise _invalid_link()
    allowed = kinds_for(user)
    changed = [k for k in kinds if k in value["k"] and k in allowed and channel in KINDS[k].channels]
    if changed:
        set_preferences(user=user, choices={k: {"channel": channel} for k in changed})
    return Unsubscription(user=user, kinds=kinds, changed=changed, channel=channel, changes=changes)
