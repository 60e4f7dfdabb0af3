"""Template tags of the app's pages: API URLs, the navigation, markdown, values and meters."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import timesince

from .. import permissions, words
from ..conf import app_settings
from ..context_processors import bell, member_state, page_context
from ..services import catalogue

register = template.Library()

# Where the REST API's routes live under the app's mount point, for when its URL
# names cannot be reversed (a project that mounts the pages without the API).
_API_FALLBACK_PATHS = {
    "generation-list": "generations/",
    "generation-quote": "generations/quote/",
    "generation-detail": "generations/{pk}/",
    "generation-video": "generations/{pk}/video/",
    "generation-thumbnail": "generations/{pk}/thumbnail/",
    "upload": "uploads/",
    "quota": "quota/",
    "notification-list": "notifications/",
}


def api_url(name: str, pk: Any = None) -> str:
    """The path of a REST API route (namespace ``generations:api``), wherever the app is mounted."""
    try:
        if pk is None:
            return reverse(f"generations:api:{name}")
        return reverse(f"generations:api:{name}", kwargs={"pk": pk})
    except NoReverseMatch:
        pass
    path = _API_FALLBACK_PATHS.get(name)
    if path is None:
        return ""
    try:
        root = reverse("generations:gallery")
    except NoReverseMatch:
        root = "/"
    return root + "api/v1/" + path.format(pk=pk)


@register.simple_tag(name="api_url")
def api_url_tag(name: str, pk: Any = None) -> str:
    return api_url(name, pk)


@register.simple_tag
def optional_url(name: str, *args: Any) -> str:
    """``{% url %}`` that answers "" when the name is not routed (host sites choose their URLs)."""
    try:
        return reverse(name, args=args or None)
    except NoReverseMatch:
        return ""


@register.inclusion_tag("generations/_nav.html", takes_context=True)
def generations_nav(context: template.Context) -> dict[str, Any]:
    """The app's navigation bar: pages, team switcher, admin link for staff, log-out form."""
    request = context.get("request")
    user = context.get("user") or getattr(request, "user", None)
    state = member_state(request) if request is not None else None
    return {
        "request": request,
        "user": user,
        "teams": state.teams if state else [],
        "current_team": state.current_team if state else None,
        "logout_url": optional_url("logout"),
        "login_url": optional_url("login"),
        # Invite-only sites have no sign-up page to offer: invitation links lead to it.
        "signup_url": optional_url("signup") if app_settings.SIGNUP != "invite" else "",
        "admin_url": optional_url("admin:index"),
        "active": context.get("generations_nav_active", ""),
        "bell": bell(request),
    }


@register.inclusion_tag("generations/_app_header.html", takes_context=True)
def generations_app_header(context: template.Context) -> dict[str, Any]:
    """Inside a host site's base template, the app's own links above its pages."""
    own = context.get("generations_own_base")
    if own is None:
        own = page_context()["generations_own_base"]
    user = context.get("user") or getattr(context.get("request"), "user", None)
    request = context.get("request")
    return {"show": not own, "active": context.get("generations_nav_active", ""), "user": user,
            "bell": bell(request) if not own else {"show": False}}


@register.inclusion_tag("generations/_bell.html")
def generations_bell(values: dict[str, Any]) -> dict[str, Any]:
    """The notification bell: unread count, link to the notifications page, refreshed by notifications.js."""
    return {"bell": values, "count_url": api_url("notification-list")}


@register.inclusion_tag("generations/_notices.html", takes_context=True)
def generations_notices(context: template.Context) -> dict[str, Any]:
    """Above every page: the account still waits for approval; teams someone added the member to."""
    request = context.get("request")
    state = member_state(request) if request is not None else None
    return {
        "request": request,
        "awaiting_approval": state.awaiting_approval if state else False,
        "unopened": state.unopened if state else [],
    }


@register.filter
def files_shown_to(generation: Any, user: Any) -> bool:
    """``{% if generation|files_shown_to:user %}``: may its video and thumbnail be shown (``permissions``)."""
    return permissions.may_see_files(user, generation)


@register.filter
def markdown_html(text: Any) -> SafeString:
    """Markdown (a model's description, written upstream) as sanitised HTML, capped and rendered once
    (``catalogue.render_guide``)."""
    return mark_safe(catalogue.render_guide(str(text or "")))  # sanitised by render_guide


@register.filter
def json_value(value: Any) -> str:
    """A payload value for reading: text as is, everything else as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)


@register.filter
def is_http_url(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower().startswith(("http://", "https://")) and \
        not any(c.isspace() for c in value.strip())


@register.filter
def as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return parse_datetime(value)
    return None


@register.filter
def number(value: Any) -> str:
    """Whole numbers without decimals, others with at most two."""
    if value is None:
        return "—"
    try:
        value = float(value)
    except (TypeError, ValueError):
        return str(value)
    if value.is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


@register.filter(name="status_words")
def status_words_filter(status: Any) -> str:
    """``{{ generation.status|status_words }}``: the status as a member reads it ("Waiting in line")."""
    return words.status_words(str(status or ""))


@register.filter(name="failure_words")
def failure_words_filter(generation: Any) -> str:
    """Why a job did not finish and what to do next, from its error code (never GMI's raw text)."""
    return words.failure_words(generation)


@register.filter(name="redact_urls")
def redact_urls_filter(text: Any) -> str:
    return words.redact_urls(str(text)) if text else ""


@register.filter(name="file_size")
def file_size_filter(size: Any) -> str:
    return words.file_size(size)


#: The one date and time format of the pages (the browser rewrites it into the member's time zone).
DATETIME_FORMAT = "j M Y, H:i"


@register.simple_tag(name="when")
def when_tag(value: Any, style: str = "datetime") -> SafeString:
    """A moment as ``<time>``: "7 Dec 2026, 14:05 UTC" from the server, local time once time.js runs.

    ``style="ago"`` reads "just now", "5 minutes ago" … (the full moment stays in the title).
    """
    moment = as_datetime(value)
    if moment is None:
        return mark_safe("")
    if timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    full = f"{date_format(moment, DATETIME_FORMAT)} {moment.tzname() or ''}".strip()
    text = ago(moment) if style == "ago" else full
    return format_html('<time datetime="{}" data-local="{}" title="{}">{}</time>',
                       moment.isoformat(), style, full, text)


def ago(moment: datetime) -> str:
    seconds = (timezone.now() - moment).total_seconds()
    if seconds < 60:
        return "just now"
    return f"{timesince(moment)} ago".replace("\xa0", " ").split(",")[0].replace(" ago", "") + " ago"
