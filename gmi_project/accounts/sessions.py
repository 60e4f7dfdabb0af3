"""A member's sessions (allauth.usersessions): list them, end one, end all but this one."""
from __future__ import annotations

from typing import Any

from allauth.usersessions.models import UserSession
from django.http import HttpRequest


def sessions_of(user: Any) -> list[UserSession]:
    """The member's live sessions, newest activity first (ended or expired ones are purged on the way)."""
    return sorted(UserSession.objects.purge_and_list(user), key=lambda s: s.last_seen_at, reverse=True)


def end_session(*, user: Any, session_id: int) -> bool:
    """End one of the member's sessions; False when it is not theirs or is gone already."""
    session = UserSession.objects.filter(user=user, pk=session_id).first()
    if session is None:
        return False
    session.end()
    return True


def end_other_sessions(*, request: HttpRequest, user: Any) -> int:
    """End every session of ``user`` but the one making this request; how many ended."""
    current = request.session.session_key if getattr(request, "session", None) is not None else None
    others = UserSession.objects.filter(user=user)
    if current and getattr(request, "user", None) is not None and request.user.pk == user.pk:
        others = others.exclude(session_key=current)
    ended = 0
    for session in others:
        session.end()
        ended += 1
    return ended
