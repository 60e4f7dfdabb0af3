"""Notification pages: the list (mark read, mark all read), preferences, and the signed unsubscribe link."""
from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import refusals
from ..conf import app_settings
from ..exceptions import InvalidInput
from ..forms import NotificationPreferencesForm
from ..models import NotificationPreference
from ..notification_kinds import KINDS
from ..selectors import notifications as notification_reads
from ..services.notifications import inbox as notification_inbox
from ..services.notifications import preferences as notification_choices
from ..types import AuthenticatedHttpRequest
from .base import render_page, safe_next_url


@login_required
@require_GET
def notification_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The member's notifications, newest first, unread ones marked; ``?unread=1`` shows only those."""
    unread_only = request.GET.get("unread") == "1"
    page = Paginator(notification_reads.notifications_of(request.user, unread_only=unread_only),
                     app_settings.PAGE_SIZE).get_page(request.GET.get("page"))
    return render_page(request, "generations/notifications.html", {
        "page": page,
        "notifications": list(page.object_list),
        "unread_only": unread_only,
        "query": "unread=1" if unread_only else "",
        "unread": notification_reads.unread_notification_count(request.user),
    }, nav="notifications")


@login_required
@require_GET
def notification_open(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Follow a notification: it is marked read and the member lands where it points."""
    notification = notification_inbox.open_notification(user=request.user, notification_id=pk)
    if notification is None:
        raise Http404("No such notification.")
    link = notification.link
    if link and url_has_allowed_host_and_scheme(link, allowed_hosts={request.get_host()}):
        return redirect(link)
    return redirect("generations:notifications")


@login_required
@require_POST
def notification_read(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Mark the posted ``id``s read, or every one with ``all``; back to where the form was."""
    if request.POST.get("all"):
        marked = notification_inbox.mark_read(user=request.user)
        messages.success(request, f"Marked {marked} notification{'s' if marked != 1 else ''} read.")
    else:
        ids = [int(value) for value in request.POST.getlist("id") if value.isascii() and value.isdigit()]
        notification_inbox.mark_read(user=request.user, ids=ids)
    return redirect(safe_next_url(request, reverse("generations:notifications")))


@login_required
@require_http_methods(["GET", "POST"])
def notification_preferences(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Per kind: off, in the app, or also by e-mail (and as a digest); staff may opt into the daily summary."""
    rows = notification_reads.preferences_of(request.user)
    form = NotificationPreferencesForm(request.POST or None, rows=rows)
    if request.method == "POST" and form.is_valid():
        try:
            notification_choices.set_preferences(user=request.user, choices=form.choices())
        except InvalidInput as exc:
            form.add_error(None, refusals.page_words(exc))
        else:
            messages.success(request, "Your notification settings were saved.")
            return redirect("generations:notification-preferences")
    return render_page(request, "generations/notification_preferences.html", {"form": form, "kinds": form.kinds()},
                       nav="notifications")


# The signed token is the authority here (the link works from any mail client, signed in or
# not), and RFC 8058 one-click unsubscribes POST without a CSRF token.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def notification_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """The link in an e-mail. Opening it changes nothing (link scanners open every link): it names the
    kinds and offers a button. The POST (that button, or a mail client's one-click POST, RFC 8058)
    stops those e-mails; the page then offers to undo, or to turn them off entirely."""
    template = "generations/notification_unsubscribed.html"
    context: dict[str, Any] = {"token": token, "Channel": NotificationPreference.Channel,
                               "preferences_url": reverse("generations:notification-preferences")}
    try:
        if request.method == "GET":
            _, kinds = notification_choices.read_unsubscribe_token(token=token)
            return render_page(request, template, {**context, "confirm": True, "labels": _labels(kinds)})
        channel = request.POST.get("channel")
        if channel:
            result = notification_choices.revise_unsubscribe(token=token, changes=request.POST.get("changes", ""),
                                                             channel=channel)
        else:
            result = notification_choices.unsubscribe(token=token)
    except InvalidInput as exc:
        return render_page(request, template, {**context, "invalid": refusals.page_words(exc)}, status=400)
    return render_page(request, template, {
        **context, "labels": _labels(result.kinds), "changed": _labels(result.changed), "channel": result.channel,
        "changes": result.changes, "undo_days": notification_choices.UNSUBSCRIBE_UNDO_MAX_AGE.days,
    })


def _labels(kinds: list[str]) -> list[str]:
    return [KINDS[k].label for k in kinds if k in KINDS]
