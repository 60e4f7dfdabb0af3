"""A member's data: the export zip (built in the background, a day to download it) and deleting the account."""
from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
import requests
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_login_failed
from django.core.files.storage import storages
from django.utils import timezone

from generations.models import ApiToken, DataExport, Generation, LedgerEntry, Membership
from generations.services import account_data, tokens
from tests.helpers.factories import MembershipFactory, TeamFactory, UserFactory
from tests.helpers.ledger import ledger_totals
from tests.helpers.media import stored_generation

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "pass-word-123"


def _download(api_client, url: str) -> bytes:
    response = api_client.get(url)
    if response.status_code == 302:  # S3: a signed redirect
        return requests.get(response["Location"], timeout=10).content
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/zip"
    return b"".join(response.streaming_content)


def test_a_member_exports_their_generations_ledger_and_files(any_storage, api_client):
    member = UserFactory()
    first = stored_generation(owner=member, size=3000)
    second = stored_generation(owner=member, size=5000)
    stored_generation(size=100)  # someone else's
    LedgerEntry.objects.create(generation=first, user=member, subject=f"user:{member.pk}", kind="reserve",
                               metric="monthly_credits", period="2026-12", amount=10)
    api_client.force_authenticate(member)

    started = api_client.post("/api/v1/me/export/")
    assert started.status_code == 202
    assert set(started.json()) >= {"id", "status"}
    status = api_client.get(f"/api/v1/me/export/{started.json()['id']}/").json()
    assert status["status"] == "ready", status
    expires = timezone.datetime.fromisoformat(status["expires_at"])
    assert timedelta(hours=23) < expires - timezone.now() <= timedelta(hours=24)

    archive = zipfile.ZipFile(io.BytesIO(_download(api_client, status["url"])))
    generations = json.loads(archive.read("generations.json"))
    assert {g["id"] for g in generations} == {str(first.pk), str(second.pk)}
    ledger = json.loads(archive.read("ledger.json"))
    assert ledger == [{**ledger[0], "generation": str(first.pk), "kind": "reserve", "amount": 10}]
    for generation in (first, second):
        record = next(g for g in generations if g["id"] == str(generation.pk))
        video_entry = next(name for name in record["files"] if "/video." in name)
        with storages["generations"].open(generation.video_name, "rb") as handle:
            assert archive.read(video_entry) == handle.read()


def test_an_export_is_only_its_members(any_storage, api_client, user, other_user):
    export = account_data.request_export(user=user)
    api_client.force_authenticate(other_user)
    assert api_client.get(f"/api/v1/me/export/{export.pk}/").status_code == 404
    assert api_client.get(f"/api/v1/me/export/{export.pk}/download/").status_code == 404
    assert api_client.get("/api/v1/me/export/not-a-uuid/").status_code == 404


def test_an_export_is_deleted_after_24_hours(any_storage, api_client, user):
    stored_generation(owner=user)
    export = account_data.request_export(user=user)
    export.refresh_from_db()
    assert export.status == DataExport.Status.READY and any_storage.exists(export.file_name)
    result = account_data.expire_exports(now=timezone.now() + timedelta(hours=24, minutes=1))
    assert result["expired"] == 1
    assert not any_storage.exists(export.file_name)
    api_client.force_authenticate(user)
    body = api_client.get(f"/api/v1/me/export/{export.pk}/").json()
    assert body["status"] == "failed" and "url" not in body


def test_account_deletion_needs_the_password(api_client, user):
    api_client.force_authenticate(user)
    failed = []
    user_login_failed.connect(lambda **kw: failed.append(kw), weak=False, dispatch_uid="test-failed")
    try:
        response = api_client.delete("/api/v1/me/", {"password": "not-mine"}, format="json")
    finally:
        user_login_failed.disconnect(dispatch_uid="test-failed")
    assert response.status_code == 400 and response.json()["code"] == "wrong_password"
    assert failed  # the attempt went through django.contrib.auth, where lock-out backends count it
    user.refresh_from_db()
    assert user.is_active and user.username == "alice"
    assert api_client.delete("/api/v1/me/", {}, format="json").status_code == 400


