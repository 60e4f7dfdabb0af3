"""The staff's cockpit: generations with moderation and lifecycle actions, catalogue, teams, quotas, ledger.

Every action parses input, calls one service per object and reports what happened;
no state changes here. Nothing on these pages may show the GMI key or an API
token's key (only its prefix).
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator

from . import admin_views, permissions
from .charts import STATUS_COLORS
from .exceptions import GenerationError
from .models import (
    ApiToken,
    BlockedTerm,
    Flag,
    Generation,
    LedgerEntry,
    Membership,
    ModerationDecision,
    Team,
    UsageCounter,
    UserProfile,
    VideoModel,
)
from .services import accounts, mirroring, moderation, quotas, submissions, tokens

S = Generation.Status
M = Generation.Moderation
User = get_user_model()

MODERATION_COLORS = {
    M.NONE: "#64748b",
    M.PENDING: "#d97706",
    M.APPROVED: "#16a34a",
    M.REJECTED: "#dc2626",
}


# --------------------------------------------------------------------------- helpers


def app_url(name: str, *args: Any) -> str | None:
    """A URL of the app's own views, or None when the host did not mount them."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def admin_change_url(obj: Any) -> str | None:
    if obj is None:
        return None
    try:
        return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return None


def link_to(obj: Any, text: Any = None) -> SafeString | str:
    if obj is None:
        return "—"
    url = admin_change_url(obj)
    label = str(obj) if text is None else text
    return format_html('<a href="{}">{}</a>', url, label) if url else label


def badge(label: str, color: str) -> SafeString:
    # A class per palette colour (admin.css), not a style attribute: the CSP allows no inline styles.
    return format_html('<span class="gmi-badge gmi-badge--{}">{}</span>', color.lstrip("#").lower(), label)


def status_badge(generation: Generation) -> SafeString:
    return badge(generation.get_status_display(), STATUS_COLORS.get(generation.status, "#64748b"))


def moderation_badge(generation: Generation) -> SafeString:
    return badge(generation.get_moderation_display(), MODERATION_COLORS.get(generation.moderation, "#64748b"))


def pretty_json(value: Any) -> SafeString:
    if value in (None, "", {}, []):
        return format_html('<span class="gmi-muted">{}</span>', "empty")
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    return format_html('<pre class="gmi-json">{}</pre>', text)


def human_duration(delta: timedelta | None) -> str:
    if delta is None:
        return "—"
    seconds = int(max(delta.total_seconds(), 0))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def human_size(size: int | None) -> str:
    if not size:
        return "—"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def short_id(generation: Generation) -> str:
    return str(generation.pk)[:8]


# --------------------------------------------------------------------------- action plumbing


@dataclass
class ActionReport:
    """What one action did: how many objects it changed, and why it left the others alone."""

    done: int = 0
    skipped: dict[str, list[str]] = field(default_factory=dict)

    def skip(self, obj_label: str, reason: str) -> None:
        self.skipped.setdefault(reason, []).append(obj_label)

    @property
    def skipped_count(self) -> int:
        return sum(len(labels) for labels in self.skipped.values())


def run_each(objects: Any, fn: Callable[[Any], str | None], *, label: Callable[[Any], str]) -> ActionReport:
    """Call ``fn`` on each object; it returns None when done, or a reason to skip. Errors of
    the app become skip reasons, so one object's refusal never stops the others."""
    report = ActionReport()
    for obj in objects:
        try:
            reason = fn(obj)
        except GenerationError as exc:
            reason = exc.message
        if reason:
            report.skip(label(obj), reason)
        else:
            report.done += 1
    return report


