"""One generation: its page, the live status JSON the pages poll, and cancel, delete and flag."""
from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import permissions, refusals, words
from ..exceptions import InvalidInput, InvalidTransition, NotFound
from ..forms import FlagForm, GenerationOwnForm
from ..gmi import schema
from ..models import Generation
from ..selectors import generations as generation_reads
from ..selectors import teams as team_reads
from ..services import moderation, ownership, submissions, waiting_line
from ..templatetags.generations_tags import api_url
from ..types import AuthenticatedHttpRequest
from .base import attempt, found_or_404, own_generation_or_404, render_page, safe_next_url

STATUS_POLL_LIMIT = 100


def _status_item(request: HttpRequest, generation: Generation, positions: dict[Any, int]) -> dict[str, Any]:
    shows_files = permissions.may_see_files(request.user, generation)
    return {
        "id": str(generation.pk),
        "title": generation.display_title,
        "status": generation.status,
        "status_label": words.status_words(generation.status),
        "active": generation.is_active,
        "error": words.failure_words(generation),
        "removed": generation.is_removed,
        "queue_position": positions.get(generation.pk),
        "thumbnail_url": api_url("generation-thumbnail", generation.pk)
        if shows_files and generation.thumbnail_name else None,
        "video_url": api_url("generation-video", generation.pk) if shows_files and generation.video_name else None,
        "detail_url": reverse("generations:detail", args=[generation.pk]),
    }


@login_required
@require_GET
def generation_status(request: AuthenticatedHttpRequest) -> JsonResponse:
    """Live status of the generations whose ids are given (``?ids=a,b``), as far as the user may see them."""
    ids = []
    for raw in request.GET.get("ids", "").replace(" ", ",").split(",")[:STATUS_POLL_LIMIT]:
        try:
            ids.append(uuid.UUID(raw))
        except ValueError:
            continue
    items: list[Generation] = []
    if ids:
        items = list(generation_reads.visible_generations(request.user, include_all_for_staff=True).filter(pk__in=ids))
    positions = waiting_line.queue_positions(items)
    response = JsonResponse({"items": [_status_item(request, g, positions) for g in items]})
    response["Cache-Control"] = "no-store"
    return response


def _visible_or_404(request: HttpRequest, pk: Any) -> Generation:
    return found_or_404(generation_reads.get_visible_generation(request.user, pk), "generation")


@login_required
@require_GET
def detail(request: AuthenticatedHttpRequest, pk: uuid.UUID) -> HttpResponse:
    """One generation: player or status, prompt, parameters, history and what the user may do with it."""
    generation = _visible_or_404(request, pk)
    params = {p.name: p for p in schema.read_parameters(generation.model.parameters)}
    rows = [_parameter_row(name, value, params.get(name))
            for name, value in (generation.payload or {}).items()
            if not (generation.prompt and value == generation.prompt)  # shown in its own block above
            ] if isinstance(generation.payload, dict) else []
    positions = waiting_line.queue_positions([generation])
    is_owner = generation.owner_id == request.user.pk
    sees_removed = permissions.can_view_any_generation(request.user)
    shows_video = permissions.may_see_files(request.user, generation)
    return render_page(request, "generations/detail.html", {
        "generation": generation,
        "rows": rows,
        "events": list(generation.events.all()),
        "queue_position": positions.get(generation.pk),
        "is_owner": is_owner,
        "shows_video": shows_video,
        "removed_for_owner": generation.is_removed and is_owner and not sees_removed,
        "can_cancel": permissions.may_cancel(request.user, generation) and generation.is_cancellable,
        "can_delete": permissions.may_delete(request.user, generation),
        # The page offers reporting to viewers who have no better action: owners delete,
        # moderators decide; who may report at all is the selector's rule.
        "can_flag": not is_owner and not permissions.can_moderate_generations(request.user)
        and permissions.may_flag(request.user, generation),
        "already_flagged": generation.flags.filter(reporter=request.user.pk, resolved_at__isnull=True).exists(),
        "flag_form": FlagForm(),
        "own_teams": list(team_reads.teams_of(request.user)) if is_owner else [],
        "shape": generation_reads.video_shape(generation),
        "sees_notes": sees_removed,
        "video_url": api_url("generation-video", generation.pk) if shows_video else "",
        "thumbnail_url": api_url("generation-thumbnail", generation.pk)
        if shows_video and generation.thumbnail_name else "",
        "status_url": reverse("generations:status"),
    }, nav="gallery")


