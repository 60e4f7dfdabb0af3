"""Reactions to account events: a new password or a new second factor ends the other sessions; a reset also
revokes the API tokens."""
from __future__ import annotations

from typing import Any

from allauth.account.signals import password_changed, password_reset, password_set
from allauth.mfa.signals import authenticator_added
from django.contrib import messages
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from generations.selectors import accounts as account_reads
from generations.services import tokens

from .middleware import mark_session_start
from .sessions import end_other_sessions


@receiver(user_logged_in)
def session_starts_active(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is not None:
        mark_session_start(request)


def _offer_token_revocation(request: HttpRequest, user: Any, why: str) -> None:
    live = account_reads.usable_tokens(user).count()
    if live:
        messages.info(request, format_html(
            "{} You have {} API token{} that still work: <a href=\"{}\">review or revoke them</a>.",
            why, live, "" if live == 1 else "s", reverse("account_security")))


@receiver(password_changed)
@receiver(password_set)
def end_sessions_after_new_password(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    ended = end_other_sessions(request=request, user=user)
    why = f"Your other sessions were logged out ({ended})." if ended else "Your password is changed."
    _offer_token_revocation(request, user, why)


@receiver(password_reset)
def end_everything_after_reset(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    # Whoever asked for the reset may not be whoever holds the old password or the tokens.
    end_other_sessions(request=request, user=user)
    revoked = tokens.revoke_all_tokens(user=user, reason="password reset")
    if revoked:
        messages.info(request, f"Your API tokens were revoked ({revoked}) with the old password. "
                               "Create new ones on the API tokens page.")


@receiver(authenticator_added)
def end_sessions_after_second_factor(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    ended = end_other_sessions(request=request, user=user)
    why = (f"Two-factor authentication is on; your other sessions were logged out ({ended})."
           if ended else "Two-factor authentication is on.")
    _offer_token_revocation(request, user, why)
