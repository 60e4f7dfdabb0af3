"""Which team invitation a visitor is signing up with: from the link (?invite=), the form, or the session."""
from __future__ import annotations

from django.http import HttpRequest

from generations.models import TeamInvitation
from generations.selectors import teams as team_reads

INVITATION_SESSION_KEY = "gmi_invitation"


def invitation_for(request: HttpRequest) -> TeamInvitation | None:
    """The open invitation this visitor brings, remembered in the session for the rest of the sign-up
    (an SSO sign-up leaves the site and comes back)."""
    token = (request.POST.get("invitation") if request.method == "POST" else "") or request.GET.get("invite") or ""
    if token:
        request.session[INVITATION_SESSION_KEY] = token
    else:
        token = request.session.get(INVITATION_SESSION_KEY, "")
    return team_reads.open_invitation(token)


def forget_invitation(request: HttpRequest) -> None:
    request.session.pop(INVITATION_SESSION_KEY, None)
