"""Member pages: gallery, submit, detail, usage, API tokens and teams. Thin: parse, call a service or selector, render."""
from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import charts, permissions, reports, selectors
from .conf import app_settings
from .context_processors import forget_member_state, member_state, page_context
from .exceptions import (
    GenerationError,
    IdempotencyConflict,
    InvalidInput,
    InvalidTransition,
    NotAllowed,
    PayloadInvalid,
    QuotaExceeded,
    UploadRejected,
    UpstreamFailure,
)
from .forms import (
    FlagForm,
    GalleryFilterForm,
    InviteForm,
    MemberAddForm,
    MemberRoleForm,
    ParameterForm,
    SubmitForm,
    TeamCreateForm,
    TeamSwitchForm,
    TokenCreateForm,
)
from .gmi import schema
from .models import ApiToken, Generation, Membership, Team
from .services import (
    accounts,
    moderation,
    quotas,
    submissions,
    teams,
    tokens,
    uploads,
    waiting_line,
)
from .templatetags.generations_tags import api_url

STATUS_POLL_LIMIT = 100

METRICS = {
    "daily_jobs": ("Jobs today", "jobs"),
    "concurrent_jobs": ("Running at once", "jobs"),
    "monthly_video_seconds": ("Video this month", "seconds"),
    "monthly_credits": ("Credits this month", "credits"),
}


def render_page(request: HttpRequest, template: str, context: dict[str, Any] | None = None, *,
                nav: str = "", status: int = 200) -> HttpResponse:
    """Render an app page with what its templates need to sit in the host site's base template."""
    return render(request, template, {**page_context(request), "generations_nav_active": nav, **(context or {})},
                  status=status)


def safe_next_url(request: HttpRequest, fallback: str) -> str:
    """The ``next`` parameter when it points back into this site, else ``fallback``."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return fallback


# --------------------------------------------------------------------------- gallery


@login_required
@require_GET
def gallery(request: HttpRequest) -> HttpResponse:
    """Own videos, or a team's shared ones; filtered, paginated, live while jobs run."""
    state = member_state(request)
    models = list(selectors.enabled_models())
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
                              model=filters["model"], q=filters["q"]), user=request.user)
    page = Paginator(generations, app_settings.PAGE_SIZE).get_page(request.GET.get("page"))
    items = list(page.object_list)
    positions = waiting_line.queue_positions(items)
    for generation in items:
        generation.queue_position = positions.get(generation.pk)
    query = request.GET.copy()
    query.pop("page", None)
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
        "status_url": reverse("generations:status"),
    }, nav="gallery")


def _status_item(request: HttpRequest, generation: Generation, positions: dict[Any, int]) -> dict[str, Any]:
    shows_files = selectors.shows_files(request.user, generation)
    return {
        "id": str(generation.pk),
        "status": generation.status,
        "status_label": generation.get_status_display(),
        "active": generation.is_active,
        "error": generation.error,
        "removed": generation.is_removed,
        "queue_position": positions.get(generation.pk),
        "thumbnail_url": api_url("generation-thumbnail", generation.pk)
        if shows_files and generation.thumbnail_name else None,
        "video_url": api_url("generation-video", generation.pk) if shows_files and generation.video_name else None,
        "detail_url": reverse("generations:detail", args=[generation.pk]),
    }


@login_required
@require_GET
def generation_status(request: HttpRequest) -> JsonResponse:
    """Live status of the generations whose ids are given (``?ids=a,b``), as far as the user may see them."""
    ids = []
    for raw in request.GET.get("ids", "").replace(" ", ",").split(",")[:STATUS_POLL_LIMIT]:
        try:
            ids.append(uuid.UUID(raw))
        except ValueError:
            continue
    items: list[Generation] = []
    if ids:
        items = list(selectors.visible_generations(request.user, include_all_for_staff=True).filter(pk__in=ids))
    positions = waiting_line.queue_positions(items)
    response = JsonResponse({"items": [_status_item(request, g, positions) for g in items]})
    response["Cache-Control"] = "no-store"
    return response


# --------------------------------------------------------------------------- submit


