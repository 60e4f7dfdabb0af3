"""allauth's forms in the portal's words: sign-up carrying the team invitation a new member arrived with, log-in."""
from __future__ import annotations

from typing import Any

from allauth.account.forms import LoginForm as AllauthLoginForm
from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms

from .invitations import INVITATION_SESSION_KEY


class SignupForm(AllauthSignupForm):
    invitation = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = getattr(self, "request", None)
        if request is not None and not self.is_bound:
            self.fields["invitation"].initial = request.session.get(INVITATION_SESSION_KEY, "")


class LoginForm(AllauthLoginForm):
    """allauth's log-in form in the portal's words (the reset link sits beside the button, not under the field)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["login"].label = "Username or e-mail address"
        self.fields["password"].help_text = ""
        if "remember" in self.fields:
            self.fields["remember"].label = "Keep me logged in on this device"
