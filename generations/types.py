"""Type names shared by the app's signatures (annotations only; nothing here runs)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest

if TYPE_CHECKING:
    # mypy resolves AUTH_USER_MODEL through the project's settings (django.contrib.auth's User),
    # so relations to the user are typed with that model.
    from django.contrib.auth.models import User
else:
    # At run time the app takes any AUTH_USER_MODEL.
    User = AbstractBaseUser


class AuthenticatedHttpRequest(HttpRequest):
    """A request to a ``login_required`` view: its user is signed in."""

    user: User
