"""The Generation admin: the job list, the change page with its history and buttons, and the bulk actions.

Every action parses input, calls one service per object and reports what happened;
no state changes here. Nothing on these pages may show the GMI key or an API
token's key (only its prefix).
"""
from __future__ import annotations

import uuid
from typing import Any

from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator

from ..charts import STATUS_COLORS
from ..models import Flag, Generation
from ..services import staff
from . import system, usage
from .actions import run_each, tell
from .filters import OpenFlagsFilter
from .generation_actions import GENERATION_ACTIONS, RejectForm, reject_action
from .ledger import LedgerInline
from .moderation import FlagInline, ModerationDecisionInline
from .widgets import (
    app_url,
    badge,
    human_duration,
    human_size,
    link_to,
    moderation_badge,
    pretty_json,
    short_id,
    status_badge,
)

S = Generation.Status
M = Generation.Moderation
User = get_user_model()

# The change page's button for each of staff.ACTIONS; "reject" opens a page asking for the reason.
BUTTONS: dict[str, dict[str, Any]] = {
    "approve": {"label": "Approve", "method": "post"},
    "reject": {"label": "Reject…", "method": "get", "danger": True},
    "retry": {"label": "Retry", "method": "post"},
    "cancel": {"label": "Cancel job", "method": "post", "danger": True},
    "remirror": {"label": "Re-mirror", "method": "post"},
    "refund": {"label": "Refund usage", "method": "post"},
}


