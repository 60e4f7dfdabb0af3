"""Two-factor authentication, staff side: reset a member's second factor (lost phone), with an audit entry."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from allauth.mfa.models import Authenticator
from django.db import transaction

from generations.services.audit import Action, record_event


def reset_second_factor(*, user: Any, actor: Any, types: Sequence[str] | None = None) -> int:
    """Remove the member's authenticators (all, or only ``types``) so they can set two-factor up again.

    Returns how many were removed; the audit entry names the types, never a secret.
    """
    with transaction.atomic():
        authenticators = Authenticator.objects.filter(user=user)
        if types is not None:
            authenticators = authenticators.filter(type__in=list(types))
        removed_types = sorted(set(authenticators.values_list("type", flat=True)))
        removed, _ = authenticators.delete()
    if removed:
        record_event(action=Action.MFA_RESET, actor=actor, target=user, data={"types": removed_types})
    return removed
