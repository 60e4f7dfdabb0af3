"""People and their access: teams and memberships, profiles (approval, quota overrides), API tokens."""
from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Count, QuerySet
from django.utils.html import format_html
from django.utils.safestring import SafeString

from .. import metrics, permissions
from ..models import ApiToken, Membership, Team, UserProfile
from ..selectors import quotas as quota_reads
from ..services import accounts, audit, tokens
from .actions import close_each, run_each, tell
from .filters import TokenStateFilter
from .readonly import ReadOnlyAdmin
from .widgets import badge, usage_table

User = get_user_model()


class MembershipFormSet(forms.BaseInlineFormSet):
    """Staff edit memberships freely, but a team always keeps an owner."""

    def clean(self) -> None:
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
    list_display = ("name", "slug", "members", "monthly_video_seconds", "monthly_credits", "sharing_enabled",
                    "created_at")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = (MembershipInline,)
    readonly_fields = ("usage_now", "created_at")
    fieldsets = (
        (None, {"fields": ("name", "slug", "sharing_enabled", "created_at")}),
        ("Pools (empty = the site default)", {"fields": ("monthly_video_seconds", "monthly_credits", "storage_bytes",
                                                         "usage_now")}),
        ("Retention", {"fields": ("retention_days",)}),
    )

    class Media:
        css = {"all": ("generations/admin.css",)}

    def get_queryset(self, request) -> QuerySet[Any]:
        return super().get_queryset(request).annotate(member_count=Count("memberships"))

    def save_model(self, request, obj: Team, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        _audit_quota_fields(form, obj, metrics.TEAM_METRICS)

    def save_formset(self, request, form, formset, change: bool) -> None:
        """Members added, removed or given another role here go into the audit trail as in the pages."""
        before = {f.instance.pk: f.initial.get("role") for f in formset.initial_forms}
        super().save_formset(request, form, formset, change)
        if formset.model is not Membership:
            return
        for membership in formset.new_objects:
            audit.record_event(action=audit.Action.MEMBER_ADDED, target=membership, data={"role": membership.role})
        for membership, fields in formset.changed_objects:
            if "role" in fields:
                audit.record_event(action=audit.Action.ROLE_CHANGED, target=membership,
                                   data={"from": before.get(membership.pk), "to": membership.role})
        for membership in formset.deleted_objects:
            audit.record_event(action=audit.Action.MEMBER_REMOVED, target=membership, team=form.instance,
                               data={"role": membership.role})

    @admin.display(description="Members", ordering="member_count")
    def members(self, obj: Team) -> int:
        return getattr(obj, "member_count", 0)

    @admin.display(description="Usage this month")
    def usage_now(self, obj: Team) -> SafeString | str:
        if obj.pk is None:
            return "—"
        return usage_table(quota_reads.usage_for_team(obj))


class ProfileForm(forms.ModelForm):
    class Meta:
        model = UserProfile
        # The override fields are named after the metrics they override.
        fields = ("approved", *metrics.USER_METRICS, "current_team")
        help_texts = {name: "Empty = the site default." for name in metrics.USER_METRICS}

    def save(self, commit: bool = True) -> UserProfile:
        profile = super().save(commit=commit)
        if commit:  # the inline on the user's page; UserProfileAdmin saves later, in save_model
            _audit_quota_fields(self, profile, metrics.USER_METRICS)
        return profile


def _audit_quota_fields(form: forms.ModelForm, obj: Any, names: tuple[str, ...] | list[str]) -> None:
    """Quota overrides edited in the admin: recorded like those changed by ``gmi_quota`` or a service."""
    changed = [name for name in names if name in form.changed_data]
    if changed:
        audit.record_quota_change(target=obj, previous={name: form.initial.get(name) for name in changed},
                                  limits={name: form.cleaned_data.get(name) for name in changed})


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
        return usage_table(quota_reads.usage_for_user(obj.user))


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

    def save_model(self, request, obj: UserProfile, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        _audit_quota_fields(form, obj, metrics.USER_METRICS)

    def get_fields(self, request, obj=None) -> tuple[str, ...]:
        fields = ("user", *ProfileForm.Meta.fields)
        return (*fields, "usage_now") if obj is not None else fields

    def get_readonly_fields(self, request, obj=None) -> tuple[str, ...]:
        return ("user", "usage_now") if obj is not None else ("usage_now",)

    @admin.display(description="Effective limits and usage")
    def usage_now(self, obj: UserProfile) -> SafeString | str:
        if obj is None or obj.pk is None:
            return "—"
        return usage_table(quota_reads.usage_for_user(obj.user))

    @admin.action(description="Approve selected accounts", permissions=["change"])
    def approve_accounts(self, request, queryset) -> None:
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


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    # Only the prefix: the key is never stored, and its hash is not for display either.
    list_display = ("name", "user", "prefix_display", "scope", "created_at", "expires_at", "last_used_at", "state")
    list_filter = (TokenStateFilter,)
    list_select_related = ("user",)
    search_fields = ("name", "prefix", f"user__{User.USERNAME_FIELD}")
    fields = ("name", "user", "prefix_display", "scope", "created_at", "expires_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    actions = ("revoke_tokens",)

    @admin.display(description="Key")
    def prefix_display(self, obj: ApiToken) -> SafeString:
        return format_html("<code>{}…</code>", obj.prefix)

    @admin.display(description="State", ordering="revoked_at")
    def state(self, obj: ApiToken) -> SafeString:
        if obj.revoked_at:
            return badge("Revoked", "#64748b")
        if obj.is_expired:
            return badge("Expired", "#64748b")
        return badge("Active", "#16a34a")

    def has_revoke_permission(self, request) -> bool:
        return permissions.can_revoke_any_token(request.user)

    @admin.action(description="Revoke selected tokens", permissions=["revoke"])
    def revoke_tokens(self, request, queryset) -> None:
        close_each(self, request, queryset, closed_at="revoked_at", already="already revoked",
                   close=lambda token: tokens.revoke_token(token=token, actor=request.user),
                   label=lambda t: f"{t.prefix}…", did="Revoked", noun=("token", "tokens"))