def _quota_message(exc: QuotaExceeded) -> str:
    label = METRICS.get(exc.limit, (exc.limit.replace("_", " "), ""))[0].lower()
    who = "your team's" if exc.scope == "team" else "your"
    text = f"This job would go over {who} limit ({label})."
    if exc.resets_at is not None:
        when = formats.date_format(timezone.localtime(exc.resets_at), "DATETIME_FORMAT")
        text += f" The limit resets on {when}."
    return text


@login_required
@require_http_methods(["GET", "POST"])
def submit(request: HttpRequest) -> HttpResponse:
    """The submit page: a model picker and a form built from that model's parameter schema."""
    state = member_state(request)
    models = list(selectors.enabled_models())
    source = None
    source_id = request.POST.get("rerun_of") if request.method == "POST" else request.GET.get("from")
    if source_id:
        source = selectors.get_visible_generation(request.user, source_id)
        if source is None:
            raise Http404("No such generation.")
    wanted = (request.POST.get("model") if request.method == "POST" else request.GET.get("model")) or (
        source.model_id if source else "")
    model = next((m for m in models if m.pk == wanted), None)
    if model is None and wanted and request.method == "GET":
        messages.warning(request, f"The model “{wanted}” is not available at the moment; pick another one.")
    if model is None and request.method == "GET" and models:
        model = models[0]
    params = schema.read_parameters(model.parameters) if model is not None else []

    prefill = source.payload if source is not None and model is not None and source.model_id == model.pk else None
    initial_team = None
    if source is not None and source.team_id:
        initial_team = state.team(source.team.slug)
    elif source is None:
        initial_team = state.current_team
    initial = {
        "model": model.pk if model else "",
        "team": initial_team.slug if initial_team else "",
        "visibility": (source.visibility if source is not None and initial_team else
                       Generation.Visibility.TEAM if initial_team else Generation.Visibility.PRIVATE),
        "rerun_of": source.pk if source else None,
        "idempotency_key": uuid.uuid4().hex,
    }
    top_errors: list[str] = []
    if request.method == "POST":
        submit_form = SubmitForm(request.POST, models=models, teams=state.teams, initial=initial)
        param_form = ParameterForm(params, request.POST, request.FILES, payload=None)
        if model is None:
            top_errors.append("This model is not available any more. Choose another one.")
        elif submit_form.is_valid() and param_form.is_valid():
            generation = _submit(request, model=model, source=source, submit_form=submit_form,
                                 param_form=param_form, top_errors=top_errors)
            if generation is not None:
                messages.success(request, "Your video is queued. This page updates as it runs.")
                return redirect("generations:detail", pk=generation.pk)
        elif not submit_form.is_valid() and "model" in submit_form.errors:
            top_errors.append("Choose one of the models in the list.")
    else:
        submit_form = SubmitForm(models=models, teams=state.teams, initial=initial)
        param_form = ParameterForm(params, payload=prefill)

    return render_page(request, "generations/submit.html", {
        "models": models,
        "model": model,
        "params": params,
        "submit_form": submit_form,
        "param_form": param_form,
        "top_errors": top_errors,
        "source": source,
        "teams": state.teams,
        "price": _price_text(model),
        "quote_url": api_url("generation-quote"),
        "upload_url": api_url("upload"),
    }, nav="submit")


def _with_uploads(request: HttpRequest, param_form: ParameterForm, payload: dict[str, Any]) -> bool:
    """Send files posted with the form (no JavaScript) to GMI and put their URLs in the payload."""
    for name, files in param_form.uploads(request.FILES).items():
        try:
            urls = [uploads.upload_reference(user=request.user, uploaded_file=f).public_url for f in files]
        except (UploadRejected, UpstreamFailure, NotAllowed) as exc:
            param_form.add_error(name, exc.message)
            return False
        if param_form.by_name[name].multiple:
            existing = payload.get(name) or []
            payload[name] = [*(existing if isinstance(existing, list) else [existing]), *urls]
        else:
            payload[name] = urls[0]
        # Should the job be refused, the page keeps the links: the files need no second upload.
        param_form.data = param_form.data.copy()
        value = payload[name]
        param_form.data[param_form.add_prefix(name)] = "\n".join(value) if isinstance(value, list) else value
    return True


