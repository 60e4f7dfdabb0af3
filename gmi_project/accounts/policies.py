"""The portal's policies for the generations app: a confirmed e-mail address before submitting or receiving e-mail."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db.models import Exists, OuterRef, Subquery

from generations.conf import app_settings
from generations.exceptions import NotAllowed
from generations.models import NotificationPreference
from generations.policies import NotificationPolicy, SubmitPolicy

UNVERIFIED_MESSAGE = ("Confirm your e-mail address first: open the link we sent you "
                      "(or send a new one from your account's e-mail page), then submit again.")


def has_unconfirmed_email(user: Any) -> bool:
    """Whether the account signed up with an address it has not confirmed yet.

    Accounts that staff or the operator create (the admin, ``createsuperuser``,
    ``create_user``) have no allauth address rows and count as confirmed; an account with
    rows needs one of them verified.
    """
    if not getattr(user, "pk", None):
        return False
    states = list(EmailAddress.objects.filter(user_id=user.pk).values_list("verified", flat=True))
    return bool(states) and not any(states)


class VerifiedEmailSubmitPolicy(SubmitPolicy):
    """The app's rule (active, approved) plus: a self-registered account has confirmed its address."""

    def check_submit(self, *, user: Any, model: Any, team: Any | None) -> None:
        super().check_submit(user=user, model=model, team=team)
        if has_unconfirmed_email(user):
            raise NotAllowed(UNVERIFIED_MESSAGE, code="email_unverified")


class VerifiedEmailNotificationPolicy(NotificationPolicy):
    """E-mail only to confirmed addresses: until then the bell carries what an e-mail would have."""

    def preferences_for(self, *, user_ids: Sequence[Any], kind: str) -> dict[Any, tuple[str, bool]]:
        """As the app's (their choice, else ``NOTIFICATION_DEFAULTS``), with e-mail turned into the bell for
        members whose address is not confirmed; still one query, as this runs for every event."""
        default = str(app_settings.NOTIFICATION_DEFAULTS.get(kind, NotificationPreference.Channel.IN_APP))
        chosen = NotificationPreference.objects.filter(user_id=OuterRef("pk"), kind=kind)
        addresses = EmailAddress.objects.filter(user_id=OuterRef("pk"))
        rows = get_user_model()._default_manager.filter(pk__in=list(user_ids)).annotate(
            channel=Subquery(chosen.values("channel")[:1]), digest=Subquery(chosen.values("digest")[:1]),
            has_address=Exists(addresses), has_confirmed=Exists(addresses.filter(verified=True)),
        ).values_list("pk", "channel", "digest", "has_address", "has_confirmed")
        found: dict[Any, tuple[str, bool]] = {}
        for pk, channel, digest, has_address, has_confirmed in rows:
            channel = channel or default
            if channel == NotificationPreference.Channel.EMAIL and has_address and not has_confirmed:
                channel = NotificationPreference.Channel.IN_APP
            found[pk] = (channel, bool(digest))
        return {user_id: found.get(user_id, (default, False)) for user_id in user_ids}

    def send_email(self, message: EmailMultiAlternatives) -> None:
        # A second look at send time: the address may have changed since the notification was recorded.
        recipients = [address for address in message.to if _may_receive(address)]
        if recipients:
            message.to = recipients
            super().send_email(message)


def _may_receive(address: str) -> bool:
    rows = list(EmailAddress.objects.filter(email__iexact=address).values_list("verified", flat=True))
    return not rows or any(rows)