_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".avif", ".svg")


def _parameter_row(name: str, value: Any, param: Any) -> dict[str, Any]:
    """One payload value for reading: its schema label, the value in words, an image when it is one."""
    text = value if isinstance(value, str) else None
    url = text.strip() if text and text.strip().lower().startswith(("http://", "https://")) else ""
    parts = urlsplit(url) if url else None
    # Shown as an image only when the URL carries no query: a signed URL never reaches the page.
    image = bool(parts and not parts.query and parts.path.lower().endswith(_IMAGE_SUFFIXES))
    return {"name": name, "label": (param.label if param is not None and param.label else name),
            "value": value, "url": words.redact_urls(url) if url else "", "image": image}


@login_required
@require_POST
def update(request: AuthenticatedHttpRequest, pk: uuid.UUID) -> HttpResponse:
    """The owner renames, stars, keeps or shares the video (a plain form post; scripts ask for JSON)."""
    generation = _visible_or_404(request, pk)
    form = GenerationOwnForm(request.POST)
    wants_json = "application/json" in request.headers.get("Accept", "")
    if not form.is_valid():
        raise Http404("No such generation.")  # only the page's own controls post here
    try:
        generation = ownership.update_generation(generation=generation, user=request.user, **form.changes())
    except NotFound as exc:
        raise Http404("No such generation.") from exc
    except InvalidInput as exc:
        if wants_json:
            return JsonResponse({"detail": exc.message, "code": exc.code, "errors": exc.errors}, status=400)
        messages.error(request, refusals.page_words(exc))
    else:
        if wants_json:
            return JsonResponse({"id": str(generation.pk), "title": generation.display_title,
                                 "favorite": generation.favorite, "keep": generation.keep,
                                 "visibility": generation.visibility})
        messages.success(request, "Saved.")
    return redirect(safe_next_url(request, reverse("generations:detail", args=[generation.pk])))


@login_required
@require_http_methods(["GET", "POST"])
def delete(request: AuthenticatedHttpRequest, pk: uuid.UUID) -> HttpResponse:
    """Owner only: asks for confirmation on GET, deletes on POST."""
    generation = own_generation_or_404(request, pk)
    if request.method == "GET":
        return render_page(request, "generations/confirm_delete.html", {"generation": generation}, nav="gallery")
    if not attempt(request, lambda: submissions.delete_generation(generation=generation, actor=request.user),
                   done="The video was deleted.", refused=InvalidTransition):
        return redirect("generations:detail", pk=generation.pk)
    return redirect("generations:gallery")


@login_required
@require_POST
def cancel(request: AuthenticatedHttpRequest, pk: uuid.UUID) -> HttpResponse:
    generation = _visible_or_404(request, pk)
    if not permissions.may_cancel(request.user, generation):
        raise Http404("No such generation.")  # as the API answers: what you may not act on is not there
    attempt(request, lambda: submissions.cancel_generation(generation=generation, actor=request.user),
            done="The job was cancelled; its usage was given back.", refused=InvalidTransition)
    return redirect("generations:detail", pk=generation.pk)


@login_required
@require_POST
def flag(request: AuthenticatedHttpRequest, pk: uuid.UUID) -> HttpResponse:
    generation = _visible_or_404(request, pk)
    form = FlagForm(request.POST)
    if form.is_valid():
        attempt(request, lambda: moderation.flag_generation(generation=generation, user=request.user,
                                                            reason=form.cleaned_data["reason"]),
                done="Thank you: the site staff will review this video.", refused=InvalidTransition)
    else:
        messages.error(request, "Say why you are flagging this video.")
    return redirect("generations:detail", pk=generation.pk)
