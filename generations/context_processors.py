"""Template context of the app's pages: the base template to extend and the member's teams.

Optional in ``TEMPLATES``: every page view of the app passes the same values itself
(``page_context``), and templates fall back to ``generations/base.html``.
Add ``"generations.context_processors.generations"`` only for templates of your own
that extend ``generations_base_template`` outside the app's views.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.messages import get_messages
from django.db.models import F
from django.http import HttpRequest

from .conf import app_settings
from .models import Team
from .policies import awaiting_approval
from .selectors import notifications as notification_reads
from .selectors import teams as team_reads

_CACHE_ATTR = "_generations_member_state"
_BELL_ATTR = "_generations_bell"


@dataclass
class MemberState:
    """The signed-in member's teams and the team they work in; read once per request.

    ``unopened`` are the teams someone else added them to that they have not opened
    yet (each with ``my_membership_id`` for the "Leave" button).
    """

    teams: list[Team] = field(default_factory=list)
    current_team: Team | None = None
    unopened: list[Team] = field(default_factory=list)
    awaiting_approval: bool = False

    def team(self, slug: str | None) -> Team | None:
        return next((t for t in self.teams if t.slug == slug), None) if slug else None


def member_state(request: HttpRequest) -> MemberState:
    cached = getattr(request, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    user = getattr(request, "user", None)
    state = MemberState()
    if user is not None and user.is_authenticated:
        # The member's own membership row rides along on the same join: no extra query.
        state.teams = list(team_reads.teams_of(user).annotate(
            my_membership_id=F("memberships__id"), my_seen_at=F("memberships__seen_at")))
        state.unopened = [t for t in state.teams if t.my_seen_at is None]  # type: ignore[attr-defined]  # annotated above
        profile = getattr(user, "gmi_profile", None)
        current_id = profile.current_team_id if profile is not None else None
        state.current_team = next((t for t in state.teams if t.pk == current_id), None)
        state.awaiting_approval = awaiting_approval(user)
    setattr(request, _CACHE_ATTR, state)
    return state


def bell(request: HttpRequest | None) -> dict[str, Any]:
    """The notification bell's values (unread count, where it links and refreshes from), counted once per request."""
    user = getattr(request, "user", None)
    if request is None or user is None or not user.is_authenticated:
        return {"show": False}
    cached = getattr(request, _BELL_ATTR, None)
    if cached is None:
        cached = {"show": True, "unread": notification_reads.unread_notification_count(user),
                  "refresh_ms": int(float(app_settings.NOTIFICATION_BELL_REFRESH_SECONDS) * 1000)}
        setattr(request, _BELL_ATTR, cached)
    return cached


def forget_member_state(request: HttpRequest) -> None:
    """After the member's teams changed within the request."""
    if hasattr(request, _CACHE_ATTR):
        delattr(request, _CACHE_ATTR)


def page_context(request: HttpRequest | None = None) -> dict[str, Any]:
    base = app_settings.BASE_TEMPLATE or "generations/base.html"
    context: dict[str, Any] = {
        "generations_base_template": base,
        "generations_own_base": base == "generations/base.html",
    }
    if request is not None:
        # The pages show messages themselves, also in hosts without the messages context processor.
        context["messages"] = get_messages(request)
    return context


def generations(request: HttpRequest) -> dict[str, Any]:
    """Context processor: ``generations_base_template`` (and whether it is the app's own)."""
    return page_context(request)
