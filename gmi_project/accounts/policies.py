"""The portal's policies for the generations app: a confirmed e-mail address before submitting or receiving e-mail."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from allauth.account.models import EmailAddress
from django.core.mail import EmailMultiAlternatives

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
        chosen = super().preferences_for(user_ids=user_ids, kind=kind)
        wanting_email = [uid for uid, (channel, _) in chosen.items() if channel == NotificationPreference.Channel.EMAIL]
        if not wanting_email:
            return chosen
        with_rows: set[Any] = set()
        verified: set[Any] = set()
        rows = EmailAddress.objects.filter(user_id__in=wanting_email).values_list("user_id", "verified")
        for uid, is_verified in rows:
            with_rows.add(uid)
            if is_verified:
                verified.add(uid)
        for uid in wanting_email:
            if uid in with_rows and uid not in verified:
                chosen[uid] = (NotificationPreference.Channel.IN_APP, chosen[uid][1])
        return chosen

    def send_email(self, message: EmailMultiAlternatives) -> None:
        # A second look at send time: the address may have changed since the notification was recorded.
        recipients = [address for address in message.to if _may_receive(address)]
        if recipients:
            message.to = recipients
            super().send_email(message)


def _may_receive(address: str) -> bool:
    rows = list(EmailAddress.objects.filter(email__iexact=address).values_list("verified", flat=True))
    return not rows or any(rows)
