"""The storage quota: bytes of mirrored files per user and per team, counted from recorded sizes, enforced at submit."""
from __future__ import annotations

import pytest

from generations.models import Generation
from generations.selectors import quotas as quota_reads
from generations.services import staff
from tests.helpers.factories import MembershipFactory, TeamFactory, UserFactory
from tests.helpers.media import stored_generation
from tests.helpers.settings import override_generations

pytestmark = pytest.mark.django_db

BODY = {"model": "Veo3", "payload": {"prompt": "a harbour at dawn", "durationSeconds": 8}}


def test_storage_used_is_exact_from_the_recorded_sizes(any_storage, user):
    first = stored_generation(owner=user, size=3000)
    stored_generation(owner=user, size=1000)
    stored_generation(size=9999)  # someone else's
    assert quota_reads.storage_used(user=user) == 3000 + 7 + 1000 + 7
    Generation.objects.filter(pk=first.pk).update(video_name="", thumbnail_name="")  # deleted, or retention
    assert quota_reads.storage_used(user=user) == 1000 + 7


def test_a_full_storage_quota_refuses_a_submission_with_429(catalogue, api_client, user, no_auto_dispatch):
    stored_generation(owner=user, size=4096)
    api_client.force_authenticate(user)
    with override_generations(DEFAULT_LIMITS={"storage_bytes": 4096}):
        response = api_client.post("/api/v1/generations/", BODY, format="json")
    assert response.status_code == 429
    assert response.json()["code"] == "quota_exceeded"
    assert response.json()["limit"] == "storage_bytes"
    assert Generation.objects.filter(owner=user).count() == 1


def test_below_the_storage_quota_a_submission_is_accepted(catalogue, api_client, user, no_auto_dispatch):
    stored_generation(owner=user, size=1000)
    api_client.force_authenticate(user)
    with override_generations(DEFAULT_LIMITS={"storage_bytes": 10_000}):
        assert api_client.post("/api/v1/generations/", BODY, format="json").status_code == 201


def test_a_users_override_beats_the_site_default(catalogue, api_client, user, no_auto_dispatch):
    stored_generation(owner=user, size=1000)
    staff.set_user_limits(user=user, limits={"storage_bytes": 500})
    api_client.force_authenticate(user)
    response = api_client.post("/api/v1/generations/", BODY, format="json")
    assert response.status_code == 429 and response.json()["limit"] == "storage_bytes"


def test_a_team_storage_pool_refuses_submissions_into_the_team(catalogue, api_client, user, no_auto_dispatch):
    team = TeamFactory(slug="blue", storage_bytes=2000)
    MembershipFactory(team=team, user=user)
    teammate = UserFactory()
    MembershipFactory(team=team, user=teammate)
    stored_generation(owner=teammate, team=team, visibility="team", size=2500)
    api_client.force_authenticate(user)
    refused = api_client.post("/api/v1/generations/", {**BODY, "team": "blue"}, format="json")
    assert refused.status_code == 429 and refused.json()["limit"] == "storage_bytes"
    assert api_client.post("/api/v1/generations/", BODY, format="json").status_code == 201  # private: own quota


def test_quota_reports_storage_bytes_only_when_a_storage_quota_is_set(api_client, user, any_storage):
    stored_generation(owner=user, size=1000)
    api_client.force_authenticate(user)
    assert "storage_bytes" not in api_client.get("/api/v1/quota/").json()["limits"]
    with override_generations(DEFAULT_LIMITS={"storage_bytes": 5000}):
        body = api_client.get("/api/v1/quota/").json()
    assert body["limits"]["storage_bytes"] == 5000
    assert body["used"]["storage_bytes"] == 1007
    assert body["remaining"]["storage_bytes"] == 3993
    assert body["resets_at"]["storage_bytes"] is None


def test_the_quote_says_a_full_storage_quota_would_refuse(catalogue, api_client, user):
    stored_generation(owner=user, size=1000)
    api_client.force_authenticate(user)
    with override_generations(DEFAULT_LIMITS={"storage_bytes": 1000}):
        body = api_client.post("/api/v1/generations/quote/", BODY, format="json").json()
    assert body["accepted"] is False and body["refusal"]["limit"] == "storage_bytes"


def test_gmi_quota_sets_and_shows_a_storage_quota(any_storage, user):
    from io import StringIO

    from django.core.management import call_command

    stored_generation(owner=user, size=2000)
    out = StringIO()
    call_command("gmi_quota", "alice", "--storage-bytes", "100000", stdout=out)
    user.gmi_profile.refresh_from_db()
    assert user.gmi_profile.storage_bytes == 100000
    out = StringIO()
    call_command("gmi_quota", "alice", stdout=out)
    assert "storage" in out.getvalue().lower()
    assert "2007" in out.getvalue()