def tell(model_admin: admin.ModelAdmin, request: HttpRequest, report: ActionReport, *, did: str,
         noun: tuple[str, str]) -> None:
    """One message per action: the successes, then each distinct reason for skipping with the objects."""
    singular, plural = noun
    parts = []
    if report.done:
        parts.append(f"{did} {report.done} {singular if report.done == 1 else plural}.")
    elif not report.skipped:
        parts.append("Nothing was selected.")
    if report.skipped:
        details = []
        for reason, labels in report.skipped.items():
            shown = ", ".join(labels[:5]) + (f" and {len(labels) - 5} more" if len(labels) > 5 else "")
            details.append(f"{reason.rstrip('.')} ({shown})")
        n = report.skipped_count
        parts.append(f"Skipped {n} {singular if n == 1 else plural}: " + "; ".join(details) + ".")
    if report.done and not report.skipped:
        level = messages.SUCCESS
    elif report.done:
        level = messages.WARNING
    else:
        level = messages.ERROR if report.skipped else messages.INFO
    model_admin.message_user(request, " ".join(parts), level)


# --------------------------------------------------------------------------- generation actions


class RejectForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}), max_length=2000,
        help_text="The owner sees this reason next to their removed video.",
    )


def _approve(user: Any) -> Callable[[Generation], str | None]:
    def approve(generation: Generation) -> str | None:
        if generation.moderation == M.APPROVED:
            return "already approved"
        moderation.moderate_generation(generation=generation, moderator=user, decision="approve")
        return None

    return approve


def _reject(user: Any, reason: str) -> Callable[[Generation], str | None]:
    def reject(generation: Generation) -> str | None:
        if generation.moderation == M.REJECTED:
            return "already rejected"
        moderation.moderate_generation(generation=generation, moderator=user, decision="reject", reason=reason)
        return None

    return reject


def _retry(user: Any) -> Callable[[Generation], str | None]:
    def retry(generation: Generation) -> str | None:
        if generation.status != S.FAILED:
            return "only failed jobs can be retried"
        submissions.retry_generation(generation=generation, actor=user)
        return None

    return retry


def _cancel(user: Any) -> Callable[[Generation], str | None]:
    def cancel(generation: Generation) -> str | None:
        if generation.status not in (S.QUEUED, *Generation.AT_UPSTREAM):
            return "only queued, dispatched or processing jobs can be cancelled"
        submissions.cancel_generation(generation=generation, actor=user)
        return None

    return cancel


def _remirror(user: Any) -> Callable[[Generation], str | None]:
    def remirror(generation: Generation) -> str | None:
        if generation.status != S.SUCCEEDED:
            return "only succeeded jobs can be re-mirrored"
        if not generation.outcome_video_url:
            # Without GMI's outcome URL the copy could only fail, and failing refunds the job.
            return "GMI's outcome URL is not known, so there is nothing to copy from"
        mirroring.remirror_generation(generation=generation, actor=user)
        return None

    return remirror


def _refund(user: Any) -> Callable[[Generation], str | None]:
    def refund(generation: Generation) -> str | None:
        if not generation.is_terminal:
            return "only ended jobs can be refunded (cancel it first)"
        if not quotas.refund_by_staff(generation=generation, actor=user):
            return "nothing left to refund (already refunded)"
        return None

    return refund


GENERATION_ACTIONS: dict[str, tuple[str, Callable[[Any], Callable[[Generation], str | None]]]] = {
    # name: (past tense for the message, factory taking the acting user)
    "approve": ("Approved", _approve),
    "retry": ("Retried", _retry),
    "cancel": ("Cancelled", _cancel),
    "remirror": ("Started re-mirroring", _remirror),
    "refund": ("Refunded", _refund),
}


# --------------------------------------------------------------------------- list filters


class OpenFlagsFilter(admin.SimpleListFilter):
    title = "open flags"
    parameter_name = "flagged"

    def lookups(self, request, model_admin):
        return [("yes", "Has open flags"), ("no", "No open flags")]

    def queryset(self, request, queryset):
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

        def lookups(self, request, model_admin):
            return [unset, set_]

        def queryset(self, request, queryset):
            if self.value() in (unset[0], set_[0]):
                return queryset.filter(**{f"{field}__isnull": self.value() == unset[0]})
            return queryset

    return NullStateFilter


FlagStateFilter = null_state_filter("resolved_at", unset=("open", "Open"), set_=("resolved", "Resolved"))
TokenStateFilter = null_state_filter("revoked_at", unset=("active", "Active"), set_=("revoked", "Revoked"))