def test_deleting_an_account_removes_files_and_personal_data_and_keeps_the_ledger(any_storage, api_client):
    member = UserFactory(username="carol", email="carol@example.com")
    team = TeamFactory()
    MembershipFactory(team=team, user=member, role=Membership.Role.MEMBER)
    MembershipFactory(team=team, role=Membership.Role.OWNER)
    generation = stored_generation(owner=member, team=team, visibility="team")
    names = [generation.video_name, generation.thumbnail_name]
    LedgerEntry.objects.create(generation=generation, user=member, team=team, subject=f"team:{team.pk}",
                               kind="reserve", metric="monthly_credits", period="2026-12", amount=25)
    team_totals = ledger_totals(team=team)
    _, key = tokens.create_token(user=member)

    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert api_client.delete("/api/v1/me/", {"password": PASSWORD}, format="json").status_code == 204

    for name in names:
        assert not any_storage.exists(name)
    gone = get_user_model().objects.get(pk=member.pk)
    assert not gone.is_active and not gone.has_usable_password()
    assert gone.username.startswith("deleted-") and gone.email == ""
    generation.refresh_from_db()
    assert generation.prompt == "" and generation.payload == {} and generation.deleted_at is not None
    assert ledger_totals(team=team) == team_totals  # the team's figures still add up
    assert LedgerEntry.objects.filter(generation=generation).count() == 1
    assert not ApiToken.objects.filter(user=member).exists()
    assert not Membership.objects.filter(user=member).exists()
    assert api_client.get("/api/v1/quota/").status_code == 401


def test_a_team_owned_alone_passes_to_its_longest_standing_admin(api_client, user):
    team = TeamFactory()
    MembershipFactory(team=team, user=user, role=Membership.Role.OWNER)
    admin = MembershipFactory(team=team, role=Membership.Role.ADMIN).user
    MembershipFactory(team=team, role=Membership.Role.ADMIN)
    api_client.force_authenticate(user)
    assert api_client.delete("/api/v1/me/", {"password": PASSWORD}, format="json").status_code == 204
    assert Membership.objects.get(team=team, user=admin).role == Membership.Role.OWNER


def test_deletion_is_refused_while_a_team_would_be_left_without_anyone_to_run_it(any_storage, api_client, user):
    team = TeamFactory(name="Blue")
    MembershipFactory(team=team, user=user, role=Membership.Role.OWNER)
    MembershipFactory(team=team, role=Membership.Role.MEMBER)
    generation = stored_generation(owner=user)
    api_client.force_authenticate(user)
    response = api_client.delete("/api/v1/me/", {"password": PASSWORD}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "team_needs_owner" and "Blue" in response.json()["detail"]
    user.refresh_from_db()
    assert user.is_active
    assert any_storage.exists(generation.video_name)
    assert Generation.objects.get(pk=generation.pk).deleted_at is None


def test_the_projects_s3_storage_holds_a_transfers_memory_to_its_four_parts(monkeypatch):
    """An export's zip (and a mirrored video) goes up from a file object, which s3transfer reads ahead
    into memory: 10 parts of 8 MB unless told, 80 MB whenever the network is slower than the disk."""
    import runpy
    from pathlib import Path

    import gmi_project

    monkeypatch.setenv("AWS_STORAGE_BUCKET_NAME", "exports")
    project = runpy.run_path(str(Path(gmi_project.__file__).parent / "settings.py"))
    options = project["GENERATIONS_STORAGE"]["OPTIONS"]
    config = options["transfer_config"]
    parts_in_flight = config.max_request_concurrency * config.multipart_chunksize
    assert config.max_in_memory_upload_chunks * config.multipart_chunksize <= parts_in_flight == 32 * 1024 * 1024
    assert config.max_io_queue_size * config.io_chunksize <= 4 * 1024 * 1024
    assert options["max_memory_size"] == 8 * 1024 * 1024
