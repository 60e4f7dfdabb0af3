"""Share links: owner only, unguessable and stored hashed, a public page over real HTTP until expiry or revocation."""
from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from generations.models import Generation, ShareLink
from generations.selectors import studio as studio_reads
from generations.services import shares, tokens
from tests.helpers.factories import GenerationFactory, MembershipFactory, TeamFactory, UserFactory
from tests.helpers.media import mirrored_generation
from tests.helpers.settings import override_generations

API = "/api/v1"


def share(client, generation, **body):
    return client.post(f"{API}/generations/{generation.pk}/share/", body, format="json")


@pytest.mark.django_db
def test_the_owner_gets_a_link_whose_token_is_stored_hashed(api_client, member):
    generation = mirrored_generation(owner=member)
    response = share(api_client, generation, expires_in=3600)
    assert response.status_code == 201
    body = response.json()
    assert set(body) >= {"id", "url", "expires_at"}
    token = body["url"].rstrip("/").rsplit("/", 1)[-1]
    assert len(token) >= 40  # secrets.token_urlsafe(32)
    row = ShareLink.objects.get(pk=body["id"])
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in {row.token_hash, str(row.pk)}
    assert abs((row.expires_at - timezone.now()) - timedelta(hours=1)) < timedelta(seconds=10)
    # Its URL is not shown again.
    listed = api_client.get(f"{API}/generations/{generation.pk}/share/").json()
    assert [link["url"] for link in listed] == [None]


@pytest.mark.django_db
def test_others_cannot_share_a_video_not_theirs_even_a_teammate(api_client, member):
    team = TeamFactory()
    MembershipFactory(team=team, user=member)
    teammates = mirrored_generation(owner=UserFactory(), team=team, visibility="team")
    strangers = mirrored_generation(owner=UserFactory())
    for generation in (teammates, strangers):
        response = share(api_client, generation)
        assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert ShareLink.objects.count() == 0


@pytest.mark.django_db
def test_a_video_that_is_not_ready_cannot_be_shared(api_client, member):
    queued = GenerationFactory(owner=member)
    response = share(api_client, queued)
    assert response.status_code == 400 and response.json()["code"] == "no_video"
    generation = mirrored_generation(owner=member)
    too_long = share(api_client, generation, expires_in=10**9)
    assert too_long.status_code == 400 and "expires_in" in too_long.json()["errors"]


@pytest.mark.django_db
def test_staff_can_turn_sharing_off_site_wide_and_per_team(api_client, member):
    generation = mirrored_generation(owner=member)
    _, token = shares.create_share_link(generation=generation, user=member)
    with override_generations(SHARE_LINKS=False):
        response = share(api_client, generation)
        assert response.status_code == 403 and response.json()["code"] == "sharing_disabled"
        assert studio_reads.live_share(token) is None  # existing links stop opening too
    assert studio_reads.live_share(token) is not None
    team = TeamFactory(sharing_enabled=False)
    MembershipFactory(team=team, user=member)
    team_video = mirrored_generation(owner=member, team=team, visibility="team")
    assert share(api_client, team_video).json()["code"] == "sharing_disabled"


