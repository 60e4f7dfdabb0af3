"""The ledger (reservations, charges, refunds) and the usage counters: read-only, the quota services write them."""
from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.utils.safestring import SafeString

from ..models import LedgerEntry, UsageCounter
from .readonly import ReadOnlyAdmin, ReadOnlyInline
from .widgets import link_to, short_id

User = get_user_model()


class LedgerInline(ReadOnlyInline):
    model = LedgerEntry
    verbose_name_plural = "ledger (reservations, charges, refunds)"
    fields = ("created_at", "attempt", "kind", "subject", "metric", "period", "amount", "note")
    readonly_fields = fields
    ordering = ("created_at", "id")


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "generation_link", "subject_display", "kind", "metric", "period", "amount",
                    "attempt", "note")
    list_filter = ("kind", "metric", "period")
    list_select_related = ("generation", "user", "team")
    search_fields = ("note", "subject", f"user__{User.USERNAME_FIELD}", "team__slug")
    date_hierarchy = "created_at"

    @admin.display(description="Generation", ordering="generation")
    def generation_link(self, obj: LedgerEntry) -> SafeString | str:
        return link_to(obj.generation, short_id(obj.generation))

    @admin.display(description="Counter", ordering="subject")
    def subject_display(self, obj: LedgerEntry) -> str:
        if obj.subject.startswith("team:"):
            return f"team {obj.team}" if obj.team_id else obj.subject
        return f"user {obj.user}" if obj.user_id else obj.subject


@admin.register(UsageCounter)
class UsageCounterAdmin(ReadOnlyAdmin):
    list_display = ("subject", "metric", "period", "used")
    list_filter = ("metric", "period")
    list_select_related = ("user", "team")
    search_fields = (f"user__{User.USERNAME_FIELD}", "team__slug")

    @admin.display(description="User or team")
    def subject(self, obj: UsageCounter) -> str:
        return f"team {obj.team}" if obj.team_id else f"user {obj.user}"
