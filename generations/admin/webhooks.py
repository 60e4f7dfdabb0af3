"""Webhook endpoints (staff may enable, disable, edit events) and their deliveries (read-only, send again)."""
from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.text import Truncator

from .. import words
from ..exceptions import GenerationError
from ..models import WebhookDelivery, WebhookEndpoint
from ..services.webhooks import endpoints as webhook_endpoints
from .readonly import ReadOnlyAdmin


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("url", "owner", "team", "enabled", "failing_since", "disabled_reason", "created_at")
    list_filter = ("enabled",)
    list_select_related = ("owner", "team")
    search_fields = ("url", "owner__username", "team__slug")
    # Secrets are never shown: only the member sees theirs, once, when it is made.
    exclude = ("secret", "previous_secret")
    readonly_fields = ("owner", "team", "url", "previous_secret_expires_at", "failing_since", "created_at")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # the target checks and the one-time secret live in the API's create flow


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "event_type", "message_id", "target", "status", "attempts", "last_status_code",
                    "last_latency_ms", "next_attempt_at")
    list_filter = ("status", "event_type")
    list_select_related = ("endpoint",)
    search_fields = ("message_id", "endpoint__url", "url")
    date_hierarchy = "created_at"
    actions = ["send_again"]

    @admin.display(description="Sent to", ordering="endpoint__url")
    def target(self, obj: WebhookDelivery) -> str:
        # Short and without a query string, so the list fits the page and no receiver token shows.
        url = obj.endpoint.url if obj.endpoint is not None else obj.url
        return Truncator(words.redact_urls(url)).chars(60)

    @admin.action(description="Send again (same webhook-id)")
    def send_again(self, request: HttpRequest, queryset) -> None:
        done, refused = 0, []
        for delivery in queryset.select_related("endpoint"):
            try:
                webhook_endpoints.resend_delivery(delivery=delivery)
                done += 1
            except GenerationError as exc:
                refused.append(f"{delivery.message_id}: {exc.message}")
        if done:
            self.message_user(request, f"{done} deliveries will be sent again shortly.", messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.WARNING)
