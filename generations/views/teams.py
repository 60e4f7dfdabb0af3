"""Team pages: the member's teams, one team's members, invitations and pools, joining, and switching teams."""
from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.forms import ChoiceField
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, resolve_url
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import permissions, refusals
from ..conf import app_settings
from ..context_processors import forget_member_state, member_state
from ..exceptions import AccountPending, GenerationError
from ..forms import InviteForm, MemberAddForm, MemberRoleForm, TeamCreateForm, TeamSwitchForm
from ..inputs import text_problem
from ..models import Membership, Team
from ..selectors import gallery as gallery_reads
from ..selectors import quotas as quota_reads
from ..selectors import teams as team_reads
from ..services import accounts, teams
from ..types import AuthenticatedHttpRequest
from .base import attempt, found_or_404, render_page, safe_next_url
from .usage import meters, usage_chart


@login_required
@require_http_methods(["GET", "POST"])
def team_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The member's teams, and a form to create one."""
    if request.method == "POST":
        form = TeamCreateForm(request.POST)
        if form.is_valid():
            try:
                team = teams.create_team(user=request.user, name=form.cleaned_data["name"])
            except GenerationError as exc:
                form.add_error("name", refusals.page_words(exc))
            else:
                messages.success(request, f"The team “{team.name}” was created. Invite people to it.")
                return redirect("generations:team", slug=team.slug)
    else:
        form = TeamCreateForm()
    memberships = (Membership.objects.filter(user=request.user.pk).select_related("team")
                   .order_by("team__name"))
    state = member_state(request)
    return render_page(request, "generations/teams.html", {
        "memberships": memberships, "form": form,
        "current_team": state.current_team,
        "invitations": list(team_reads.invitations_for(request.user)),
        "awaiting_approval": state.awaiting_approval,
        "invitation_days": app_settings.INVITATION_DAYS,
    }, nav="teams")


@login_required
@require_POST
def team_invitation_answer(request: AuthenticatedHttpRequest, invitation_id: int, answer: str) -> HttpResponse:
    """Accept or decline an invitation addressed to the member (only accepting makes them a member)."""
    try:
        if answer == "accept":
            membership = teams.accept_named_invitation(invitation_id=invitation_id, user=request.user)
        else:
            teams.decline_invitation(invitation_id=invitation_id, user=request.user)
    except GenerationError as exc:  # not theirs, not open any more, or the account waits for approval
        messages.error(request, refusals.page_words(exc))
        return redirect("generations:teams")
    if answer != "accept":
        messages.success(request, "Invitation declined. That team cannot invite you again for a while.")
        return redirect("generations:teams")
    forget_member_state(request)
    messages.success(request, f"Welcome to {membership.team.name}.")
    return redirect("generations:team", slug=membership.team.slug)


def _team_or_404(request: AuthenticatedHttpRequest, slug: str) -> tuple[Team, Membership | None]:
    team = Team.objects.filter(slug=slug).first()
    if team is None:
        raise Http404("No such team.")
    membership = team_reads.membership_of(request.user, team)
    if membership is None and not permissions.can_view_any_team(request.user):
        raise Http404("No such team.")
    return team, membership


