"""Admin of second factors: staff can reset a member's two-factor authentication (with an audit entry)."""
from __future__ import annotations

from typing import Any

from allauth.mfa.admin import AuthenticatorAdmin as AllauthAuthenticatorAdmin
from allauth.mfa.models import Authenticator
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from . import mfa

admin.site.unregister(Authenticator)


@admin.register(Authenticator)
class AuthenticatorAdmin(AllauthAuthenticatorAdmin):
    """allauth's list, but deleting goes through ``mfa.reset_second_factor`` so every reset is audited."""

    actions = ("reset_second_factor",)
    search_fields = ("user__username", "user__email")

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # replaced by the audited reset
        return actions

    @admin.action(description="Reset the second factor of the selected members", permissions=["delete"])
    def reset_second_factor(self, request: HttpRequest, queryset: QuerySet[Authenticator]) -> None:
        users = {authenticator.user for authenticator in queryset.select_related("user")}
        for user in users:
            mfa.reset_second_factor(user=user, actor=request.user)
        self.message_user(request, f"Two-factor authentication was reset for {len(users)} member(s); "
                                   "they log in with their password alone until they set it up again.",
                          messages.SUCCESS)

    def delete_model(self, request: HttpRequest, obj: Authenticator) -> None:
        mfa.reset_second_factor(user=obj.user, actor=request.user, types=[obj.type])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Authenticator]) -> None:
        for authenticator in queryset.select_related("user"):
            mfa.reset_second_factor(user=authenticator.user, actor=request.user, types=[authenticator.type])