# --------------------------------------------------------------------------- read-only inlines


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class LedgerInline(ReadOnlyInline):
    model = LedgerEntry
    verbose_name_plural = "ledger (reservations, charges, refunds)"
    fields = ("created_at", "attempt", "kind", "subject", "metric", "period", "amount", "note")
    readonly_fields = fields
    ordering = ("created_at", "id")


class ModerationDecisionInline(ReadOnlyInline):
    model = ModerationDecision
    verbose_name_plural = "moderation decisions"
    fields = ("created_at", "decision", "moderator", "reason")
    readonly_fields = fields


class FlagInline(ReadOnlyInline):
    model = Flag
    fk_name = "generation"
    verbose_name_plural = "flags"
    fields = ("created_at", "reporter", "reason", "resolved_at", "resolved_by")
    readonly_fields = fields


# --------------------------------------------------------------------------- generations


@admin.register(Generation)
class GenerationAdmin(admin.ModelAdmin):
    list_display = (
        "thumbnail", "summary", "owner_and_team", "model", "status_display", "created",
    )
    list_display_links = ("thumbnail", "summary")
    list_filter = (
        "status", "model", "team", "moderation", OpenFlagsFilter, "visibility", ("created_at", admin.DateFieldListFilter),
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
            "upstream_finished_at", "next_poll_at", "poll_failures", "upstream_response_json",
        )}),
        ("Files", {"classes": ("collapse",), "fields": (
            "outcome_video_url", "outcome_thumbnail_url", "mirror_started_at", "mirror_attempts",
            "video_name", "video_size_display", "video_content_type", "video_sha256",
            "thumbnail_name", "thumbnail_size_display", "thumbnail_content_type", "thumbnail_sha256",
            "deleted_at",
        )}),
    )

    class Media:
        css = {"all": ("generations/admin.css",)}

    # Staff never edit a job by hand: it moves only through the actions (and the services).
    def get_readonly_fields(self, request, obj=None):
        names = []
        for _, options in self.fieldsets:
            names.extend(options["fields"])
        return names

    def has_add_permission(self, request):
        return False  # jobs are submitted by members, through the quota checks

    def has_delete_permission(self, request, obj=None):
        return False  # the ledger refers to every job; owners delete softly, staff reject

    def get_queryset(self, request):
        open_flags = (
            Flag.objects.filter(generation=OuterRef("pk"), resolved_at__isnull=True)
            .order_by().values("generation").annotate(n=Count("pk")).values("n")
        )
        return super().get_queryset(request).annotate(open_flags=Coalesce(Subquery(open_flags), 0))

    def get_search_results(self, request, queryset, search_term):
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
            return format_html('<img class="gmi-thumb" src="{}" alt="" loading="lazy" width="64" height="36">', url)
        return format_html('<span class="gmi-thumb gmi-thumb-empty" title="{}"></span>',
                           "No thumbnail" if obj.status == S.SUCCEEDED else obj.get_status_display())

    @admin.display(description="Generation", ordering="prompt")
    def summary(self, obj: Generation) -> SafeString:
        flags = ""
        if getattr(obj, "open_flags", 0):
            flags = format_html(' <span class="gmi-flag" title="Open flags">⚑ {}</span>', obj.open_flags)
        prompt = Truncator(obj.prompt or "(no prompt)").chars(70)
        return format_html('<span class="gmi-prompt">{}</span>{}<br><code class="gmi-muted">{}</code>',
                           prompt, flags, short_id(obj))

    @admin.display(description="Owner", ordering=f"owner__{User.USERNAME_FIELD}")
    def owner_and_team(self, obj: Generation) -> SafeString:
        team = obj.team.name if obj.team_id else "personal"
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
    def owner_link(self, obj: Generation):
        return link_to(obj.owner)

    @admin.display(description="Team")
    def team_link(self, obj: Generation):
        return link_to(obj.team)

    @admin.display(description="Model")
    def model_link(self, obj: Generation):
        return link_to(obj.model, obj.model_id)

    @admin.display(description="Re-run of")
    def rerun_of_link(self, obj: Generation):
        return link_to(obj.rerun_of, short_id(obj.rerun_of)) if obj.rerun_of_id else "—"

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

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path("usage/", self.admin_site.admin_view(self.usage_view), name="generations_usage"),
            path("<path:object_id>/reject/", self.admin_site.admin_view(self.reject_view),
                 name="%s_%s_reject" % info),
            path("<path:object_id>/do/<str:action>/", self.admin_site.admin_view(self.action_view),
                 name="%s_%s_do" % info),
        ] + super().get_urls()

    def usage_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return admin_views.usage(request, admin_site=self.admin_site)

    def _buttons(self, request: HttpRequest, obj: Generation) -> list[dict[str, str]]:
        if not self.has_change_permission(request, obj):
            return []
        do = lambda action: reverse("admin:generations_generation_do", args=[obj.pk, action])  # noqa: E731
        buttons = []
        if obj.moderation != M.APPROVED:
            buttons.append({"label": "Approve", "url": do("approve"), "method": "post"})
        if obj.moderation != M.REJECTED:
            buttons.append({"label": "Reject…", "url": reverse("admin:generations_generation_reject", args=[obj.pk]),
                            "method": "get", "danger": True})
        if obj.status == S.FAILED:
            buttons.append({"label": "Retry", "url": do("retry"), "method": "post"})
        if obj.status in (S.QUEUED, *Generation.AT_UPSTREAM):
            buttons.append({"label": "Cancel job", "url": do("cancel"), "method": "post", "danger": True})
        if obj.status == S.SUCCEEDED and obj.outcome_video_url:
            buttons.append({"label": "Re-mirror", "url": do("remirror"), "method": "post"})
        if obj.is_terminal:
            buttons.append({"label": "Refund usage", "url": do("refund"), "method": "post"})
        return buttons

    def change_view(self, request, object_id, form_url="", extra_context=None):
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
            report = run_each([obj], _reject(request.user, form.cleaned_data["reason"]), label=short_id)
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
    def approve_selected(self, request, queryset):
        self._bulk(request, queryset, "approve")

    @admin.action(description="Reject selected generations (asks for a reason)…", permissions=["change"])
    def reject_selected(self, request, queryset):
        form = RejectForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            report = run_each(queryset.order_by("created_at"), _reject(request.user, form.cleaned_data["reason"]),
                              label=short_id)
            tell(self, request, report, did="Rejected", noun=("generation", "generations"))
            return None  # back to the list
        return self._reject_page(request, queryset.order_by("created_at").select_related("owner", "model"), form,
                                 single=False)

    @admin.action(description="Retry selected failed jobs", permissions=["change"])
    def retry_selected(self, request, queryset):
        self._bulk(request, queryset, "retry")

    @admin.action(description="Cancel selected jobs", permissions=["change"])
    def cancel_selected(self, request, queryset):
        self._bulk(request, queryset, "cancel")

    @admin.action(description="Re-mirror selected videos into storage", permissions=["change"])
    def remirror_selected(self, request, queryset):
        self._bulk(request, queryset, "remirror")

    @admin.action(description="Refund the usage of selected ended jobs", permissions=["change"])
    def refund_selected(self, request, queryset):
        self._bulk(request, queryset, "refund")