@pytest.mark.django_db
def test_only_the_owner_revokes(api_client, member):
    generation = mirrored_generation(owner=member)
    link_id = share(api_client, generation).json()["id"]
    other = UserFactory()
    _, key = tokens.create_token(user=other)
    from rest_framework.test import APIClient

    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert stranger.delete(f"{API}/shares/{link_id}/").status_code == 404
    assert api_client.delete(f"{API}/shares/{link_id}/").status_code == 204
    assert ShareLink.objects.get(pk=link_id).revoked_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_logged_out_visitor_opens_the_link_over_http_until_revoked_or_expired(live_server, api_client, member):
    generation = mirrored_generation(owner=member, payload={"prompt": "secret prompt words"},
                                     prompt="secret prompt words")
    body = share(api_client, generation, expires_in=3600).json()
    url = live_server.url + "/s/" + body["url"].rstrip("/").rsplit("/", 1)[-1] + "/"
    visitor = requests.Session()  # no cookies, no token
    page = visitor.get(url, timeout=10)
    assert page.status_code == 200
    html = page.text
    assert "A shared video" in html  # no title of its own: not the prompt's first words either
    assert "secret prompt words" not in html and member.username not in html  # not unless the owner chose
    assert "/accounts/login" not in html and 'href="/"' not in html  # no way into the site
    assert "Download the video" in html
    assert page.headers["Referrer-Policy"] == "no-referrer"
    video = visitor.get(url + "video/", headers={"Range": "bytes=0-99"}, timeout=10)
    assert video.status_code == 206 and video.content == generation.clip.video[:100]
    assert video.headers["Content-Range"] == f"bytes 0-99/{len(generation.clip.video)}"
    assert ShareLink.objects.get(pk=body["id"]).views == 1

    assert api_client.delete(f"{API}/shares/{body['id']}/").status_code == 204
    revoked = visitor.get(url, timeout=10)
    assert revoked.status_code == 404
    assert visitor.get(url + "video/", timeout=10).status_code == 404

    second = share(api_client, generation, expires_in=60).json()
    url2 = live_server.url + "/s/" + second["url"].rstrip("/").rsplit("/", 1)[-1] + "/"
    assert visitor.get(url2, timeout=10).status_code == 200
    ShareLink.objects.filter(pk=second["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = visitor.get(url2, timeout=10)
    never = visitor.get(live_server.url + "/s/" + "x" * 43 + "/", timeout=10)
    # Expired, revoked and never made answer alike.
    assert expired.status_code == never.status_code == revoked.status_code == 404
    assert expired.text == never.text == revoked.text


@pytest.mark.django_db
def test_the_owner_may_show_prompt_and_name_and_turn_the_download_off(client, member, api_client):
    generation = mirrored_generation(owner=member, prompt="a kite over dunes", payload={"prompt": "a kite over dunes"})
    body = share(api_client, generation, show_prompt=True, show_owner=True, allow_download=False).json()
    path = "/s/" + body["url"].rstrip("/").rsplit("/", 1)[-1] + "/"
    html = client.get(path).content.decode()
    assert "a kite over dunes" in html and member.username in html
    Generation.objects.filter(pk=generation.pk).update(title="Dunes, take 3")
    assert "<h1 class=\"gmi-share__title\">Dunes, take 3</h1>" in client.get(path).content.decode()
    assert "Download the video" not in html and "nodownload" in html
    assert client.get(path + "video/?download=1").status_code == 404
    assert client.get(path + "video/").status_code == 200


@pytest.mark.django_db
def test_a_deleted_or_rejected_video_stops_its_links(member):
    generation = mirrored_generation(owner=member)
    _, token = shares.create_share_link(generation=generation, user=member)
    Generation.objects.filter(pk=generation.pk).update(moderation=Generation.Moderation.REJECTED)
    assert studio_reads.live_share(token) is None
    Generation.objects.filter(pk=generation.pk).update(moderation=Generation.Moderation.NONE,
                                                        deleted_at=timezone.now())
    assert studio_reads.live_share(token) is None


@pytest.mark.django_db
def test_staff_turn_a_teams_sharing_off_in_the_admin_and_revoke_links(client, staff_user, member):
    team = TeamFactory()
    client.force_login(staff_user)
    page = client.get(f"/admin/generations/team/{team.pk}/change/").content.decode()
    assert 'name="sharing_enabled"' in page
    generation = mirrored_generation(owner=member)
    link, token = shares.create_share_link(generation=generation, user=member)
    response = client.post("/admin/generations/sharelink/", {"action": "revoke", "_selected_action": [str(link.pk)]})
    assert response.status_code == 302
    assert studio_reads.live_share(token) is None


@pytest.mark.django_db
def test_a_link_that_does_not_work_never_writes_its_token_to_the_log(client, member, caplog):
    generation = mirrored_generation(owner=member)
    link, token = shares.create_share_link(generation=generation, user=member)
    shares.revoke_share_link(share=link, user=member)
    with caplog.at_level("DEBUG"):
        assert client.get(f"/s/{token}/").status_code == 404
        assert client.get(f"/s/{token}/video/").status_code == 404
        assert client.get(f"/s/{'y' * 43}/").status_code == 404
    assert token not in caplog.text and "y" * 43 not in caplog.text