@admin.register(Generation)
class GenerationAdmin(admin.ModelAdmin):
    list_display = (
        "thumbnail", "summary", "owner_and_team", "model", "status_display", "created",
    )
    list_display_links = ("thumbnail", "summary")
    list_filter = (
        "status", "model", "team", "moderation", OpenFlagsFilter, "visibility",
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = ("prompt", f"owner__{User.USERNAME_FIELD}", "upstream_request_id")
    search_help_text = "Prompt, owner, GMI request id, or a generation's full id."
    list_select_related = ("owner", "team", "model")
    list_per_page = 50
    show_full_result_count = False  # one COUNT(*) less on every page
    ordering = ("-created_at",)
    actions = (
        "approve_selected", "reject_selected", "retry_selected", "cancel_selected", "remirror_selected",
        "refund_selected",
    )
    inlines = (LedgerInline, ModerationDecisionInline, FlagInline)
    fieldsets = (
        (None, {"fields": ("video_player", "prompt", "current_status", "error_display", "moderation_display",
                           "moderation_reason")}),
        ("Job", {"fields": ("id", "owner_link", "team_link", "visibility", "model_link", "rerun_of_link", "attempt",
                            "created_at", "dispatched_at", "finished_at", "duration_display")}),
        ("Quota", {"fields": ("video_seconds", "credits")}),
        ("History", {"fields": ("timeline",)}),
        ("Payload", {"fields": ("payload_json",)}),
        ("Upstream (GMI)", {"classes": ("collapse",), "fields": (
            "api", "upstream_request_id", "upstream_status", "send_started_at", "send_attempts",
            "upstream_finished_at", "next_check_at", "send_lease_until", "poll_failures", "upstream_response_json",
        )}),
        ("Files", {"classes": ("collapse",), "fields": (
            "outcome_video_url", "outcome_thumbnail_url", "mirror_started_at", "mirror_lease_until", "mirror_attempts",
            "video_name", "video_size_display", "video_content_type", "video_sha256",
            "thumbnail_name", "thumbnail_size_display", "thumbnail_content_type", "thumbnail_sha256",
            "deleted_at",
        )}),
    )

    class Media:
        css = {"all": ("generations/admin.css",)}

    # Staff never edit a job by hand: it moves only through the actions (and the services).
    def get_readonly_fields(self, request, obj=None) -> list[str]:
        names: list[Any] = []  # the fieldsets name single fields only
        for _, options in self.fieldsets:
            names.extend(options["fields"])
        return names

    def has_add_permission(self, request) -> bool:
        return False  # jobs are submitted by members, through the quota checks

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the ledger refers to every job; owners delete softly, staff reject

    def get_queryset(self, request) -> QuerySet[Any]:
        open_flags = (
            Flag.objects.filter(generation=OuterRef("pk"), resolved_at__isnull=True)
            .order_by().values("generation").annotate(n=Count("pk")).values("n")
        )
        return super().get_queryset(request).annotate(open_flags=Coalesce(Subquery(open_flags), 0))

    def get_search_results(self, request, queryset, search_term) -> tuple[QuerySet[Any], bool]:
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        try:
            pk = uuid.UUID(search_term.strip())
        except ValueError:
            return results, may_have_duplicates
        return results | queryset.filter(pk=pk), may_have_duplicates

    # ----- list columns

    @admin.display(description="")
    def thumbnail(self, obj: Generation) -> SafeString:
        url = app_url("generations:api:generation-thumbnail", obj.pk) if obj.thumbnail_name else None
        if url:
            return format_html(
                '<img class="gmi-thumb" src="{}" alt="Thumbnail" loading="lazy" width="64" height="36">', url)
        return format_html('<span class="gmi-thumb gmi-thumb-empty" title="{}"></span>',
                           "No thumbnail" if obj.status == S.SUCCEEDED else obj.get_status_display())

    @admin.display(description="Generation", ordering="prompt")
    def summary(self, obj: Generation) -> SafeString:
        flags = ""
        if getattr(obj, "open_flags", 0):
            flags = format_html(' <span class="gmi-flag" title="Open flags">⚑ {}</span>', obj.open_flags)  # type: ignore[attr-defined]  # annotated by get_queryset
        prompt = Truncator(obj.prompt or "(no prompt)").chars(70)
        return format_html('<span class="gmi-prompt">{}</span>{}<br><code class="gmi-muted">{}</code>',
                           prompt, flags, short_id(obj))

    @admin.display(description="Owner", ordering=f"owner__{User.USERNAME_FIELD}")
    def owner_and_team(self, obj: Generation) -> SafeString:
        team = obj.team.name if obj.team is not None else "personal"
        return format_html('{}<br><span class="gmi-muted">{}</span>', obj.owner, team)

    @admin.display(description="Status", ordering="status")
    def status_display(self, obj: Generation) -> SafeString:
        # The moderation badge only when someone decided or must decide, to keep the list calm.
        if obj.moderation == M.NONE:
            return status_badge(obj)
        return format_html("{}<br>{}", status_badge(obj), moderation_badge(obj))

    @admin.display(description="Status")
    def current_status(self, obj: Generation) -> SafeString:
        return status_badge(obj)

    @admin.display(description="Moderation", ordering="moderation")
    def moderation_display(self, obj: Generation) -> SafeString:
        return moderation_badge(obj)

    @admin.display(description="Created", ordering="created_at")
    def created(self, obj: Generation) -> SafeString:
        local = timezone.localtime(obj.created_at)
        return format_html('<time datetime="{}" title="{}">{}</time><br><span class="gmi-muted">{}</span>',
                           obj.created_at.isoformat(), local.strftime("%Y-%m-%d %H:%M:%S %Z"),
                           local.strftime("%b %d, %H:%M"), self.duration_display(obj))

    @admin.display(description="Duration")
    def duration_display(self, obj: Generation) -> str:
        if obj.finished_at:
            return human_duration(obj.finished_at - obj.created_at)
        if obj.is_active:
            return f"{human_duration(timezone.now() - obj.created_at)} so far"
        return "—"

    # ----- change page sections

    @admin.display(description="Video")
    def video_player(self, obj: Generation) -> SafeString:
        if obj.has_video:
            video = app_url("generations:api:generation-video", obj.pk)
            poster = app_url("generations:api:generation-thumbnail", obj.pk) if obj.thumbnail_name else None
            if video:
                return format_html(
                    '<video class="gmi-player" controls preload="metadata" src="{}"{}></video>'
                    '<div><a href="{}" download>Download</a> · {} · {}</div>',
                    video, format_html(' poster="{}"', poster) if poster else "", video,
                    human_size(obj.video_size), obj.video_content_type or "video",
                )
            return format_html('<span class="gmi-muted">{}</span>', "The video endpoint is not mounted on this site.")
        if obj.deleted_at:
            return format_html('<span class="gmi-muted">{}</span>', "Deleted by its owner.")
        return format_html('<span class="gmi-muted">No video yet ({}).</span>', obj.get_status_display().lower())

    @admin.display(description="Error")
    def error_display(self, obj: Generation) -> SafeString | str:
        if not obj.error:
            return "—"
        code = format_html(" <code>{}</code>", obj.error_code) if obj.error_code else ""
        return format_html('<span class="gmi-error">{}</span>{}', obj.error, code)

    @admin.display(description="Owner")
    def owner_link(self, obj: Generation) -> SafeString | str:
        return link_to(obj.owner)

    @admin.display(description="Team")
    def team_link(self, obj: Generation) -> SafeString | str:
        return link_to(obj.team)

    @admin.display(description="Model")
    def model_link(self, obj: Generation) -> SafeString | str:
        return link_to(obj.model, obj.model_id)

    @admin.display(description="Re-run of")
    def rerun_of_link(self, obj: Generation) -> SafeString | str:
        return link_to(obj.rerun_of, short_id(obj.rerun_of)) if obj.rerun_of is not None else "—"

    @admin.display(description="Payload sent to GMI")
    def payload_json(self, obj: Generation) -> SafeString:
        return pretty_json(obj.payload)

    @admin.display(description="GMI's last answer")
    def upstream_response_json(self, obj: Generation) -> SafeString:
        return pretty_json(obj.upstream_response)

    @admin.display(description="Video size")
    def video_size_display(self, obj: Generation) -> str:
        return human_size(obj.video_size)

    @admin.display(description="Thumbnail size")
    def thumbnail_size_display(self, obj: Generation) -> str:
        return human_size(obj.thumbnail_size)

    @admin.display(description="Status history")
    def timeline(self, obj: Generation) -> SafeString:
        events = list(obj.events.select_related("actor").order_by("created_at", "id"))
        if not events:
            return format_html('<span class="gmi-muted">{}</span>', "No history recorded.")
        items = []
        for event in events:
            if event.from_status == event.to_status:
                change = format_html('<span class="gmi-muted">{}</span>', "note")
            else:
                change = format_html(
                    "{} → {}", event.from_status or "∅",
                    badge(S(event.to_status).label if event.to_status in S.values else event.to_status,
                          STATUS_COLORS.get(event.to_status, "#64748b")),
                )
            actor = format_html(" · by {}", event.actor) if event.actor_id else ""
            items.append(format_html(
                '<li><time datetime="{}">{}</time> <span class="gmi-change">{}</span>{}'
                '<div class="gmi-note">{}</div></li>',
                event.created_at.isoformat(), timezone.localtime(event.created_at).strftime("%Y-%m-%d %H:%M:%S"),
                change, actor, event.note,
            ))
        # Each item went through format_html, so joining them keeps everything escaped.
        return format_html('<ol class="gmi-timeline">{}</ol>', mark_safe("".join(items)))

    # ----- buttons on the change page, and the views behind them

    def get_urls(self) -> list[URLPattern]:
        app_label, model_name = self.opts.app_label, self.opts.model_name
        return [
            path("usage/", self.admin_site.admin_view(self.usage_view), name="generations_usage"),
            path("system/", self.admin_site.admin_view(self.system_view), name="generations_system"),
            path("<path:object_id>/reject/", self.admin_site.admin_view(self.reject_view),
                 name=f"{app_label}_{model_name}_reject"),
            path("<path:object_id>/do/<str:action>/", self.admin_site.admin_view(self.action_view),
                 name=f"{app_label}_{model_name}_do"),
        ] + super().get_urls()

    def usage_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return usage.usage_page(request, admin_site=self.admin_site)

    def system_view(self, request: HttpRequest) -> HttpResponse:
        return system.system_page(request, admin_site=self.admin_site)

    def _buttons(self, request: HttpRequest, obj: Generation) -> list[dict[str, Any]]:
        if not self.has_change_permission(request, obj):
            return []
        buttons = []
        for action in staff.actions_for(obj):
            url = (reverse("admin:generations_generation_reject", args=[obj.pk]) if action == "reject"
                   else reverse("admin:generations_generation_do", args=[obj.pk, action]))
            buttons.append({**BUTTONS[action], "url": url})
        return buttons

    def change_view(self, request, object_id, form_url="", extra_context=None) -> HttpResponse:
        extra_context = dict(extra_context or {})
        obj = self.get_object(request, object_id)
        if obj is not None:
            extra_context["generation_buttons"] = self._buttons(request, obj)
        extra_context.update(show_save=False, show_save_and_continue=False, show_save_and_add_another=False)
        return super().change_view(request, object_id, form_url, extra_context)

    def _get_for_action(self, request: HttpRequest, object_id: str) -> Generation:
        obj = self.get_object(request, object_id)
        if obj is None:
            raise Http404("No such generation.")
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        return obj

    def _back(self, obj: Generation) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:generations_generation_change", args=[obj.pk]))

    def action_view(self, request: HttpRequest, object_id: str, action: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if action not in GENERATION_ACTIONS:
            raise Http404("No such action.")
        obj = self._get_for_action(request, object_id)
        did, factory = GENERATION_ACTIONS[action]
        report = run_each([obj], factory(request.user), label=short_id)
        tell(self, request, report, did=did, noun=("generation", "generations"))
        return self._back(obj)

    def reject_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        obj = self._get_for_action(request, object_id)
        form = RejectForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            report = run_each([obj], reject_action(request.user, form.cleaned_data["reason"]), label=short_id)
            tell(self, request, report, did="Rejected", noun=("generation", "generations"))
            return self._back(obj)
        return self._reject_page(request, [obj], form, single=True)

    def _reject_page(self, request: HttpRequest, generations: Any, form: RejectForm, *,
                     single: bool) -> TemplateResponse:
        generations = list(generations)
        context = {
            **self.admin_site.each_context(request),
            "title": "Reject " + ("this generation" if single else f"{len(generations)} generations"),
            "subtitle": None,
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "generations": generations,
            "form": form,
            "single": single,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media,
            "original": generations[0] if single and generations else None,
        }
        return TemplateResponse(request, "admin/generations/generation/reject.html", context)

    # ----- bulk actions

    def _bulk(self, request: HttpRequest, queryset: QuerySet[Generation], action: str) -> None:
        did, factory = GENERATION_ACTIONS[action]
        report = run_each(queryset.order_by("created_at"), factory(request.user), label=short_id)
        tell(self, request, report, did=did, noun=("generation", "generations"))

    @admin.action(description="Approve selected generations", permissions=["change"])
    def approve_selected(self, request, queryset) -> None:
        self._bulk(request, queryset, "approve")

    @admin.action(description="Reject selected generations (asks for a reason)…", permissions=["change"])
    def reject_selected(self, request, queryset) -> TemplateResponse | None:
        form = RejectForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            report = run_each(queryset.order_by("created_at"), reject_action(request.user, form.cleaned_data["reason"]),
                              label=short_id)
            tell(self, request, report, did="Rejected", noun=("generation", "generations"))
            return None  # back to the list
        return self._reject_page(request, queryset.order_by("created_at").select_related("owner", "model"), form,
                                 single=False)

    @admin.action(description="Retry selected failed jobs", permissions=["change"])
    def retry_selected(self, request, queryset) -> None:
        self._bulk(request, queryset, "retry")

    @admin.action(description="Cancel selected jobs", permissions=["change"])
    def cancel_selected(self, request, queryset) -> None:
        self._bulk(request, queryset, "cancel")

    @admin.action(description="Re-mirror selected videos into storage", permissions=["change"])
    def remirror_selected(self, request, queryset) -> None:
        self._bulk(request, queryset, "remirror")

    @admin.action(description="Refund the usage of selected ended jobs", permissions=["change"])
    def refund_selected(self, request, queryset) -> None:
        self._bulk(request, queryset, "refund")
