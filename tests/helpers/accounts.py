"""Sign-up and log-in checks shared by the portal's allauth pages and the app's own account pages."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from generations.models import Membership, UserProfile
from generations.services import teams
from tests.helpers.factories import MembershipFactory, TeamFactory

PASSWORD = "a-Long-passphrase-42"
NEW_ACCOUNT = {"username": "dora", "email": "dora@example.com", "password1": PASSWORD, "password2": PASSWORD}


def logged_in_user(client):
    """Who the gallery sees behind ``client``'s session (None: sent to log in)."""
    response = client.get(reverse("generations:gallery"))
    return response.wsgi_request.user if response.status_code == 200 else None


@pytest.fixture
def invitation(user):
    """An open invitation to the team "Studio", which ``user`` owns."""
    team = TeamFactory(name="Studio", slug="studio")
    MembershipFactory(team=team, user=user, role=Membership.Role.OWNER)
    return teams.invite(team=team, actor=user)


def assert_signed_up_into_the_team(client, invitation, page, response) -> None:
    """The invitation page named the team; the new account "dora" joined it, is signed in and lands on it."""
    assert "You will join <strong>Studio</strong>" in page.content.decode()
    user = get_user_model().objects.get(username="dora")
    assert response["Location"] == reverse("generations:team", args=["studio"])
    membership = Membership.objects.get(user=user)
    assert membership.team.slug == "studio" and membership.role == Membership.Role.MEMBER
    invitation.refresh_from_db()
    assert invitation.accepted_by == user
    assert UserProfile.objects.get(user=user).current_team == membership.team
    assert logged_in_user(client) == user
