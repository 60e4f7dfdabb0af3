"""The gallery: own videos, or a team's shared ones, filtered and paginated."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from .. import refusals
from ..conf import app_settings
from ..context_processors import forget_member_state, member_state
from ..exceptions import GenerationError, InvalidInput, NotFound
from ..forms import GalleryCollectForm, GalleryFilterForm
from ..models import Collection, Generation
from ..selectors import gallery as gallery_reads
from ..selectors import generations as generation_reads
from ..selectors import studio as studio_reads
from ..selectors import teams as team_reads
from ..services import collections as collection_service
from ..services import teams, waiting_line
from ..types import AuthenticatedHttpRequest
from .base import render_page, safe_next_url


def _chosen_collection(collections: list[Collection], value: str | None) -> Collection | None:
    """The one of the member's ``collections`` whose id is ``value``; 404 for an id they may not open."""
    if not value:
        return None
    for collection in collections:
        if str(collection.pk) == value.strip():
            return collection
    raise Http404("No such collection.")


@login_required
@require_GET
def gallery(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Own videos, or a team's shared ones; filtered, paginated, live while jobs run."""
    state = member_state(request)
    models = gallery_reads.gallery_filter_models(request.user)
    collections = list(studio_reads.collections_of(request.user))
    collection = _chosen_collection(collections, request.GET.get("collection"))
    batch = None
    if request.GET.get("batch"):
        batch = studio_reads.batch_of(request.user, request.GET["batch"].strip())
        if batch is None:
            raise Http404("No such batch.")
    filter_form = GalleryFilterForm(request.GET or None, models=models, collections=collections)
    filters = filter_form.filters()
    tab = "team" if request.GET.get("tab") == "team" else "mine"
    team = None
    if tab == "team" and request.GET.get("team"):
        team = state.team(request.GET["team"])
        if team is None:
            raise Http404("No such team.")
        # Choosing the team's own tab is opening it.
        if team in state.unopened and teams.open_team(user=request.user, team=team):
            forget_member_state(request)
            state = member_state(request)
    if tab == "team" and not state.teams:
        generations = Generation.objects.none()
    else:
        generations = team_reads.hide_unopened_teams(
            gallery_reads.gallery(request.user, tab=tab, team=team, status=filters["status"],
                              model=filters["model"], q=filters["q"], favorites=bool(filters["favorites"]),
                              collection=collection, batch=batch),
            user=request.user)
    page = Paginator(generations, app_settings.PAGE_SIZE).get_page(request.GET.get("page"))
    items = list(page.object_list)
    positions = waiting_line.queue_positions(items)
    for generation in items:
        generation.queue_position = positions.get(generation.pk)  # type: ignore[attr-defined]  # for the template
        generation.shape = generation_reads.video_shape(generation)  # type: ignore[attr-defined]
    query = request.GET.copy()
    query.pop("page", None)
    view = "list" if request.GET.get("view") == "list" else "grid"
    other_view = request.GET.copy()
    other_view.pop("page", None)
    other_view["view"] = "grid" if view == "list" else "list"
    return render_page(request, "generations/gallery.html", {
        "page": page,
        "generations": items,
        "tab": tab,
        "show_owner": tab == "team",
        "team": team,
        "teams": state.teams,
        "filter_form": filter_form,
        "filters": filters,
        "filtered": any(filters.values()) or collection is not None or batch is not None,
        "collection": collection,
        "batch": batch,
        "collections": collections,
        "collect_form": GalleryCollectForm(collections=collections),
        "lightbox_collect_form": GalleryCollectForm(collections=collections, auto_id="gmi-lightbox-%s"),
        "back": f"{request.path}?{request.GET.urlencode()}" if request.GET else request.path,
        "query": query.urlencode(),
        "view": view,
        "other_view_query": other_view.urlencode(),
        "status_url": reverse("generations:status"),
    }, nav="gallery")


@login_required
@require_POST
def gallery_collect(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The ticked videos (or the lightbox's one) into a collection, a new one by name, or out of the one shown."""
    back = safe_next_url(request, reverse("generations:gallery"))
    collections = list(studio_reads.collections_of(request.user))
    removing = bool(request.POST.get("remove"))
    collection = _chosen_collection(collections, request.POST.get("remove" if removing else "collection"))
    form = GalleryCollectForm(request.POST, collections=collections)
    if not form.is_valid():
        for problems in form.errors.values():
            for problem in problems:
                messages.error(request, str(problem))
        return redirect(back)
    chosen = form.cleaned_data["generations"]
    if len(chosen) > collection_service.MAX_ITEMS_PER_CALL:
        messages.error(request, f"Choose at most {collection_service.MAX_ITEMS_PER_CALL} videos at once.")
        return redirect(back)
    if removing and collection is not None:
        _remove(request, collection, chosen)
        return redirect(back)
    try:
        if collection is None:
            collection, added = collection_service.add_to_new_collection(
                user=request.user, name=form.cleaned_data["name"], generation_ids=chosen)
        else:
            added = collection_service.add_to_collection(collection=collection, user=request.user,
                                                         generation_ids=chosen)
    except GenerationError as exc:  # a refused video, a bad name, the collection cap: each said in words
        messages.error(request, _refusal(exc, collection))
        return redirect(back)
    already = len(chosen) - added
    text = f"{_videos(added)} added to “{collection.name}”." if added else ""
    if already:
        text += f" {_videos(already)} {'was' if already == 1 else 'were'} in it already."
    messages.success(request, text.strip())
    return redirect(back)


def _remove(request: AuthenticatedHttpRequest, collection: Collection, chosen: list[str]) -> None:
    removed = 0
    for generation_id in chosen:  # at most MAX_ITEMS_PER_CALL, each one indexed delete
        try:
            collection_service.remove_from_collection(collection=collection, user=request.user,
                                                      generation_id=generation_id)
        except NotFound:
            continue  # taken out already, or never in it: nothing to undo
        removed += 1
    if removed:
        messages.success(request, f"{_videos(removed)} taken out of “{collection.name}”; the videos themselves stay.")
    else:
        messages.error(request, f"None of the chosen videos is in “{collection.name}” any more.")


def _videos(count: int) -> str:
    return "1 video" if count == 1 else f"{count} videos"


def _refusal(exc: GenerationError, collection: Collection | None) -> str:
    """The service's refusal in words for the page: its "not among" names ids, which mean nothing here."""
    if not isinstance(exc, InvalidInput) or "generations" not in exc.errors:
        return refusals.page_words(exc)  # the name or the collection limit: already plain words
    if collection is not None and collection.team_id is not None:
        return (f"“{collection.name}” is shared with a team and holds only videos shared with that team. "
                "Share the chosen videos with the team first, or pick one of your own collections.")
    return ("Some of the chosen videos are no longer yours to collect (deleted, or no longer shared with you). "
            "Reload the gallery and choose again.")
