"""Swappable policies (dotted paths in GENERATIONS): who may submit, the quota rules, and who hears what."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

from django.core.mail import EmailMultiAlternatives
from django.utils.module_loading import import_string

from . import metrics, queue
from .conf import app_settings
from .exceptions import AccountPending, LimitReached, NotAllowed
from .models import Membership, Notification, NotificationPreference


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
        for name in metrics.USER_METRICS:
            override = getattr(profile, name, None) if profile is not None else None
            limits[name] = override if override is not None else defaults.get(name)
        return limits

    def team_limits(self, team: Any) -> dict[str, int | None]:
        defaults = app_settings.DEFAULT_TEAM_LIMITS
        return {
            name: getattr(team, name) if getattr(team, name) is not None else defaults.get(name)
            for name in metrics.TEAM_METRICS
        }

    def price(self, *, model: Any, video_seconds: int) -> Decimal:
        """Credits a job costs: the model's price per job, or per second of requested video."""
        price = Decimal(model.price_credits or 0)
        if model.price_unit == "second":
            price *= Decimal(video_seconds or 0)
        return price.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class NotificationEvent:
    """Something members may be told about, as the notifications service describes it to the policy.

    ``team`` is set for a team's own concerns (its pools): its owners and admins hear of
    them. ``user_id`` names the member concerned when it is not the generation's owner
    (a webhook's owner, a staff member's summary). ``dedupe_key`` records the event once
    per recipient however often it is announced.
    """

    kind: str
    title: str
    body: str = ""
    link: str = ""
    generation: Any = None
    team: Any = None
    user_id: Any = None
    data: dict[str, Any] = field(default_factory=dict)
    dedupe_key: str = ""


class NotificationPolicy:
    """Who is told of an event, how they want it, and how it reaches them. Subclass and name yours in
    NOTIFICATION_POLICY (e.g. to route notifications to the host's own system)."""

    def recipients_for(self, event: NotificationEvent) -> Iterable[Any]:
        """Users (or their primary keys) to tell: a team's owners and admins who accepted it for a team's concern,
        else the member concerned, else the generation's owner."""
        if event.team is not None:
            # Only people who took the team on: a membership staff made is not consent until it is
            # opened, and members otherwise join only by accepting an invitation.
            return list(Membership.objects.filter(
                team=event.team, role__in=(Membership.Role.OWNER, Membership.Role.ADMIN), seen_at__isnull=False,
            ).values_list("user_id", flat=True))
        if event.user_id is not None:
            return [event.user_id]
        if event.generation is not None:
            return [event.generation.owner_id]
        return []

    def preferences_for(self, *, user_ids: Sequence[Any], kind: str) -> dict[Any, tuple[str, bool]]:
        """(channel, digest) per recipient, in one query: their choice, else ``NOTIFICATION_DEFAULTS``.

        Channels: ``"off"`` (nothing recorded), ``"in_app"`` (the bell), ``"email"`` (the bell and an e-mail).
        """
        default = str(app_settings.NOTIFICATION_DEFAULTS.get(kind, NotificationPreference.Channel.IN_APP))
        chosen = {
            user_id: (channel, digest)
            for user_id, channel, digest in NotificationPreference.objects.filter(
                user_id__in=list(user_ids), kind=kind).values_list("user_id", "channel", "digest")
        }
        return {user_id: chosen.get(user_id, (default, False)) for user_id in user_ids}

    def deliver(self, notifications: list[Notification]) -> None:
        """Called with the rows just recorded, after the change committed, in the caller's thread (which
        may be the engine's): be quick and hand slow work to a task. Default: ask for the e-mail task
        when one of them is to be e-mailed (the task sends through ``send_email``)."""
        if any(n.email_status == Notification.EmailStatus.PENDING for n in notifications):
            queue.request_notification_emails()

    def send_email(self, message: EmailMultiAlternatives) -> None:
        """Send one e-mail (text and HTML), in the e-mail task. Default: Django's e-mail backend."""
        message.send()


@lru_cache(maxsize=8)
def _load(path: str) -> Any:
    return import_string(path)()


def submit_policy() -> SubmitPolicy:
    return _load(app_settings.SUBMIT_POLICY)


def quota_policy() -> QuotaPolicy:
    return _load(app_settings.QUOTA_POLICY)


def notification_policy() -> NotificationPolicy:
    return _load(app_settings.NOTIFICATION_POLICY)
