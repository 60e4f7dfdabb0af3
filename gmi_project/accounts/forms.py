"""The sign-up form: allauth's, carrying the team invitation a new member arrived with."""
from __future__ import annotations

from typing import Any

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