def _submit(request: HttpRequest, *, model: Any, source: Generation | None, submit_form: SubmitForm,
            param_form: ParameterForm, top_errors: list[str]) -> Generation | None:
    """Call the submission service; on refusal attach its messages to the forms and return None."""
    payload = param_form.payload()
    if not _with_uploads(request, param_form, payload):
        return None
    try:
        return submissions.submit_generation(
            user=request.user, model_id=model.pk, payload=payload,
            team=submit_form.cleaned_data["team"] or None,
            visibility=submit_form.cleaned_data["visibility"],
            idempotency_key=submit_form.cleaned_data["idempotency_key"] or None,
            rerun_of=source,
        )
    except PayloadInvalid as exc:
        for name, problems in param_form.add_service_errors(exc.errors).items():
            if name in submit_form.fields:
                for problem in problems:
                    submit_form.add_error(name, problem)
            elif name == schema.NON_FIELD_ERRORS:
                top_errors.extend(problems)
            else:
                top_errors.extend(f"{name}: {problem}" for problem in problems)
        if not top_errors:
            top_errors.append("Some parameters need another look: see the messages next to them.")
    except InvalidInput as exc:
        for name, problems in exc.errors.items():
            for problem in problems:
                if name in submit_form.fields:
                    submit_form.add_error(name, problem)
                else:
                    top_errors.append(problem)
    except QuotaExceeded as exc:
        top_errors.append(_quota_message(exc))
    except IdempotencyConflict:
        top_errors.append("This form was already sent once. Check your gallery, or send it again now.")
        submit_form.data = submit_form.data.copy()
        submit_form.data["idempotency_key"] = uuid.uuid4().hex
    except GenerationError as exc:  # ModelUnavailable, NotAllowed, PromptBlocked ...
        top_errors.append(exc.message)
    return None


def _price_text(model: Any) -> str:
    if model is None or not model.price_credits:
        return "No credits charged"
    amount = formats.number_format(model.price_credits, decimal_pos=0 if model.price_credits == int(
        model.price_credits) else 2)
    return f"{amount} credits per second of video" if model.price_unit == "second" else f"{amount} credits per job"


# --------------------------------------------------------------------------- detail


def _visible_or_404(request: HttpRequest, pk: Any) -> Generation:
    generation = selectors.get_visible_generation(request.user, pk)
    if generation is None:
        raise Http404("No such generation.")
    return generation


def _own_or_404(request: HttpRequest, pk: Any) -> Generation:
    generation = selectors.get_visible_generation(request.user, pk, staff_sees_all=False)
    if generation is None or not selectors.may_delete(request.user, generation):
        raise Http404("No such generation.")
    return generation


