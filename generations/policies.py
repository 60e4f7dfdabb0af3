"""Swappable policies (dotted paths in GENERATIONS): who may submit, and the quota rules."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

from django.utils.module_loading import import_string

from . import metrics
from .conf import app_settings
from .exceptions import AccountPending, LimitReached, NotAllowed

# Kept under these names for services.quotas, which imports them from here.
USER_LIMITS = metrics.USER_METRICS
TEAM_LIMITS = metrics.TEAM_METRICS


def awaiting_approval(user: Any) -> bool:
    """Whether ``user`` signed up under ``approval`` and staff have not approved them yet.

    Users made before the app was installed have no profile and count as approved.
    """
    profile = getattr(user, "gmi_profile", None)
    return profile is not None and not profile.approved


def require_approved_account(user: Any) -> None:
    """Refuse anything that spends the site's resources or reaches other people until staff approve.

    Submitting, uploading to GMI, API tokens, teams, adding members and invitations all
    ask this one rule; logging in and looking around do not.
    """
    if awaiting_approval(user):
        raise AccountPending()


def require_below_limit(*, setting: str, used: int, message: str) -> None:
    """Refuse one more of something when ``used`` already reaches ``GENERATIONS[setting]`` (None: no cap)."""
    cap = getattr(app_settings, setting)
    if cap is not None and used >= int(cap):
        raise LimitReached(message.format(cap=cap), limit=setting)


class SubmitPolicy:
    """Decides whether a user may submit a job. Subclass and name yours in SUBMIT_POLICY."""

    def check_submit(self, *, user: Any, model: Any, team: Any | None) -> None:
        """Raise ``NotAllowed`` to refuse. ``team`` membership is checked by the service."""
        if not user.is_active:
            raise NotAllowed("Your account is inactive.")
        require_approved_account(user)


class QuotaPolicy:
    """Limits and prices. Subclass and name yours in QUOTA_POLICY."""

    def user_limits(self, user: Any) -> dict[str, int | None]:
        """Effective limits: the user's override, else the site default; None is unlimited."""
        defaults = app_settings.DEFAULT_LIMITS
        profile = getattr(user, "gmi_profile", None)
        limits: dict[str, int | None] = {}
        for name in USER_LIMITS:
            override = getattr(profile, name, None) if profile is not None else None
            limits[name] = override if override is not None else defaults.get(name)
        return limits

    def team_limits(self, team: Any) -> dict[str, int | None]:
        defaults = app_settings.DEFAULT_TEAM_LIMITS
        return {
            name: getattr(team, name) if getattr(team, name) is not None else defaults.get(name)
            for name in TEAM_LIMITS
        }

    def price(self, *, model: Any, video_seconds: int) -> Decimal:
        """Credits a job costs: the model's price per job, or per second of requested video."""
        price = Decimal(model.price_credits or 0)
        if model.price_unit == "second":
            price *= Decimal(video_seconds or 0)
        return price.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@lru_cache(maxsize=8)
def _load(path: str) -> Any:
    return import_string(path)()


def submit_policy() -> SubmitPolicy:
    return _load(app_settings.SUBMIT_POLICY)


def quota_policy() -> QuotaPolicy:
    return _load(app_settings.QUOTA_POLICY)