# --------------------------------------------------------------------------- catalogue


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

    def has_add_permission(self, request):
        return False  # models come from GMI's catalogue ("Sync now")

    def get_queryset(self, request):
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

    def get_urls(self):
        return [
            path("sync/", self.admin_site.admin_view(self.sync_view), name="generations_videomodel_sync"),
        ] + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        extra_context = dict(extra_context or {})
        if self.has_change_permission(request):
            extra_context["sync_url"] = reverse("admin:generations_videomodel_sync")
        return super().changelist_view(request, extra_context)

    def sync_view(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            raise PermissionDenied
        self.message_user(request, *admin_views.sync_catalogue())
        return HttpResponseRedirect(reverse("admin:generations_videomodel_changelist"))


# --------------------------------------------------------------------------- teams and people


class MembershipFormSet(forms.BaseInlineFormSet):
    """Staff edit memberships freely, but a team always keeps an owner."""

    def clean(self):
        super().clean()
        owners = 0
        for form in self.forms:
            data = getattr(form, "cleaned_data", None) or {}
            if data and not data.get("DELETE") and data.get("role") == Membership.Role.OWNER:
                owners += 1
        if self.forms and not owners:
            raise forms.ValidationError("A team needs at least one owner: keep one, or make another member owner.")


class MembershipInline(admin.TabularInline):
    model = Membership
    formset = MembershipFormSet
    extra = 0
    raw_id_fields = ("user",)
    fields = ("user", "role", "joined_at")
    readonly_fields = ("joined_at",)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "members", "monthly_video_seconds", "monthly_credits", "created_at")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = (MembershipInline,)
    readonly_fields = ("usage_now", "created_at")
    fieldsets = (
        (None, {"fields": ("name", "slug", "created_at")}),
        ("Pools (empty = the site default)", {"fields": ("monthly_video_seconds", "monthly_credits", "usage_now")}),
    )

    class Media:
        css = {"all": ("generations/admin.css",)}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_count=Count("memberships"))

    @admin.display(description="Members", ordering="member_count")
    def members(self, obj: Team) -> int:
        return getattr(obj, "member_count", 0)

    @admin.display(description="Usage this month")
    def usage_now(self, obj: Team) -> SafeString | str:
        if obj.pk is None:
            return "—"
        return usage_table(quotas.usage_for_team(obj))


