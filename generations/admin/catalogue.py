"""The catalogue: GMI's video models with the site's prices and order, and the "Sync now" button behind them."""
from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.safestring import SafeString

from ..gmi.errors import GMIConfigurationError, GMIError
from ..models import VideoModel
from ..services import catalogue
from .widgets import pretty_json


@admin.register(VideoModel)
class VideoModelAdmin(admin.ModelAdmin):
    list_display = ("id", "enabled", "available", "price_credits", "price_unit", "position", "jobs", "synced")
    list_editable = ("enabled", "price_credits", "price_unit", "position")
    list_filter = ("enabled", "available", "api", "price_unit")
    search_fields = ("id", "display_name", "brief_description")
    ordering = ("position", "id")
    readonly_fields = ("id", "api", "available", "brief_description", "detailed_description", "modalities_json",
                       "parameters_json", "synced_at", "created_at")
    fieldsets = (
        (None, {"fields": ("id", "display_name", "enabled", "available", "position")}),
        ("Price", {"fields": ("price_credits", "price_unit"),
                   "description": "Credits a job costs, per job or per second of requested video."}),
        ("From GMI's catalogue", {"fields": ("api", "brief_description", "detailed_description", "modalities_json",
                                             "parameters_json", "synced_at", "created_at")}),
    )

    class Media:
        css = {"all": ("generations/admin.css",)}

    def get_changelist_form(self, request, **kwargs):
        form = super().get_changelist_form(request, **kwargs)

        class LabelledRowForm(form):
            """Each editable cell named for readers (the column heading is not a label): "Veo3: price"."""

            def __init__(self, *args, **kw):
                super().__init__(*args, **kw)
                for name, field in self.fields.items():
                    label = f"{self.instance.pk}: {field.label or name}" if self.instance.pk else str(field.label)
                    field.widget.attrs["aria-label"] = label

        return LabelledRowForm

    def has_add_permission(self, request) -> bool:
        return False  # models come from GMI's catalogue ("Sync now")

    def get_queryset(self, request) -> QuerySet[Any]:
        return super().get_queryset(request).annotate(job_count=Count("generations"))

    @admin.display(description="Synced", ordering="synced_at")
    def synced(self, obj: VideoModel) -> str:
        return timezone.localtime(obj.synced_at).strftime("%b %d") if obj.synced_at else "never"

    @admin.display(description="Jobs", ordering="job_count")
    def jobs(self, obj: VideoModel) -> int:
        return getattr(obj, "job_count", 0)

    @admin.display(description="Modalities")
    def modalities_json(self, obj: VideoModel) -> SafeString:
        return pretty_json(obj.modalities)

    @admin.display(description="Parameters (GMI's schema)")
    def parameters_json(self, obj: VideoModel) -> SafeString:
        return pretty_json(obj.parameters)

    def get_urls(self) -> list[URLPattern]:
        return [
            path("sync/", self.admin_site.admin_view(self.sync_view), name="generations_videomodel_sync"),
        ] + super().get_urls()

    def changelist_view(self, request, extra_context=None) -> HttpResponse:
        extra_context = dict(extra_context or {})
        if self.has_change_permission(request):
            extra_context["sync_url"] = reverse("admin:generations_videomodel_sync")
        return super().changelist_view(request, extra_context)

    def sync_view(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            raise PermissionDenied
        self.message_user(request, *sync_catalogue())
        return HttpResponseRedirect(reverse("admin:generations_videomodel_changelist"))


def sync_catalogue() -> tuple[str, int]:
    """Run the catalogue sync and say how it went, as (message, level) for ``message_user``."""
    try:
        counts = catalogue.sync_models()
    except GMIConfigurationError as exc:
        return f"GMI is not configured, so the catalogue was not synced: {exc}", messages.ERROR
    except GMIError as exc:
        return f"GMI could not be reached, so the catalogue was not synced: {exc}", messages.ERROR
    message = (
        f"Catalogue synced: {counts['added']} added, {counts['updated']} updated, "
        f"{counts['unavailable']} no longer offered"
    )
    if counts["failed"]:
        return message + f", {counts['failed']} could not be read (see the log).", messages.WARNING
    return message + ".", messages.SUCCESS
