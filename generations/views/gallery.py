"""The gallery: own videos, or a team's shared ones, filtered and paginated."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from .. import selectors
from ..conf import app_settings
from ..context_processors import forget_member_state, member_state
from ..forms import GalleryFilterForm
from ..models import Generation
from ..services import teams, waiting_line
from ..types import AuthenticatedHttpRequest
from .base import render_page


@login_required
@require_GET
def gallery(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Own videos, or a team's shared ones; filtered, paginated, live while jobs run."""
    state = member_state(request)
    models = selectors.gallery_filter_models(request.user)
    filter_form = GalleryFilterForm(request.GET or None, models=models)
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
        generations = teams.hide_unopened_teams(
            selectors.gallery(request.user, tab=tab, team=team, status=filters["status"],
                              model=filters["model"], q=filters["q"], favorites=bool(filters["favorites"])),
            user=request.user)
    page = Paginator(generations, app_settings.PAGE_SIZE).get_page(request.GET.get("page"))
    items = list(page.object_list)
    positions = waiting_line.queue_positions(items)
    for generation in items:
        generation.queue_position = positions.get(generation.pk)  # type: ignore[attr-defined]  # for the template
        generation.shape = selectors.video_shape(generation)  # type: ignore[attr-defined]
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
        "filtered": any(filters.values()),
        "query": query.urlencode(),
        "view": view,
        "other_view_query": other_view.urlencode(),
        "status_url": reverse("generations:status"),
    }, nav="gallery")