@login_required
@require_GET
def team_detail(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    """Members and roles, invitations, the team's pools and its recent videos."""
    team, membership = _team_or_404(request, slug)
    if membership is not None and membership.seen_at is None and teams.open_team(user=request.user, team=team):
        forget_member_state(request)
    can_manage = permissions.may_manage_team(membership)
    recent = list(gallery_reads.gallery(request.user, tab="team", team=team)[:8]) if membership else []
    invitations, pending = [], []
    if can_manage:
        for inv in team.invitations.filter(team_reads.open_invitations_q()).order_by("-created_at"):
            if inv.username:
                pending.append(inv)
            else:
                invitations.append({"invitation": inv, "url": request.build_absolute_uri(
                    reverse("generations:team-join", args=[inv.token]))})
    return render_page(request, "generations/team_detail.html", {
        "team": team,
        "membership": membership,
        "can_manage": can_manage,
        "is_owner": membership is not None and membership.role == Membership.Role.OWNER,
        "members": team.memberships.select_related("user").order_by("role", "joined_at"),
        "add_form": MemberAddForm(),
        "invite_form": InviteForm(),
        "role_choices": cast(ChoiceField, MemberRoleForm.base_fields["role"]).choices,
        "invitations": invitations,
        "pending_invitations": pending,
        "invitation_days": app_settings.INVITATION_DAYS,
        "meters": meters(quota_reads.usage_for_team(team)),
        "chart": usage_chart(metric="credits", team=team),
        "recent": recent,
    }, nav="teams")


@login_required
@require_POST
def team_member_add(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    team, _ = _team_or_404(request, slug)
    form = MemberAddForm(request.POST)
    if form.is_valid():
        username = form.cleaned_data["username"]

        def added(outcome: Any) -> str:
            if isinstance(outcome, Membership):
                return f"{username} is now {outcome.get_role_display().lower()} of {team.name}."
            # The same words whether or not the account exists: inviting never tells who has one.
            return (f"Invitation recorded for “{username}”. If that account exists, it sees "
                    "the invitation and becomes a member only by accepting it.")

        attempt(request, lambda: teams.add_member(team=team, actor=request.user, username=username,
                                                  role=form.cleaned_data["role"]), done=added)
    else:
        messages.error(request, "Give the username of the person to invite.")
    return redirect("generations:team", slug=team.slug)


def _member_or_404(team: Team, membership_id: int) -> Membership:
    return found_or_404(team.memberships.select_related("user").filter(pk=membership_id).first(), "member")


@login_required
@require_POST
def team_member_role(request: AuthenticatedHttpRequest, slug: str, membership_id: int) -> HttpResponse:
    team, _ = _team_or_404(request, slug)
    member = _member_or_404(team, membership_id)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose admin or member.")
    elif member.role == Membership.Role.OWNER:
        messages.error(request, "An owner's role cannot be changed here.")
    else:
        attempt(request, lambda: teams.add_member(team=team, actor=request.user, username=member.user.get_username(),
                                                  role=form.cleaned_data["role"]),
                done=lambda changed: f"{member.user.get_username()} is now {changed.get_role_display().lower()}.")
    return redirect("generations:team", slug=team.slug)


@login_required
@require_POST
def team_member_remove(request: AuthenticatedHttpRequest, slug: str, membership_id: int) -> HttpResponse:
    team, _ = _team_or_404(request, slug)
    member = _member_or_404(team, membership_id)
    leaving = member.user_id == request.user.pk
    done = f"You left {team.name}." if leaving else f"{member.user.get_username()} was removed from {team.name}."
    if attempt(request, lambda: teams.remove_member(team=team, actor=request.user,
                                                    username=member.user.get_username()), done=done) and leaving:
        return redirect("generations:teams")
    return redirect("generations:team", slug=team.slug)


@login_required
@require_POST
def team_invite(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    team, _ = _team_or_404(request, slug)
    form = InviteForm(request.POST)
    if form.is_valid():
        attempt(request, lambda: teams.invite(team=team, actor=request.user, email=form.cleaned_data["email"],
                                              role=form.cleaned_data["role"]),
                done="Invitation link created: copy it from the list below and send it.")
    else:
        messages.error(request, "Check the email address.")
    return redirect("generations:team", slug=team.slug)


@login_required
@require_POST
def team_invite_revoke(request: AuthenticatedHttpRequest, slug: str, invitation_id: int) -> HttpResponse:
    team, _ = _team_or_404(request, slug)
    attempt(request, lambda: teams.revoke_invitation(team=team, actor=request.user, invitation_id=invitation_id),
            done="The invitation link no longer works.")
    return redirect("generations:team", slug=team.slug)


@require_http_methods(["GET", "POST"])
def team_join(request: HttpRequest, token: str) -> HttpResponse:
    """An invitation link: members accept it; visitors are offered to log in or sign up first."""
    # A code no invitation can have (a NUL byte) is simply not found.
    invitation = None if text_problem(token) else team_reads.open_invitation(token)
    if invitation is None:
        return render_page(request, "generations/team_join.html", {"invitation": None}, status=404)
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect(_login_url_with_next(request))
        try:
            membership = teams.accept_invitation(token=token, user=request.user)
        except AccountPending as exc:
            return render_page(request, "generations/team_join.html", {
                "invitation": invitation, "awaiting_approval": True, "refusal": refusals.page_words(exc),
            }, nav="teams", status=403)
        except GenerationError as exc:
            messages.error(request, refusals.page_words(exc))
            return redirect("generations:teams")
        messages.success(request, f"Welcome to {membership.team.name}.")
        return redirect("generations:team", slug=membership.team.slug)
    already = request.user.is_authenticated and team_reads.membership_of(request.user, invitation.team) is not None
    return render_page(request, "generations/team_join.html", {
        "invitation": invitation,
        "already_member": already,
        "awaiting_approval": request.user.is_authenticated and member_state(request).awaiting_approval,
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
def switch_team(request: AuthenticatedHttpRequest) -> HttpResponse:
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