@login_required
@require_GET
def detail(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    """One generation: player or status, prompt, parameters, history and what the user may do with it."""
    generation = _visible_or_404(request, pk)
    params = {p.name: p for p in schema.read_parameters(generation.model.parameters)}
    rows = [
        {"name": name, "label": params[name].label if name in params else name, "value": value}
        for name, value in (generation.payload or {}).items()
    ] if isinstance(generation.payload, dict) else []
    positions = waiting_line.queue_positions([generation])
    is_owner = generation.owner_id == request.user.pk
    sees_removed = permissions.can_view_any_generation(request.user)
    shows_video = selectors.shows_files(request.user, generation)
    return render_page(request, "generations/detail.html", {
        "generation": generation,
        "rows": rows,
        "events": list(generation.events.all()),
        "queue_position": positions.get(generation.pk),
        "is_owner": is_owner,
        "shows_video": shows_video,
        "removed_for_owner": generation.is_removed and is_owner and not sees_removed,
        "can_cancel": selectors.may_cancel(request.user, generation) and generation.status in (
            Generation.Status.QUEUED, *Generation.AT_UPSTREAM),
        "can_delete": selectors.may_delete(request.user, generation),
        # Moderators decide instead of reporting; any other viewer of a team video may report it.
        "can_flag": not is_owner and not permissions.can_moderate_generations(request.user)
        and generation.visibility == Generation.Visibility.TEAM,
        "already_flagged": generation.flags.filter(reporter=request.user, resolved_at__isnull=True).exists(),
        "flag_form": FlagForm(),
        "video_url": api_url("generation-video", generation.pk) if shows_video else "",
        "thumbnail_url": api_url("generation-thumbnail", generation.pk)
        if shows_video and generation.thumbnail_name else "",
        "status_url": reverse("generations:status"),
    }, nav="gallery")


@login_required
@require_http_methods(["GET", "POST"])
def delete(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    """Owner only: asks for confirmation on GET, deletes on POST."""
    generation = _own_or_404(request, pk)
    if request.method == "GET":
        return render_page(request, "generations/confirm_delete.html", {"generation": generation}, nav="gallery")
    try:
        submissions.delete_generation(generation=generation, actor=request.user)
    except InvalidTransition as exc:
        messages.error(request, exc.message)
        return redirect("generations:detail", pk=generation.pk)
    messages.success(request, "The video was deleted.")
    return redirect("generations:gallery")


@login_required
@require_POST
def cancel(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    generation = _visible_or_404(request, pk)
    if not selectors.may_cancel(request.user, generation):
        raise Http404("No such generation.")  # as the API answers: what you may not act on is not there
    try:
        submissions.cancel_generation(generation=generation, actor=request.user)
    except InvalidTransition as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "The job was cancelled; its usage was given back.")
    return redirect("generations:detail", pk=generation.pk)


@login_required
@require_POST
def flag(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    generation = _visible_or_404(request, pk)
    form = FlagForm(request.POST)
    if form.is_valid():
        try:
            moderation.flag_generation(generation=generation, user=request.user, reason=form.cleaned_data["reason"])
        except InvalidTransition as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "Thank you: the site staff will review this video.")
    else:
        messages.error(request, "Say why you are flagging this video.")
    return redirect("generations:detail", pk=generation.pk)


# --------------------------------------------------------------------------- usage


def meters(usage: dict[str, Any]) -> list[dict[str, Any]]:
    """Limits, usage and reset times from ``quotas.usage_for_*`` as rows for the meter template."""
    rows = []
    for key, limit in usage.get("limits", {}).items():
        label, unit = METRICS.get(key, (key.replace("_", " ").capitalize(), ""))
        used = usage.get("used", {}).get(key, 0) or 0
        percent = 0
        if limit:
            percent = max(0, min(100, round(float(used) / float(limit) * 100)))
        elif limit == 0:
            percent = 100
        rows.append({
            "key": key, "label": label, "unit": unit, "limit": limit, "used": used,
            "remaining": usage.get("remaining", {}).get(key), "percent": percent,
            "unlimited": limit is None, "state": "full" if percent >= 100 else "warn" if percent >= 80 else "ok",
            "resets_at": usage.get("resets_at", {}).get(key),
        })
    return rows


CHART_METRICS = {
    "jobs": ("Jobs per day", "jobs"),
    "credits": ("Credits per day", "credits"),
    "video_seconds": ("Seconds of video per day", "s"),
}


def usage_chart(*, metric: str, user: Any = None, team: Team | None = None) -> Any:
    """A 30-day bar chart (inline SVG) of one metric for a user or a team."""
    title, unit = CHART_METRICS[metric]
    days = reports.daily_usage(user=user, team=team, days=30)
    return charts.bar_chart([(d.day.isoformat(), getattr(d, metric)) for d in days], title=title, unit=unit,
                            horizontal=False)


@login_required
@require_GET
def usage(request: HttpRequest) -> HttpResponse:
    """Every limit with what is used and when it resets, the team pools, and 30 days of usage."""
    data = quotas.usage_for_user(request.user)
    metric = request.GET.get("chart") if request.GET.get("chart") in CHART_METRICS else "jobs"
    team_rows = [{"name": t["name"], "slug": t["team"], "meters": meters(t)} for t in data.get("teams", [])]
    return render_page(request, "generations/usage.html", {
        "meters": meters(data),
        "team_usage": team_rows,
        "chart": usage_chart(metric=metric, user=request.user),
        "chart_metric": metric,
        "chart_metrics": [(key, title) for key, (title, _) in CHART_METRICS.items()],
    }, nav="usage")


# --------------------------------------------------------------------------- API tokens


@login_required
@require_http_methods(["GET", "POST"])
def api_tokens(request: HttpRequest) -> HttpResponse:
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
    new_token = ApiToken.objects.filter(pk=shown["id"], user=request.user).first() if shown else None
    response = render_page(request, "generations/tokens.html", {
        "tokens": ApiToken.objects.filter(user=request.user).order_by("-created_at"),
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
def revoke_token(request: HttpRequest, token_id: int) -> HttpResponse:
    token = ApiToken.objects.filter(user=request.user, pk=token_id).first()
    if token is None:
        raise Http404("No such token.")
    tokens.revoke_token(token=token)
    messages.success(request, f"The token “{token.name}” was revoked.")
    return redirect("generations:tokens")


# --------------------------------------------------------------------------- teams


@login_required
@require_http_methods(["GET", "POST"])
def team_list(request: HttpRequest) -> HttpResponse:
    """The member's teams, and a form to create one."""
    if request.method == "POST":
        form = TeamCreateForm(request.POST)
        if form.is_valid():
            try:
                team = teams.create_team(user=request.user, name=form.cleaned_data["name"])
            except GenerationError as exc:
                form.add_error("name", exc.message)
            else:
                messages.success(request, f"The team “{team.name}” was created. Invite people to it.")
                return redirect("generations:team", slug=team.slug)
    else:
        form = TeamCreateForm()
    memberships = (Membership.objects.filter(user=request.user).select_related("team")
                   .order_by("team__name"))
    return render_page(request, "generations/teams.html", {
        "memberships": memberships, "form": form,
        "current_team": member_state(request).current_team,
    }, nav="teams")


def _team_or_404(request: HttpRequest, slug: str) -> tuple[Team, Membership | None]:
    team = Team.objects.filter(slug=slug).first()
    if team is None:
        raise Http404("No such team.")
    membership = teams.membership_of(request.user, team)
    if membership is None and not permissions.can_view_any_team(request.user):
        raise Http404("No such team.")
    return team, membership


@login_required
@require_GET
def team_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """Members and roles, invitations, the team's pools and its recent videos."""
    team, membership = _team_or_404(request, slug)
    if membership is not None and membership.seen_at is None and teams.open_team(user=request.user, team=team):
        forget_member_state(request)
    can_manage = membership is not None and membership.can_manage
    recent = list(selectors.gallery(request.user, tab="team", team=team)[:8]) if membership else []
    invitations = []
    if can_manage:
        invitations = [
            {"invitation": inv, "url": request.build_absolute_uri(reverse("generations:team-join", args=[inv.token]))}
            for inv in team.invitations.filter(teams.open_invitations_q()).order_by("-created_at")
        ]
    return render_page(request, "generations/team_detail.html", {
        "team": team,
        "membership": membership,
        "can_manage": can_manage,
        "is_owner": membership is not None and membership.role == Membership.Role.OWNER,
        "members": team.memberships.select_related("user").order_by("role", "joined_at"),
        "add_form": MemberAddForm(),
        "invite_form": InviteForm(),
        "role_choices": MemberRoleForm.base_fields["role"].choices,
        "invitations": invitations,
        "invitation_days": app_settings.INVITATION_DAYS,
        "meters": meters(quotas.usage_for_team(team)),
        "chart": usage_chart(metric="credits", team=team),
        "recent": recent,
    }, nav="teams")


@login_required
@require_POST
def team_member_add(request: HttpRequest, slug: str) -> HttpResponse:
    team, _ = _team_or_404(request, slug)
    form = MemberAddForm(request.POST)
    if form.is_valid():
        try:
            added = teams.add_member(team=team, actor=request.user, username=form.cleaned_data["username"],
                                     role=form.cleaned_data["role"])
        except GenerationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"{added.user.get_username()} is now {added.get_role_display().lower()} "
                                      f"of {team.name}.")
    else:
        messages.error(request, "Give the username of an existing account.")
    return redirect("generations:team", slug=team.slug)


def _member_or_404(team: Team, membership_id: int) -> Membership:
    member = team.memberships.select_related("user").filter(pk=membership_id).first()
    if member is None:
        raise Http404("No such member.")
    return member


@login_required
@require_POST
def team_member_role(request: HttpRequest, slug: str, membership_id: int) -> HttpResponse:
    team, _ = _team_or_404(request, slug)
    member = _member_or_404(team, membership_id)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose admin or member.")
    elif member.role == Membership.Role.OWNER:
        messages.error(request, "An owner's role cannot be changed here.")
    else:
        try:
            changed = teams.add_member(team=team, actor=request.user, username=member.user.get_username(),
                                       role=form.cleaned_data["role"])
        except GenerationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"{member.user.get_username()} is now {changed.get_role_display().lower()}.")
    return redirect("generations:team", slug=team.slug)


@login_required
@require_POST
def team_member_remove(request: HttpRequest, slug: str, membership_id: int) -> HttpResponse:
    team, _ = _team_or_404(request, slug)
    member = _member_or_404(team, membership_id)
    leaving = member.user_id == request.user.pk
    try:
        teams.remove_member(team=team, actor=request.user, username=member.user.get_username())
    except GenerationError as exc:
        messages.error(request, exc.message)
        return redirect("generations:team", slug=team.slug)
    if leaving:
        messages.success(request, f"You left {team.name}.")
        return redirect("generations:teams")
    messages.success(request, f"{member.user.get_username()} was removed from {team.name}.")
    return redirect("generations:team", slug=team.slug)


@login_required
@require_POST
def team_invite(request: HttpRequest, slug: str) -> HttpResponse:
    team, _ = _team_or_404(request, slug)
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            teams.invite(team=team, actor=request.user, email=form.cleaned_data["email"],
                         role=form.cleaned_data["role"])
        except GenerationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "Invitation link created: copy it from the list below and send it.")
    else:
        messages.error(request, "Check the email address.")
    return redirect("generations:team", slug=team.slug)


@login_required
@require_POST
def team_invite_revoke(request: HttpRequest, slug: str, invitation_id: int) -> HttpResponse:
    team, _ = _team_or_404(request, slug)
    try:
        teams.revoke_invitation(team=team, actor=request.user, invitation_id=invitation_id)
    except GenerationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "The invitation link no longer works.")
    return redirect("generations:team", slug=team.slug)