def usage_table(usage: dict[str, Any]) -> SafeString:
    """Limits, usage and what remains, as a small table (shared by teams and profiles)."""
    rows = format_html_join(
        "", "<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (metric.replace("_", " "), "unlimited" if limit is None else limit, usage["used"].get(metric, 0),
             "—" if usage["remaining"].get(metric) is None else usage["remaining"][metric])
            for metric, limit in usage["limits"].items()
        ),
    )
    return format_html(
        '<table class="gmi-usage"><thead><tr><th>limit</th><th>effective</th><th>used</th><th>remaining</th>'
        "</tr></thead><tbody>{}</tbody></table>", rows,
    )


class ProfileForm(forms.ModelForm):
    class Meta:
        model = UserProfile
        fields = ("approved", "daily_jobs", "concurrent_jobs", "monthly_video_seconds", "monthly_credits",
                  "current_team")
        help_texts = {name: "Empty = the site default." for name in
                      ("daily_jobs", "concurrent_jobs", "monthly_video_seconds", "monthly_credits")}


class UserProfileInline(admin.StackedInline):
    """Quota overrides and approval, on the user's own admin page."""

    model = UserProfile
    form = ProfileForm
    fk_name = "user"
    can_delete = False
    max_num = 1
    extra = 0
    verbose_name = "video portal profile"
    verbose_name_plural = "video portal profile (quota overrides, approval)"
    readonly_fields = ("usage_now",)

    @admin.display(description="Effective limits and usage")
    def usage_now(self, obj: UserProfile) -> SafeString | str:
        if obj is None or obj.pk is None:
            return "—"
        return usage_table(quotas.usage_for_user(obj.user))


@admin.register(UserProfile)
class UserProfileAdmin(admin.ModelAdmin):
    form = ProfileForm
    list_display = ("user", "approved", "daily_jobs", "concurrent_jobs", "monthly_video_seconds", "monthly_credits",
                    "current_team")
    list_filter = ("approved",)
    list_select_related = ("user", "current_team")
    search_fields = (f"user__{User.USERNAME_FIELD}",)
    raw_id_fields = ("user",)
    readonly_fields = ("usage_now",)
    actions = ("approve_accounts",)

    class Media:
        css = {"all": ("generations/admin.css",)}

    def get_fields(self, request, obj=None):
        fields = ["user", *ProfileForm.Meta.fields]
        return fields + ["usage_now"] if obj is not None else fields

    def get_readonly_fields(self, request, obj=None):
        return ("user", "usage_now") if obj is not None else ("usage_now",)

    @admin.display(description="Effective limits and usage")
    def usage_now(self, obj: UserProfile) -> SafeString | str:
        if obj is None or obj.pk is None:
            return "—"
        return usage_table(quotas.usage_for_user(obj.user))

    @admin.action(description="Approve selected accounts", permissions=["change"])
    def approve_accounts(self, request, queryset):
        def approve(profile: UserProfile) -> str | None:
            if profile.approved:
                return "already approved"
            accounts.approve_user(user=profile.user)
            return None

        report = run_each(queryset.select_related("user"), approve, label=lambda p: str(p.user))
        tell(self, request, report, did="Approved", noun=("account", "accounts"))


