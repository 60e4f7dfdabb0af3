"""Type names shared by the app's signatures (annotations only; nothing here runs)."""
from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

# The app works with any AUTH_USER_MODEL, so services are typed against the abstract base.
User = AbstractBaseUser
# What ``request.user`` may be at an edge: a signed-in user or the anonymous one.
AnyUser = AbstractBaseUser | AnonymousUser
