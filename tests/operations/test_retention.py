"""Retention: files go N days after success (a team may choose fewer), kept videos stay, owners hear a week before."""
from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from generations.models import Generation, LedgerEntry, Notification
from generations.services import collections, retention
from tests.helpers.factories import TeamFactory, UserFactory
from tests.helpers.media import stored_generation
from tests.helpers.settings import override_generations

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _after_commit(django_capture_on_commit_callbacks):
    """Storage objects go after commit: run those callbacks as a committed transaction would."""
    global _capture
    _capture = django_capture_on_commit_callbacks


_capture = None


def _run(now=None, dry_run=False):
    with _capture(execute=True):
        return retention.apply_retention(now=now, dry_run=dry_run)


def test_nothing_is_deleted_without_a_retention_setting(any_storage):
    generation = stored_generation(finished_days_ago=400)
    result = _run()
    assert result.deleted_videos == 0 and result.warned_members == 0
    assert any_storage.exists(generation.video_name)


@override_generations(RETENTION_DAYS=30)
def test_owners_are_told_a_week_before_and_files_go_only_after_the_warning(any_storage):
    owner = UserFactory(email="owner@example.com")
    old = stored_generation(owner=owner, finished_days_ago=40)
    old_name = old.video_name
    soon = stored_generation(owner=owner, finished_days_ago=25)
    fresh = stored_generation(owner=owner, finished_days_ago=1)

    first = _run()
    # Retention just met these files: it tells before it deletes anything.
    assert first.deleted_videos == 0
    assert first.warned_members == 1 and first.warned_videos == 2
    notice = Notification.objects.get(recipient=owner, kind=Notification.Kind.FILES_EXPIRING)
    assert "2 videos" in notice.title
    assert any_storage.exists(old.video_name)
    assert _run().warned_members == 0  # told once

    week_later = timezone.now() + timedelta(days=7, minutes=1)
    later = _run(now=week_later)
    assert later.deleted_videos == 2
    assert later.bytes_freed == old.video_size + 7 + soon.video_size + 7
    for generation in (old, soon):
        generation.refresh_from_db()
        assert generation.files_expired and generation.files_retention_days == 30
        assert generation.video_name == "" and generation.thumbnail_name == ""
        assert generation.video_size  # the history keeps what was stored
        assert generation.status == Generation.Status.SUCCEEDED
    assert not any_storage.exists(old_name)
    fresh.refresh_from_db()
    assert fresh.video_name and any_storage.exists(fresh.video_name)


@override_generations(RETENTION_DAYS=30, RETENTION_WARNING_DAYS=0)
def test_storage_objects_are_deleted_and_kept_videos_spared(any_storage):
    gone = stored_generation(finished_days_ago=31)
    kept = stored_generation(finished_days_ago=365, keep=True)
    names = [gone.video_name, gone.thumbnail_name]
    result = _run()
    assert result.deleted_videos == 1
    for name in names:
        assert not any_storage.exists(name)
    kept.refresh_from_db()
    assert kept.video_name and any_storage.exists(kept.video_name)


@override_generations(RETENTION_DAYS=30, RETENTION_WARNING_DAYS=0)
def test_a_video_in_a_collection_keeps_its_files_until_it_leaves_the_collection(any_storage):
    collected = stored_generation(finished_days_ago=365)
    shelf = collections.create_collection(user=collected.owner, name="Shortlist")
    collections.add_to_collection(collection=shelf, user=collected.owner, generation_ids=[collected.pk])
    assert _run().deleted_videos == 0
    assert any_storage.exists(collected.video_name)
    collections.remove_from_collection(collection=shelf, user=collected.owner, generation_id=collected.pk)
    assert _run().deleted_videos == 1


@override_generations(RETENTION_DAYS=90, RETENTION_WARNING_DAYS=0)
def test_a_team_may_keep_its_videos_fewer_days_than_the_site(any_storage):
    team = TeamFactory(retention_days=10)
    shared = stored_generation(finished_days_ago=11, team=team, visibility="team")
    private = stored_generation(finished_days_ago=11)
    assert _run().deleted_videos == 1
    shared.refresh_from_db()
    private.refresh_from_db()
    assert shared.files_expired and shared.files_retention_days == 10
    assert not private.files_expired


@override_generations(RETENTION_DAYS=90, RETENTION_WARNING_DAYS=0)
def test_a_team_cannot_keep_files_longer_than_the_site(any_storage):
    team = TeamFactory(retention_days=365)
    shared = stored_generation(finished_days_ago=91, team=team, visibility="team")
    assert _run().deleted_videos == 1
    shared.refresh_from_db()
    assert shared.files_retention_days == 90


@override_generations(RETENTION_DAYS=30, RETENTION_WARNING_DAYS=0)
def test_dry_run_reports_the_bytes_and_changes_nothing(any_storage):
    generation = stored_generation(finished_days_ago=31, size=5000)
    result = _run(dry_run=True)
    assert result.deleted_videos == 1 and result.bytes_freed == 5000 + 7
    generation.refresh_from_db()
    assert not generation.files_expired and any_storage.exists(generation.video_name)


@override_generations(RETENTION_DAYS=30, RETENTION_WARNING_DAYS=0)
def test_removing_files_keeps_the_ledger_and_the_page(any_storage, client):
    owner = UserFactory()
    generation = stored_generation(owner=owner, finished_days_ago=31)
    LedgerEntry.objects.create(generation=generation, user=owner, subject=f"user:{owner.pk}", kind="reserve",
                               metric="daily_jobs", period="2026-01-01", amount=1)
    _run()
    assert LedgerEntry.objects.filter(generation=generation).count() == 1
    client.force_login(owner)
    page = client.get(f"/generations/{generation.pk}/")
    assert page.status_code == 200
    assert "Files removed after 30 days" in page.content.decode()
    gallery = client.get("/")
    assert "Files removed after 30 days" in gallery.content.decode()
    api = client.get(f"/api/v1/generations/{generation.pk}/").json()
    assert api["video_url"] is None and api["status"] == "succeeded"
    assert client.get(f"/api/v1/generations/{generation.pk}/video/").status_code == 404


@override_generations(RETENTION_DAYS=30, RETENTION_WARNING_DAYS=0)
def test_gmi_retention_command_prints_progress_and_bytes_freed(any_storage):
    stored_generation(finished_days_ago=31, size=4096)
    out = StringIO()
    call_command("gmi_retention", "--dry-run", stdout=out)
    assert "Would free 4103 bytes" in out.getvalue() and "dry run" in out.getvalue()
    assert Generation.objects.filter(files_removed_at__isnull=False).count() == 0
    out = StringIO()
    with _capture(execute=True):
        call_command("gmi_retention", stdout=out)
    assert "Freed 4103 bytes" in out.getvalue()
    assert "1 videos, freed 4103 bytes so far" in out.getvalue()
    assert Generation.objects.filter(files_removed_at__isnull=False).count() == 1


def test_the_nightly_schedule_exists():
    from django_q.models import Schedule

    schedule = Schedule.objects.get(name="gmi-retention")
    assert schedule.func == "generations.tasks.apply_retention" and schedule.schedule_type == Schedule.DAILY
