"""Admins and inlines staff only read: the services alone write these rows."""
from __future__ import annotations

from django.contrib import admin


class ReadOnly:
    """No adding, changing or deleting from the admin, whatever the staff account's permissions."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyInline(ReadOnly, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False


class ReadOnlyAdmin(ReadOnly, admin.ModelAdmin):
    """Staff read these; only the services write them."""