def _add_profile_inline_to_user_admin(site: admin.AdminSite) -> None:
    """Show quota overrides on the active user model's admin page, whatever admin class the site uses."""
    if not site.is_registered(User):
        return
    current = site._registry[User].__class__
    if any(inline is UserProfileInline for inline in current.inlines):
        return
    extended = type(current.__name__, (current,), {
        "__module__": current.__module__,
        "inlines": [*current.inlines, UserProfileInline],
    })
    site.unregister(User)
    site.register(User, extended)


_add_profile_inline_to_user_admin(admin.site)


# --------------------------------------------------------------------------- ledger, counters, tokens


class ReadOnlyAdmin(admin.ModelAdmin):
    """Staff read these; only the services write them."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "generation_link", "subject_display", "kind", "metric", "period", "amount",
                    "attempt", "note")
    list_filter = ("kind", "metric", "period")
    list_select_related = ("generation", "user", "team")
    search_fields = ("note", "subject", f"user__{User.USERNAME_FIELD}", "team__slug")
    date_hierarchy = "created_at"

    @admin.display(description="Generation", ordering="generation")
    def generation_link(self, obj: LedgerEntry):
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


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    # Only the prefix: the key is never stored, and its hash is not for display either.
    list_display = ("name", "user", "prefix_display", "created_at", "last_used_at", "state")
    list_filter = (TokenStateFilter,)
    list_select_related = ("user",)
    search_fields = ("name", "prefix", f"user__{User.USERNAME_FIELD}")
    fields = ("name", "user", "prefix_display", "created_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    actions = ("revoke_tokens",)

    @admin.display(description="Key")
    def prefix_display(self, obj: ApiToken) -> SafeString:
        return format_html("<code>{}…</code>", obj.prefix)

    @admin.display(description="State", ordering="revoked_at")
    def state(self, obj: ApiToken) -> SafeString:
        if obj.revoked_at:
            return badge("Revoked", "#64748b")
        return badge("Active", "#16a34a")

    def has_revoke_permission(self, request) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.change_apitoken")

    @admin.action(description="Revoke selected tokens", permissions=["revoke"])
    def revoke_tokens(self, request, queryset):
        def revoke(token: ApiToken) -> str | None:
            if token.revoked_at:
                return "already revoked"
            tokens.revoke_token(token=token)
            return None

        report = run_each(queryset, revoke, label=lambda t: f"{t.prefix}…")
        tell(self, request, report, did="Revoked", noun=("token", "tokens"))


# --------------------------------------------------------------------------- moderation


@admin.register(Flag)
class FlagAdmin(ReadOnlyAdmin):
    list_display = ("reason_excerpt", "generation_link", "generation_status", "generation_moderation", "reporter",
                    "created_at", "state")
    list_filter = (FlagStateFilter, ("created_at", admin.DateFieldListFilter))
    list_select_related = ("generation", "generation__model", "reporter", "resolved_by")
    search_fields = ("reason", f"reporter__{User.USERNAME_FIELD}", "generation__prompt")
    fields = ("generation_link", "reporter", "reason", "created_at", "resolved_at", "resolved_by")
    readonly_fields = fields
    actions = ("resolve_flags", "approve_flagged")

    class Media:
        css = {"all": ("generations/admin.css",)}

    def get_ordering(self, request):
        return (F("resolved_at").asc(nulls_first=True), "-created_at")

    @admin.display(description="Reason")
    def reason_excerpt(self, obj: Flag) -> str:
        return Truncator(obj.reason).chars(80)

    @admin.display(description="Generation")
    def generation_link(self, obj: Flag):
        generation = obj.generation
        return link_to(generation, f"{Truncator(generation.prompt or generation.model_id).chars(40)} "
                                   f"({short_id(generation)})")

    @admin.display(description="Status")
    def generation_status(self, obj: Flag) -> SafeString:
        return status_badge(obj.generation)

    @admin.display(description="Moderation")
    def generation_moderation(self, obj: Flag) -> SafeString:
        return moderation_badge(obj.generation)

    @admin.display(description="State", ordering="resolved_at")
    def state(self, obj: Flag) -> SafeString:
        if obj.resolved_at:
            return badge(f"Resolved by {obj.resolved_by or 'staff'}", "#64748b")
        return badge("Open", "#d97706")

    # Revoking and resolving are not "changing" in these read-only admins: they have their own permission.
    def has_resolve_permission(self, request) -> bool:
        return permissions.can_review_flags(request.user)

    def has_moderate_permission(self, request) -> bool:
        # Approving from the flag queue is a moderation decision on the generation, not only a flag review.
        return permissions.can_review_flags(request.user) and permissions.can_moderate_generations(request.user)

    @admin.action(description="Resolve selected flags (keep the videos as they are)", permissions=["resolve"])
    def resolve_flags(self, request, queryset):
        def resolve(flag: Flag) -> str | None:
            if flag.resolved_at:
                return "already resolved"
            moderation.resolve_flag(flag=flag, moderator=request.user)
            return None

        report = run_each(queryset, resolve, label=lambda f: f"#{f.pk}")
        tell(self, request, report, did="Resolved", noun=("flag", "flags"))

    @admin.action(description="Approve the flagged videos (resolves their flags)", permissions=["moderate"])
    def approve_flagged(self, request, queryset):
        generations = Generation.objects.filter(pk__in=queryset.values("generation")).order_by("created_at")
        report = run_each(generations, _approve(request.user), label=short_id)
        tell(self, request, report, did="Approved", noun=("generation", "generations"))


@admin.register(BlockedTerm)
class BlockedTermAdmin(admin.ModelAdmin):
    list_display = ("term", "normalized", "created_by", "created_at")
    search_fields = ("term", "normalized")
    list_select_related = ("created_by",)
    readonly_fields = ("normalized", "created_by", "created_at")

    def get_fields(self, request, obj=None):
        return ("term",) if obj is None else ("term", "normalized", "created_by", "created_at")

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else ("term", "normalized", "created_by", "created_at")

    def has_change_permission(self, request, obj=None):
        return False  # a changed term is a different term: delete it and add the new one

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)

        def clean_term(self):
            term = self.cleaned_data["term"].strip()
            normalized = moderation.normalize_text(term)
            if not normalized:
                raise forms.ValidationError("The term has no letters or digits to match on.")
            existing = BlockedTerm.objects.filter(normalized=normalized).first()
            if existing is not None:
                raise forms.ValidationError(f"Already blocked as “{existing.term}”.")
            return term

        form.clean_term = clean_term
        return form

    def save_model(self, request, obj, form, change):
        created = moderation.add_blocked_terms(terms=[obj.term], user=request.user)
        saved = created[0] if created else BlockedTerm.objects.get(normalized=moderation.normalize_text(obj.term))
        obj.pk, obj.normalized, obj.created_by, obj.created_at = saved.pk, saved.normalized, saved.created_by, \
            saved.created_at

    def delete_model(self, request, obj):
        moderation.remove_blocked_terms(terms=[obj.term])

    def delete_queryset(self, request, queryset):
        moderation.remove_blocked_terms(terms=list(queryset.values_list("term", flat=True)))


@admin.register(ModerationDecision)
class ModerationDecisionAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "decision", "generation_link", "moderator", "reason")
    list_filter = ("decision", ("created_at", admin.DateFieldListFilter))
    list_select_related = ("generation", "moderator")
    search_fields = ("reason", "generation__prompt", f"moderator__{User.USERNAME_FIELD}")

    @admin.display(description="Generation")
    def generation_link(self, obj: ModerationDecision):
        return link_to(obj.generation, short_id(obj.generation))


# The admin index links the usage page, unless the site chose its own index template.
if admin.site.index_template is None:
    admin.site.index_template = "admin/generations/index.html"
