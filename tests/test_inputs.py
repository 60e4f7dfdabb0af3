"""Input no lookup can take (a NUL byte, which PostgreSQL refuses in text) in query parameters, ids,
slugs, usernames and join codes: a clear 400 in the API, "not found" or a form error on pages, never a 500.

Meant for PostgreSQL (``make test-postgres``), where these used to raise ``DataError``; on SQLite they
prove the same answers.
"""
from __future__ import annotations

from urllib.parse import quote

import pytest
from django.urls import reverse

from generations.models import Membership
from generations.services import teams
from tests.helpers.factories import GenerationFactory, MembershipFactory, TeamFactory, VideoModelFactory

pytestmark = pytest.mark.django_db

NUL = "a\x00b"
Q = quote(NUL)


@pytest.fixture
def studio(user):
    team = TeamFactory(slug="studio", name="Studio")
    MembershipFactory(team=team, user=user, role=Membership.Role.OWNER)
    VideoModelFactory(id="Veo3")
    GenerationFactory(owner=user, team=team, visibility="team", prompt="a kite")
    return team


@pytest.mark.parametrize(("method", "path", "field"), [
    ("get", f"/api/v1/generations/?q={Q}", "q"),
    ("get", f"/api/v1/generations/?status={Q}", "status"),
    ("get", f"/api/v1/generations/?model={Q}", "model"),
    ("get", f"/api/v1/generations/?team={Q}", "team"),
    ("get", f"/api/v1/generations/?page={Q}", "page"),
    ("get", f"/api/v1/generations/{Q}/", "pk"),
    ("get", f"/api/v1/models/{Q}/", "model_id"),
    ("get", f"/api/v1/models/?page={Q}", "page"),
    ("get", f"/api/v1/teams/{Q}/", "slug"),
    ("post", f"/api/v1/teams/{Q}/members/", "slug"),
    ("delete", f"/api/v1/teams/studio/members/{Q}/", "username"),
    ("get", f"/api/v1/notifications/?unread={Q}", "unread"),
])
def test_a_nul_byte_in_the_api_is_a_400_naming_the_parameter(api_client, user, studio, method, path, field):
    api_client.force_authenticate(user)
    response = getattr(api_client, method)(path, {"username": "x"} if method == "post" else None, format="json")

    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid_characters" and field in body["errors"] and "NUL" in body["detail"]


def test_a_nul_byte_in_a_username_to_invite_is_refused(api_client, user, studio):
    api_client.force_authenticate(user)
    as_json = api_client.post("/api/v1/teams/studio/members/", {"username": NUL}, format="json")
    as_form = api_client.post("/api/v1/teams/studio/members/", {"username": NUL})
    assert as_json.status_code == 400 and as_json.json()["code"] == "parse_error"  # the JSON parser's own check
    assert as_form.status_code == 400 and "username" in as_form.json()["errors"]


@pytest.mark.parametrize("query", [f"q={Q}", f"status={Q}", f"model={Q}", f"tab=team&team={Q}", f"page={Q}"])
def test_a_nul_byte_in_the_gallery_filters_is_no_match_or_a_form_error(client, user, studio, query):
    client.force_login(user)
    response = client.get(f"{reverse('generations:gallery')}?{query}")
    assert response.status_code in (200, 400, 404)


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_nul_byte_in_a_join_code_is_an_invalid_invitation(client, user, studio, method):
    client.force_login(user)
    response = getattr(client, method)(f"/teams/join/{Q}/")
    assert response.status_code == 404 and "This invitation is not valid" in response.content.decode()


def test_the_submit_page_and_team_forms_take_a_nul_byte_as_a_form_error(client, user, studio):
    client.force_login(user)
    assert client.get(f"{reverse('generations:submit')}?model={Q}").status_code == 200
    assert client.get(f"{reverse('generations:submit')}?from={Q}").status_code == 404
    added = client.post(reverse("generations:team-member-add", args=["studio"]), {"username": NUL, "role": "member"})
    assert added.status_code == 302 and not Membership.objects.filter(team=studio).exclude(user=user).exists()
    assert client.post(reverse("generations:switch-team"), {"team": NUL}).status_code in (302, 404)


def test_services_refuse_a_nul_byte_before_any_lookup(user, studio):
    from generations.exceptions import InvalidCharacters  # here, so the other tests run where it is missing

    for call in (lambda: teams.add_member(team=studio, actor=user, username=NUL),
                 lambda: teams.remove_member(team=studio, actor=user, username=NUL),
                 lambda: teams.accept_invitation(token=NUL, user=user)):
        with pytest.raises(InvalidCharacters):
            call()
