"""Personal API tokens: create one (its key shown once), list them, revoke one."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_http_methods, require_POST

from ..exceptions import GenerationError
from ..forms import TokenCreateForm
from ..models import ApiToken
from ..services import tokens
from ..types import AuthenticatedHttpRequest
from .base import render_page


@login_required
@require_http_methods(["GET", "POST"])
def api_tokens(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Personal API tokens: a new key is shown once, on the page the creation redirects to.

    Post/redirect/get, so reloading never creates a second token; the key waits in the
    session for exactly one page view and is gone after it.
    """
    if request.method == "POST":
        form = TokenCreateForm(request.POST)
        if form.is_valid():
            try:
                token, key = tokens.create_token(user=request.user, name=form.cleaned_data["name"])
            except GenerationError as exc:  # AccountPending, LimitReached
                form.add_error(None, exc.message)
            else:
                request.session["gmi_new_token"] = {"id": token.pk, "key": key}
                return redirect("generations:tokens")
    else:
        form = TokenCreateForm()
    shown = request.session.pop("gmi_new_token", None) if request.method == "GET" else None
    new_key = shown["key"] if shown else None
    new_token = ApiToken.objects.filter(pk=shown["id"], user=request.user.pk).first() if shown else None
    response = render_page(request, "generations/tokens.html", {
        "tokens": ApiToken.objects.filter(user=request.user.pk).order_by("-created_at"),
        "form": form,
        "new_key": new_key,
        "new_token": new_token,
        "api_docs_url": _api_docs_url(),
    }, nav="tokens")
    response["Cache-Control"] = "no-store"  # the key must not be kept by any cache
    return response


def _api_docs_url() -> str:
    try:
        return reverse("generations:api:docs")
    except NoReverseMatch:
        return ""


@login_required
@require_POST
def revoke_token(request: AuthenticatedHttpRequest, token_id: int) -> HttpResponse:
    token = ApiToken.objects.filter(user=request.user.pk, pk=token_id).first()
    if token is None:
        raise Http404("No such token.")
    tokens.revoke_token(token=token)
    messages.success(request, f"The token “{token.name}” was revoked.")
    return redirect("generations:tokens")
