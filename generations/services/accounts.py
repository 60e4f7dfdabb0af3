"""Accounts: sign-up under the site's SIGNUP mode, profiles, approval and the current team."""
from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import authenticate
from django.db import transaction
from django.http import HttpRequest

from ..conf import app_settings
from ..exceptions import LockedOut, NotAllowed, WrongPassword
from ..models import Membership, Team, TeamInvitation, UserProfile
from ..types import User
from . import teams

SIGNUP_MODES = ("open", "approval", "invite")


@dataclass(frozen=True)
class SignupResult:
    """What a sign-up produced: the user, whether they may work at once, and the team they joined."""

    user: User
    approved: bool
    membership: Membership | None = None


def profile_for(user: User) -> UserProfile:
    """The user's profile, created on first use (users made before the app was installed have none)."""
    profile, _ = UserProfile.objects.get_or_create(user=user)
    return profile


def signup_mode() -> str:
    mode = app_settings.SIGNUP
    return mode if mode in SIGNUP_MODES else "open"


def sign_up(*, user: User, invitation_token: str = "") -> SignupResult:
    """Create an account from an unsaved user (its password already set) under the SIGNUP mode.

    - ``open``: the account is active and approved at once.
    - ``approval``: the account exists but its profile waits for staff approval
      (the submit policy refuses unapproved users).
    - ``invite``: only with a valid team invitation; the account is approved and joins
      the team.

    A valid invitation also joins its team in ``open`` mode; under ``approval`` the account joins
    nothing until approved (the link stays usable). Raises ``NotAllowed``
    when sign-up needs an invitation that was not given or is not valid any more;
    then nothing is created.
    """
    mode = signup_mode()
    with transaction.atomic():
        invitation = None
        if invitation_token:
            invitation = (TeamInvitation.objects.select_for_update()
                          .filter(token=invitation_token, accepted_at__isnull=True).first())
        if mode == "invite" and invitation is None:
            raise NotAllowed("Sign-up on this site needs a valid team invitation.")
        user.is_active = True
        user.save()
        approved = mode != "approval"
        UserProfile.objects.update_or_create(user=user, defaults={"approved": approved})
        membership = None
        # A pending account accepts nothing: its link stays open for when staff have approved it.
        if invitation is not None and approved:
            membership = teams.accept_invitation(token=invitation.token, user=user)
            UserProfile.objects.filter(user=user).update(current_team=membership.team)
    return SignupResult(user=user, approved=approved, membership=membership)


def verify_password(*, request: HttpRequest | None, user: User, password: str) -> None:
    """Check ``user``'s password again before a sensitive action (deleting the account, ...).

    Goes through Django's ``authenticate`` with the request, so whatever guards the site's
    log-ins guards this too: a lock-out backend (django-axes in this project) refuses a
    locked-out account or address and counts a wrong password as a failed log-in. Pass the
    Django ``HttpRequest`` (``request._request`` under DRF). Raises ``LockedOut`` (429) or
    ``WrongPassword`` (400); returns None when the password is right.
    """
    credentials = {user.USERNAME_FIELD: user.get_username(), "password": password or ""}
    checked = authenticate(request, **credentials)
    # The lock-out backend marks the request when it refused (authenticate() turns its
    # PermissionDenied into None); without one, this attribute is never set.
    if getattr(request, "axes_locked_out", False):
        raise LockedOut()
    if checked is None or checked.pk != user.pk:
        raise WrongPassword()


def approve_user(*, user: User) -> UserProfile:
    """Staff: let a user who signed up under ``approval`` submit jobs."""
    profile = profile_for(user)
    if not profile.approved:
        profile.approved = True
        profile.save(update_fields=["approved"])
    return profile


def set_current_team(*, user: User, team: Team | None) -> UserProfile:
    """Remember the team the user works in (the submit form preselects it); None for personal work."""
    if team is not None and not Membership.objects.filter(team=team, user=user).exists():
        raise NotAllowed("You are not a member of this team.")
    profile = profile_for(user)
    if profile.current_team_id != (team.pk if team else None):
        profile.current_team = team
        profile.save(update_fields=["current_team"])
    return profile

