"""PATCH /api/v1/generations/{id}/: the owner renames, stars, keeps and moves a video between private and a team."""
from __future__ import annotations

import pytest

from generations.models import Generation
from generations.services.tokens import create_token
from tests.helpers.factories import GenerationFactory, MembershipFactory, TeamFactory, UserFactory
from tests.helpers.settings import override_generations

pytestmark = pytest.mark.django_db


def _client(api_client, user):
    _, key = create_token(user=user)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return api_client


def _url(generation):
    return f"/api/v1/generations/{generation.pk}/"


def test_owner_renames_stars_and_keeps(api_client, user):
    generation = GenerationFactory(owner=user, succeeded=True, payload={"prompt": "a fox", "durationSeconds": 6,
                                                                          "aspectRatio": "9:16"}, prompt="a fox")
    response = _client(api_client, user).patch(_url(generation), {"title": "  Fox  at dusk ", "favorite": True,
                                                                  "keep": True}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["title"], body["favorite"], body["keep"]) == ("Fox at dusk", True, True)
    assert (body["aspect_ratio"], body["duration_seconds"]) == ("9:16", 6)
    generation.refresh_from_db()
    assert (generation.title, generation.favorite, generation.keep) == ("Fox at dusk", True, True)


def test_blank_title_reads_as_the_prompts_first_words(api_client, user):
    generation = GenerationFactory(owner=user, title="Old", prompt="a lantern floating over a lake at night")
    body = _client(api_client, user).patch(_url(generation), {"title": ""}, format="json").json()
    assert body["title"].startswith("a lantern floating")


def test_someone_else_gets_404_and_nothing_changes(api_client, user, other_user):
    team = TeamFactory()
    MembershipFactory(team=team, user=user)
    MembershipFactory(team=team, user=other_user)
    generation = GenerationFactory(owner=user, team=team, visibility=Generation.Visibility.TEAM)
    response = _client(api_client, other_user).patch(_url(generation), {"favorite": True}, format="json")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    generation.refresh_from_db()
    assert generation.favorite is False


def test_moving_into_a_team_only_one_the_owner_belongs_to(api_client, user):
    mine, theirs = TeamFactory(slug="mine"), TeamFactory(slug="theirs")
    MembershipFactory(team=mine, user=user)
    MembershipFactory(team=theirs, user=UserFactory())
    generation = GenerationFactory(owner=user)
    client = _client(api_client, user)
    refused = client.patch(_url(generation), {"team": "theirs", "visibility": "team"}, format="json")
    assert refused.status_code == 400 and "team" in refused.json()["errors"]
    moved = client.patch(_url(generation), {"team": "mine", "visibility": "team"}, format="json").json()
    assert (moved["team"], moved["visibility"]) == ("mine", "team")
    back = client.patch(_url(generation), {"visibility": "private"}, format="json").json()
    assert back["visibility"] == "private"


def test_team_visibility_without_a_team_is_refused(api_client, user):
    generation = GenerationFactory(owner=user)
    response = _client(api_client, user).patch(_url(generation), {"visibility": "team"}, format="json")
    assert response.status_code == 400 and "visibility" in response.json()["errors"]


def test_under_pre_moderation_a_newly_shared_video_waits_for_approval(api_client, user):
    team = TeamFactory(slug="crew")
    MembershipFactory(team=team, user=user)
    generation = GenerationFactory(owner=user, succeeded=True)
    with override_generations(MODERATION="pre"):
        body = _client(api_client, user).patch(_url(generation), {"team": "crew", "visibility": "team"},
                                               format="json").json()
    assert body["moderation"] == Generation.Moderation.PENDING


def test_a_video_moderation_removed_cannot_be_shared_again(api_client, user):
    team = TeamFactory(slug="crew")
    MembershipFactory(team=team, user=user)
    generation = GenerationFactory(owner=user, succeeded=True, moderation=Generation.Moderation.REJECTED)
    response = _client(api_client, user).patch(_url(generation), {"team": "crew", "visibility": "team"},
                                               format="json")
    assert response.status_code == 400 and "visibility" in response.json()["errors"]


def test_failed_job_reads_in_plain_words_without_gmis_text(api_client, user):
    generation = GenerationFactory(owner=user, failed=True, error_code="content_policy",
                                   error="policy hit https://x.example/a.mp4?X-Amz-Signature=abc")
    body = _client(api_client, user).get(_url(generation)).json()
    assert body["error"].startswith("GMI refused this prompt under its content policy")
    assert "Signature" not in str(body)