@require_http_methods(["GET", "POST"])
def team_join(request: HttpRequest, token: str) -> HttpResponse:
    """An invitation link: members accept it; visitors are offered to log in or sign up first."""
    invitation = accounts.open_invitation(token)
    if invitation is None:
        return render_page(request, "generations/team_join.html", {"invitation": None}, status=404)
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect(_login_url_with_next(request))
        try:
            membership = teams.accept_invitation(token=token, user=request.user)
        except GenerationError as exc:
            messages.error(request, exc.message)
            return redirect("generations:teams")
        messages.success(request, f"Welcome to {membership.team.name}.")
        return redirect("generations:team", slug=membership.team.slug)
    already = request.user.is_authenticated and teams.membership_of(request.user, invitation.team) is not None
    return render_page(request, "generations/team_join.html", {
        "invitation": invitation,
        "already_member": already,
        "login_url": _login_url_with_next(request),
        "signup_url": _signup_url_for(token),
    }, nav="teams")


def _login_url_with_next(request: HttpRequest) -> str:
    return f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': request.get_full_path()})}"


def _signup_url_for(token: str) -> str:
    try:
        return f"{reverse('signup')}?{urlencode({'invite': token})}"
    except NoReverseMatch:
        return ""


@login_required
@require_POST
def switch_team(request: HttpRequest) -> HttpResponse:
    """Remember the team the member works in (``UserProfile.current_team``)."""
    form = TeamSwitchForm(request.POST)
    form.is_valid()
    slug = form.cleaned_data.get("team") or ""
    team = member_state(request).team(slug) if slug else None
    if slug and team is None:
        raise Http404("No such team.")
    accounts.set_current_team(user=request.user, team=team)
    forget_member_state(request)
    messages.success(request, f"You now work in {team.name}." if team else "You now work on your own.")
    return redirect(safe_next_url(request, reverse("generations:gallery")))
