"""Staff views of share links (revocable at once), batches and collections."""
from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.utils import timezone

from ..models import Batch, Collection, ShareLink


@admin.register(ShareLink)
class ShareLinkAdmin(admin.ModelAdmin):
    """Who shared what, until when, how often it was opened; the token itself is never stored."""

    list_display = ("generation", "created_by", "created_at", "expires_at", "revoked_at", "views", "live")
    list_filter = ("revoked_at",)
    search_fields = ("generation__id", "created_by__username")
    raw_id_fields = ("generation", "created_by")
    readonly_fields = ("generation", "created_by", "token_hash", "created_at", "views", "last_viewed_at")
    actions = ("revoke",)

    def has_add_permission(self, request: Any) -> bool:
        return False  # a link is made by its video's owner, who alone sees its URL

    @admin.display(boolean=True, description="Opens now")
    def live(self, obj: ShareLink) -> bool:
        return obj.is_live

    @admin.action(description="Revoke the selected links")
    def revoke(self, request: Any, queryset: QuerySet[ShareLink]) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"{count} links revoked.", messages.SUCCESS)


@admin.register(Batch)
class BatchAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "kind", "size", "team", "created_at")
    list_filter = ("kind",)
    search_fields = ("id", "owner__username")
    raw_id_fields = ("owner", "team")
    readonly_fields = ("owner", "team", "kind", "size", "idempotency_key", "request_hash", "created_at")

    def has_add_permission(self, request: Any) -> bool:
        return False


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "team", "created_at")
    search_fields = ("name", "owner__username")
    raw_id_fields = ("owner", "team")
