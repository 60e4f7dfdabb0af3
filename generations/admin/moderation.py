"""Moderation: the flag review queue, blocked terms and the record of decisions."""
from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import F
from django.utils.safestring import SafeString
from django.utils.text import Truncator

from .. import permissions
from ..models import BlockedTerm, Flag, Generation, ModerationDecision
from ..services import moderation
from .actions import close_each, run_each, tell
from .filters import FlagStateFilter
from .generation_actions import approve_action
from .readonly import ReadOnlyAdmin, ReadOnlyInline
from .widgets import badge, link_to, moderation_badge, short_id, status_badge

User = get_user_model()


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

    def get_ordering(self, request) -> tuple[Any, ...]:
        return (F("resolved_at").asc(nulls_first=True), "-created_at")

    @admin.display(description="Reason")
    def reason_excerpt(self, obj: Flag) -> str:
        return Truncator(obj.reason).chars(80)

    @admin.display(description="Generation")
    def generation_link(self, obj: Flag) -> SafeString | str:
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
    def resolve_flags(self, request, queryset) -> None:
        close_each(self, request, queryset, closed_at="resolved_at", already="already resolved",
                   close=lambda flag: moderation.resolve_flag(flag=flag, moderator=request.user),
                   label=lambda f: f"#{f.pk}", did="Resolved", noun=("flag", "flags"))

    @admin.action(description="Approve the flagged videos (resolves their flags)", permissions=["moderate"])
    def approve_flagged(self, request, queryset) -> None:
        generations = Generation.objects.filter(pk__in=queryset.values("generation")).order_by("created_at")
        report = run_each(generations, approve_action(request.user), label=short_id)
        tell(self, request, report, did="Approved", noun=("generation", "generations"))


@admin.register(BlockedTerm)
class BlockedTermAdmin(admin.ModelAdmin):
    list_display = ("term", "normalized", "created_by", "created_at")
    search_fields = ("term", "normalized")
    list_select_related = ("created_by",)
    readonly_fields = ("normalized", "created_by", "created_at")

    def get_fields(self, request, obj=None) -> tuple[str, ...]:
        return ("term",) if obj is None else ("term", "normalized", "created_by", "created_at")

    def get_readonly_fields(self, request, obj=None) -> tuple[str, ...]:
        return () if obj is None else ("term", "normalized", "created_by", "created_at")

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # a changed term is a different term: delete it and add the new one

    def get_form(self, request, obj=None, change=False, **kwargs) -> type[forms.ModelForm]:
        form = super().get_form(request, obj, change=change, **kwargs)

        def clean_term(self) -> str:
            term = self.cleaned_data["term"].strip()
            normalized = moderation.normalize_text(term)
            if not normalized:
                raise forms.ValidationError("The term has no letters or digits to match on.")
            existing = BlockedTerm.objects.filter(normalized=normalized).first()
            if existing is not None:
                raise forms.ValidationError(f"Already blocked as “{existing.term}”.")
            return term

        form.clean_term = clean_term  # type: ignore[attr-defined]  # a clean_<field> hook added to the built form
        return form

    def save_model(self, request, obj, form, change) -> None:
        created = moderation.add_blocked_terms(terms=[obj.term], user=request.user)
        saved = created[0] if created else BlockedTerm.objects.get(normalized=moderation.normalize_text(obj.term))
        obj.pk, obj.normalized, obj.created_by, obj.created_at = saved.pk, saved.normalized, saved.created_by, \
            saved.created_at

    def delete_model(self, request, obj) -> None:
        moderation.remove_blocked_terms(terms=[obj.term])

    def delete_queryset(self, request, queryset) -> None:
        moderation.remove_blocked_terms(terms=list(queryset.values_list("term", flat=True)))


@admin.register(ModerationDecision)
class ModerationDecisionAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "decision", "generation_link", "moderator", "reason")
    list_filter = ("decision", ("created_at", admin.DateFieldListFilter))
    list_select_related = ("generation", "moderator")
    search_fields = ("reason", "generation__prompt", f"moderator__{User.USERNAME_FIELD}")

    @admin.display(description="Generation")
    def generation_link(self, obj: ModerationDecision) -> SafeString | str:
        return link_to(obj.generation, short_id(obj.generation))
