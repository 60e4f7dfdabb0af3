"""Reads of a member's account: their usable API tokens and their data exports."""
from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from ..exceptions import NotFound
from ..models import ApiToken, DataExport
from ..types import User


def usable_tokens(user: User) -> QuerySet[ApiToken]:
    """The user's tokens that are neither revoked nor expired."""
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))


def export_of(*, user: User, export_id: Any) -> DataExport:
    """``user``'s export ``export_id``; NotFound for anyone else's or a malformed id."""
    try:
        return DataExport.objects.get(pk=uuid.UUID(str(export_id)), user=user)
    except (ValueError, DataExport.DoesNotExist):
        raise NotFound("No such export.") from None
