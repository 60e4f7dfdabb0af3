"""allauth adapters: sign-up follows the site's SIGNUP mode (open, approval, invite) for forms and SSO alike."""
from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.http import HttpRequest
from django.shortcuts import render
from django.urls import reverse

from generations.exceptions import NotAllowed
from generations.services import accounts

from .invitations import forget_invitation, invitation_for
from .lockout import client_ip

JOINED_TEAM_ATTR = "gmi_joined_team"


def signup_allowed(request: HttpRequest) -> bool:
    """Open and approval sites take anyone; an invite-only site takes people with an open invitation."""
    invitation = invitation_for(request)
    request.gmi_invitation = invitation  # type: ignore[attr-defined]  # the sign-up page says which team
    return accounts.signup_mode() != "invite" or invitation is not None


def apply_signup_mode(request: HttpRequest, user: Any) -> None:
    """Save the new account under the SIGNUP mode (approval flag, invitation's team) via the app's service."""
    invitation = invitation_for(request)
    try:
        result = accounts.sign_up(user=user, invitation_token=invitation.token if invitation else "")
    except NotAllowed as exc:  # the invitation was used up between the page and the post
        raise ImmediateHttpResponse(render(request, "account/signup_closed.html", {"reason": exc.message},
                                           status=403)) from exc
    forget_invitation(request)
    if result.membership is not None:
        setattr(request, JOINED_TEAM_ATTR, result.membership.team.slug)


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return signup_allowed(request)

    def save_user(self, request: HttpRequest, user: Any, form: Any, commit: bool = True) -> Any:
        user = super().save_user(request, user, form, commit=False)
        apply_signup_mode(request, user)
        return user

    def get_signup_redirect_url(self, request: HttpRequest) -> str:
        slug = getattr(request, JOINED_TEAM_ATTR, None)
        if slug:
            return reverse("generations:team", args=[slug])
        return super().get_signup_redirect_url(request)

    def get_client_ip(self, request: HttpRequest) -> str:
        # One rule for "the client's address" in rate limits and the lock-out (TRUSTED_PROXY_COUNT).
        return client_ip(request)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest, sociallogin: Any) -> bool:
        return signup_allowed(request)

    def save_user(self, request: HttpRequest, sociallogin: Any, form: Any = None) -> Any:
        user = super().save_user(request, sociallogin, form)
        if form is None:  # with a form, the account adapter's save_user applied the mode already
            apply_signup_mode(request, user)
        return user
