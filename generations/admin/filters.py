"""List filters shared by the admins: open flags, and empty/set state fields."""
from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Exists, OuterRef, QuerySet

from ..models import Flag


class OpenFlagsFilter(admin.SimpleListFilter):
    title = "open flags"
    parameter_name = "flagged"

    def lookups(self, request, model_admin) -> list[tuple[str, str]]:
        return [("yes", "Has open flags"), ("no", "No open flags")]

    def queryset(self, request, queryset) -> QuerySet[Any]:
        open_flags = Flag.objects.filter(generation=OuterRef("pk"), resolved_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(Exists(open_flags))
        if self.value() == "no":
            return queryset.exclude(Exists(open_flags))
        return queryset


def null_state_filter(field: str, *, unset: tuple[str, str], set_: tuple[str, str]) -> type[admin.SimpleListFilter]:
    """A two-state list filter on whether ``field`` is empty (open/resolved, active/revoked)."""

    class NullStateFilter(admin.SimpleListFilter):
        title = "state"
        parameter_name = "state"

        def lookups(self, request, model_admin) -> list[tuple[str, str]]:
            return [unset, set_]

        def queryset(self, request, queryset) -> QuerySet[Any]:
            if self.value() in (unset[0], set_[0]):
                return queryset.filter(**{f"{field}__isnull": self.value() == unset[0]})
            return queryset

    return NullStateFilter


FlagStateFilter = null_state_filter("resolved_at", unset=("open", "Open"), set_=("resolved", "Resolved"))
TokenStateFilter = null_state_filter("revoked_at", unset=("active", "Active"), set_=("revoked", "Revoked"))
