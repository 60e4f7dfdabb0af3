"""Webhook pages: the member's endpoints and their teams', creating one (its secret shown once), rotating,
pausing, deleting, each endpoint's delivery log with "send again", and the per-submission secret."""
from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import refusals
from ..context_processors import member_state
from ..exceptions import (
    AccountPending,
    GenerationError,
    InvalidInput,
    LimitReached,
    NotAllowed,
    WebhookTargetForbidden,
)
from ..forms import WebhookEndpointForm
from ..models import WebhookEndpoint
from ..selectors import webhooks as webhook_reads
from ..services.webhooks import endpoints as webhook_endpoints
from ..services.webhooks import signing as webhook_signing
from ..types import AuthenticatedHttpRequest
from .base import found_or_404, render_page

#: Session keys holding a secret for exactly one page view (post/redirect/get, as on the tokens page).
NEW_SECRET = "gmi_new_webhook_secret"
NEW_SUBMISSION_SECRET = "gmi_new_submission_secret"
DELIVERIES_PER_PAGE = 25


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"  # a secret may be on it: no cache keeps the page
    return response


def _endpoint_or_404(request: AuthenticatedHttpRequest, pk: Any) -> WebhookEndpoint:
    # The one lookup: outside what the member manages (another member's, a team they only belong to) is a 404.
    return found_or_404(webhook_reads.endpoints_of(request.user).filter(pk=pk).first(), "webhook")


def _form(request: AuthenticatedHttpRequest, data: Any = None) -> WebhookEndpointForm:
    return WebhookEndpointForm(data, events=webhook_endpoints.EVENTS,
                               teams=webhook_reads.teams_managed_by(request.user))


@login_required
@require_http_methods(["GET", "POST"])
def webhook_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The endpoints the member manages, a form to add one, and the per-submission secret."""
    if request.method == "POST":
        form = _form(request, request.POST)
        if form.is_valid():
            try:
                endpoint = webhook_endpoints.create_endpoint(user=request.user, url=form.cleaned_data["url"].strip(),
                                                             events=form.cleaned_data["events"],
                                                             team=form.cleaned_data["team"] or None)
            except InvalidInput as exc:
                for field, errors in exc.errors.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            except (AccountPending, LimitReached) as exc:  # about the account, not one field
                form.add_error(None, refusals.page_words(exc))
            except NotAllowed as exc:  # a team the member belongs to but does not manage
                form.add_error("team", refusals.page_words(exc))
            except WebhookTargetForbidden as exc:  # says why: scheme, a private address, the allow-list
                form.add_error("url", refusals.page_words(exc))
            else:
                request.session[NEW_SECRET] = {"id": str(endpoint.pk), "secret": endpoint.secret, "rotated": False}
                return redirect("generations:webhook", pk=endpoint.pk)
    else:
        form = _form(request)
    shown = request.session.pop(NEW_SUBMISSION_SECRET, None) if request.method == "GET" else None
    return _no_store(render_page(request, "generations/webhooks.html", {
        "rows": webhook_reads.endpoint_rows(request.user),
        "form": form,
        "new_submission_secret": shown,
        "has_submission_secret": webhook_reads.has_submission_secret(request.user),
        "pending": member_state(request).awaiting_approval,
    }, nav="webhooks", status=400 if form.errors else 200))


@login_required
@require_GET
def webhook_detail(request: AuthenticatedHttpRequest, pk: Any) -> HttpResponse:
    """One endpoint: its settings, a new secret once (after creation or rotation), and its delivery log."""
    endpoint = _endpoint_or_404(request, pk)
    shown = request.session.get(NEW_SECRET)
    new_secret = None
    if shown and shown.get("id") == str(endpoint.pk):
        new_secret = request.session.pop(NEW_SECRET)
    log = webhook_reads.deliveries_of(endpoint, viewer=request.user)
    page = Paginator(log, DELIVERIES_PER_PAGE).get_page(request.GET.get("page"))
    row = next(r for r in webhook_reads.endpoint_rows(request.user) if r.endpoint.pk == endpoint.pk)
    return _no_store(render_page(request, "generations/webhook_detail.html", {
        "endpoint": endpoint,
        "paused": row.paused,
        "new_secret": new_secret,
        "overlap_hours": int(webhook_signing.ROTATION_OVERLAP.total_seconds() // 3600),
        "rotation_until": webhook_signing.rotation_ends_at(endpoint),
        "page": page,
        # The message as sent, only where the member may see its video now (``payload_shown``).
        "deliveries": [(d, json.dumps(d.payload, indent=2, ensure_ascii=False) if getattr(d, "payload_shown", False)
                        else None)
                       for d in page.object_list],
    }, nav="webhooks"))


@login_required
@require_POST
def webhook_rotate(request: AuthenticatedHttpRequest, pk: Any) -> HttpResponse:
    endpoint = webhook_signing.rotate_secret(endpoint=_endpoint_or_404(request, pk))
    request.session[NEW_SECRET] = {"id": str(endpoint.pk), "secret": endpoint.secret, "rotated": True}
    return redirect("generations:webhook", pk=endpoint.pk)


@login_required
@require_POST
def webhook_enabled(request: AuthenticatedHttpRequest, pk: Any) -> HttpResponse:
    endpoint = _endpoint_or_404(request, pk)
    enable = request.POST.get("enabled") == "1"
    try:
        webhook_endpoints.set_endpoint_enabled(endpoint=endpoint, enabled=enable)
    except GenerationError as exc:  # the target is no longer allowed
        messages.error(request, refusals.page_words(exc))
    else:
        messages.success(request, "The webhook is enabled again." if enable else
                         "The webhook is paused: no events are recorded for it until you enable it.")
    return redirect("generations:webhook", pk=endpoint.pk)


@login_required
@require_http_methods(["GET", "POST"])
def webhook_delete(request: AuthenticatedHttpRequest, pk: Any) -> HttpResponse:
    """GET asks for confirmation; POST deletes the endpoint and its delivery log."""
    endpoint = _endpoint_or_404(request, pk)
    if request.method == "POST":
        webhook_endpoints.delete_endpoint(endpoint=endpoint)
        messages.success(request, f"The webhook to {endpoint.url} was deleted.")
        return redirect("generations:webhooks")
    return render_page(request, "generations/webhook_delete.html", {"endpoint": endpoint}, nav="webhooks")


@login_required
@require_POST
def webhook_resend(request: AuthenticatedHttpRequest, pk: Any, delivery_id: Any) -> HttpResponse:
    endpoint = _endpoint_or_404(request, pk)
    delivery = webhook_reads.deliveries_of(endpoint, viewer=request.user).filter(pk=delivery_id).first()
    if delivery is None:
        raise Http404("No such delivery.")
    try:
        webhook_endpoints.resend_delivery(delivery=delivery)
    except GenerationError as exc:  # the endpoint is disabled
        messages.error(request, refusals.page_words(exc))
    else:
        messages.success(request, f"The {delivery.event_type} message will be sent again shortly, "
                                  f"with the same webhook-id ({delivery.message_id}).")
    return redirect("generations:webhook", pk=endpoint.pk)


@login_required
@require_POST
def submission_secret_rotate(request: AuthenticatedHttpRequest) -> HttpResponse:
    try:
        request.session[NEW_SUBMISSION_SECRET] = webhook_signing.rotate_submission_secret(user=request.user)
    except AccountPending as exc:
        messages.error(request, refusals.page_words(exc))
    return redirect("generations:webhooks")
