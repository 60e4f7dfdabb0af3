"""The whole journey over real HTTP: submit → GMI (simulator) → polling → mirrored storage."""
from __future__ import annotations

import hashlib

import pytest
import requests
from django.core.files.storage import storages
from django.utils import timezone

from generations.models import Generation, GenerationEvent, UsageCounter
from generations.services import mirroring, staff, submissions
from generations.services.engine import Engine, sweep
from generations.services.lifecycle import transition
from tests.helpers.engine import engine_here, engines_running
from tests.helpers.factories import GenerationFactory, UserFactory
from tests.helpers.lifecycle import drive
from tests.helpers.threads import run_concurrently
from tests.helpers.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

S = Generation.Status


def submit(user, prompt="a paper boat drifting on a pond", **payload):
    return submissions.submit_generation(
        user=user, model_id="Veo3", payload={"prompt": prompt, "durationSeconds": 8, **payload}
    )


def stored_bytes(name: str) -> bytes:
    with storages["generations"].open(name, "rb") as handle:
        return handle.read()


def upstream_bytes(url: str) -> bytes:
    response = requests.get(url, timeout=5)
    response.raise_for_status()
    return response.content


def test_job_succeeds_and_mirrored_video_is_byte_identical_to_upstream(catalogue):
    user = UserFactory()
    generation = drive(submit(user))
    assert generation.status == S.SUCCEEDED, generation.error
    video = stored_bytes(generation.video_name)
    assert video == upstream_bytes(generation.outcome_video_url)
    assert hashlib.sha256(video).hexdigest() == generation.video_sha256
    assert generation.video_size == len(video) and generation.video_content_type == "video/mp4"
    assert stored_bytes(generation.thumbnail_name) == upstream_bytes(generation.outcome_thumbnail_url)
    assert generation.thumbnail_content_type == "image/jpeg"
    history = list(GenerationEvent.objects.filter(generation=generation).values_list("to_status", flat=True))
    assert history[0] == S.QUEUED and history[-2:] == [S.MIRRORING, S.SUCCEEDED]
    assert S.DISPATCHED in history


@pytest.mark.parametrize("strings", [False, True])
def test_envelope_outcome_shape_is_mirrored_byte_identically(catalogue, strings):
    catalogue.set_fault("envelope", count=1, strings=strings)
    generation = drive(submit(UserFactory()))
    assert generation.status == S.SUCCEEDED, generation.error
    assert "media_urls" in (generation.upstream_response.get("outcome") or {})
    assert stored_bytes(generation.video_name) == upstream_bytes(generation.outcome_video_url)


def test_upstream_failure_ends_failed_with_its_reason_and_refunds(catalogue):
    catalogue.set_fault("failed_job", count=1, error="GPU exploded while rendering")
    user = UserFactory()
    generation = drive(submit(user))
    assert generation.status == S.FAILED
    assert "GPU exploded while rendering" in generation.error
    assert UsageCounter.objects.get(user=user, metric="daily_jobs").used == 0


def test_content_policy_refusal_fails_the_job_and_refunds(catalogue):
    catalogue.set_fault("content_policy", count=1)
    user = UserFactory()
    generation = drive(submit(user))
    assert generation.status == S.FAILED and generation.error_code == "content_policy"
    assert UsageCounter.objects.get(user=user, metric="daily_jobs").used == 0


def test_rate_limited_submission_waits_and_is_sent_once(catalogue):
    catalogue.set_fault("rate_limit", count=1, endpoints=["create"], retry_after=1)
    generation = drive(submit(UserFactory()))
    assert generation.status == S.SUCCEEDED
    creates = catalogue.journal(endpoint="create")
    assert [entry["status"] for entry in creates] == [429, 201] or [e["status"] for e in creates][-1] in (200, 201)
    assert len([e for e in creates if e["status"] in (200, 201)]) == 1


def test_lost_submission_response_is_reconciled_not_resent(catalogue):
    catalogue.set_fault("lost_response", count=1, endpoints=["create"])
    generation = drive(submit(UserFactory()), timeout=20)
    assert generation.status == S.SUCCEEDED, generation.error
    assert len(catalogue.journal(endpoint="create")) == 1  # the one POST, whose answer was lost
    assert len(catalogue.jobs()) == 1
    assert catalogue.journal(endpoint="list"), "reconciliation should have listed GMI's requests"


def test_submission_timeout_is_reconciled_not_resent(catalogue, settings):
    settings.GENERATIONS = {**settings.GENERATIONS, "READ_TIMEOUT": 0.5}
    catalogue.set_fault("timeout", count=1, endpoints=["create"], seconds=2)
    generation = drive(submit(UserFactory()), timeout=20)
    assert generation.status == S.SUCCEEDED, generation.error
    assert len(catalogue.jobs()) == 1


def test_poll_errors_back_off_and_the_job_still_finishes(catalogue):
    generation = submit(UserFactory())
    catalogue.set_fault("server_error", count=3, endpoints=["get"])
    generation = drive(generation)
    assert generation.status == S.SUCCEEDED


def test_unknown_status_word_is_treated_as_still_running(catalogue):
    catalogue.set_fault("unknown_status", count=1, word="warming_up")
    generation = drive(submit(UserFactory()))
    assert generation.status == S.SUCCEEDED


def test_download_from_disallowed_host_is_refused_without_connecting(catalogue, settings):
    settings.GENERATIONS = {**settings.GENERATIONS, "MIRROR_ALLOWED_HOSTS": ["storage.googleapis.com"]}
    generation = drive(submit(UserFactory()))
    assert generation.status == S.FAILED and generation.error_code == "mirror_refused"
    assert catalogue.journal(endpoint="media") == []  # no request ever reached the file host
    assert not storages["generations"].exists(f"{generation.owner_id}")


def test_cancel_at_gmi_sends_delete_and_refunds(catalogue):
    user = UserFactory()
    generation = drive(submit(user), until=lambda g: g.upstream_request_id is not None)
    submissions.cancel_generation(generation=generation, actor=user)
    generation.refresh_from_db()
    assert generation.status == S.CANCELLED
    assert [e["method"] for e in catalogue.journal(endpoint="cancel")] == ["DELETE"]
    assert UsageCounter.objects.get(user=user, metric="daily_jobs").used == 0


def test_two_engines_cannot_poll_the_same_job(catalogue):
    # Unknown to GMI (each poll ends its job), spread over three shards, all due.
    jobs = [GenerationFactory(dispatched=True, next_check_at=timezone.now(), shard=i % 3) for i in range(6)]
    catalogue.clear_journal()

    def ticks(index: int) -> int:
        with engine_here() as engine:
            def all_polled() -> bool:
                if not Generation.objects.filter(status__in=Generation.AT_UPSTREAM).exists():
                    return True
                engine.step()
                return False

            wait_until(all_polled, 15, "the jobs to be all polled", interval=0)
        return engine.counts["polled"]

    results = run_concurrently(2, ticks)
    assert sum(results) == 6  # between them the two engines polled every job once
    polled = [entry["path"].rsplit("/", 1)[-1] for entry in catalogue.journal(endpoint="get")]
    assert sorted(polled) == sorted(g.upstream_request_id for g in jobs)


def test_two_workers_racing_on_one_transition_only_one_wins(db):
    generation = GenerationFactory(processing=True)
    results = run_concurrently(
        8, lambda i: transition(Generation.objects.get(pk=generation.pk), S.MIRRORING, expected=S.PROCESSING,
                                outcome_video_url=f"http://x/{i}")
    )
    assert results.count(True) == 1 and results.count(False) == 7
    assert GenerationEvent.objects.filter(generation=generation, to_status=S.MIRRORING).count() == 1


def test_sweep_restarts_a_job_nothing_is_driving(catalogue):
    generation = drive(submit(UserFactory()), until=lambda g: g.status in (S.DISPATCHED, S.PROCESSING))
    Generation.objects.filter(pk=generation.pk).update(next_check_at=None)  # as if its engine died
    assert sweep()["rescheduled"] == 1
    assert drive(generation).status == S.SUCCEEDED


def test_job_older_than_max_age_fails_and_is_cancelled_upstream(catalogue):
    generation = drive(submit(UserFactory()), until=lambda g: g.upstream_request_id is not None)
    Generation.objects.filter(pk=generation.pk).update(created_at=timezone.now() - timezone.timedelta(hours=7))
    catalogue.set_fault("server_error", count=50, endpoints=["get"])
    generation = drive(generation)
    assert generation.status == S.FAILED and generation.error_code == "timeout"


def test_status_change_is_seen_within_one_poll_interval(catalogue, settings):
    settings.GENERATIONS = {**settings.GENERATIONS, "POLL_INTERVAL": 0.3}
    generation = submit(UserFactory())
    generation.refresh_from_db()
    assert generation.status == S.DISPATCHED  # sent on commit
    with engines_running(Engine()):
        wait_until(lambda: Generation.objects.filter(pk=generation.pk, status=S.SUCCEEDED).exists(), 10,
                   "the job to succeed", interval=0.02)
        finished = timezone.now()
    generation.refresh_from_db()
    upstream_done = generation.upstream_finished_at
    assert (finished - upstream_done).total_seconds() <= 0.3 + 1


def test_legacy_api_job_runs_end_to_end_with_key_header(gmi_legacy, db):
    from generations.services.catalogue import sync_models

    sync_models()
    model_id = gmi_legacy.journal(endpoint="legacy_models") and None
    from generations.models import VideoModel

    model = VideoModel.objects.filter(api="legacy").first()
    assert model is not None
    payload = {"prompt": "a kite over the dunes", "image_url": f"{gmi_legacy.url}/public/sample.png"}
    generation = submissions.submit_generation(user=UserFactory(), model_id=model.pk, payload=payload)
    generation = drive(generation)
    assert generation.status == S.SUCCEEDED, generation.error
    assert stored_bytes(generation.video_name) == upstream_bytes(generation.outcome_video_url)
    queue_calls = [e for e in gmi_legacy.journal(api="legacy") if e["endpoint"] != "legacy_models"]
    assert queue_calls and all(e["auth_scheme"] == "Key" for e in queue_calls)
    del model_id


@pytest.mark.usefixtures("public_dns")  # the frame's host must resolve to a public address
def test_legacy_lost_submission_is_never_resent_and_fails_refunded(gmi_legacy, db):
    """The legacy API cannot list requests, so a lost answer can't be proven absent: no second POST."""
    from generations.models import VideoModel
    from generations.services.catalogue import sync_models

    sync_models()
    model = VideoModel.objects.filter(api="legacy").first()
    gmi_legacy.set_fault("lost_response", count=1, endpoints=["legacy_submit"])
    user = UserFactory()
    generation = submissions.submit_generation(
        user=user, model_id=model.pk,
        payload={"prompt": "a kite", "image_url": "https://example.com/frame.png"},
    )
    generation = drive(generation, timeout=20)
    assert generation.status == S.FAILED and generation.error_code == "unconfirmed"
    assert len(gmi_legacy.journal(endpoint="legacy_submit")) == 1
    assert UsageCounter.objects.get(user=user, metric="daily_jobs").used == 0


def test_unconfirmed_submission_is_failed_and_refunded_never_sent_twice(catalogue):
    catalogue.set_fault("lost_response", count=1, endpoints=["create"])
    catalogue.set_fault("server_error", count=1000, endpoints=["list"])  # GMI's list is down too
    user = UserFactory()
    generation = drive(submit(user), timeout=20)
    assert generation.status == S.FAILED and generation.error_code == "unconfirmed"
    assert len(catalogue.journal(endpoint="create")) == 1
    assert UsageCounter.objects.get(user=user, metric="daily_jobs").used == 0


def test_retry_after_pauses_every_send_not_just_one_job(catalogue, no_auto_dispatch):
    from generations.services import dispatching, upstream

    catalogue.set_fault("rate_limit", count=1, endpoints=["create"], retry_after=20)
    user = UserFactory()
    for n in range(5):
        submissions.submit_generation(user=user, model_id="Veo3", payload={"prompt": f"burst {n}"})
    with engine_here() as engine:
        for _ in range(5):
            dispatching.dispatch_queued()
            engine.step()
    assert len(catalogue.journal(endpoint="create")) == 1  # the one that was told 429
    assert upstream.paused()
    assert Generation.objects.filter(status=S.QUEUED, send_started_at__isnull=True).count() == 5


def test_site_without_a_gmi_key_accepts_jobs_that_wait_without_holding_a_slot(catalogue, settings):
    from generations.selectors import quotas as quota_reads

    settings.GENERATIONS = {**settings.GENERATIONS, "API_KEY": ""}
    user = UserFactory()
    generation = submit(user)
    drive(generation, timeout=1, until=lambda g: True)
    generation.refresh_from_db()
    assert generation.status == S.QUEUED and generation.send_started_at is None
    assert quota_reads.usage_for_user(user)["used"]["concurrent_jobs"] == 0
    settings.GENERATIONS = {**settings.GENERATIONS, "API_KEY": "sk-now-configured"}
    assert drive(generation).status == S.SUCCEEDED


def test_reconciliation_accepts_an_echo_with_gmis_added_defaults():
    from generations.services.polling import _same_payload

    sent = {"prompt": "a fox", "durationSeconds": 8}
    assert _same_payload(sent, {**sent, "aspectRatio": "16:9"})
    assert not _same_payload(sent, {"prompt": "a fox", "durationSeconds": 6})
    assert not _same_payload(sent, None)


def test_expired_outcome_url_is_refreshed_from_gmi_and_mirrored(catalogue, monkeypatch):
    catalogue.configure(url_ttl=30)
    generation = drive(submit(UserFactory()), until=lambda g: g.upstream_request_id is not None)
    stale_urls = []
    original = mirroring.mirror_generation

    def late_mirror(pk):  # the copy starts only after the signed URLs expired
        stale_urls.append(Generation.objects.get(pk=pk).outcome_video_url)
        catalogue.advance(60)
        return original(pk)

    monkeypatch.setattr(mirroring, "mirror_generation", late_mirror)
    generation = drive(generation)
    assert generation.status == S.SUCCEEDED, generation.error
    assert stale_urls and generation.outcome_video_url != stale_urls[0]
    assert next(e["status"] for e in catalogue.journal(endpoint="media")) == 403


def test_failed_remirror_keeps_the_earlier_copy(catalogue, staff_user):
    generation = drive(submit(UserFactory()))
    original = stored_bytes(generation.video_name)
    catalogue.advance(7200)  # every signed outcome URL has expired
    catalogue.set_fault("server_error", count=1000, endpoints=["get"])  # and GMI cannot give new ones
    staff.remirror_generation(generation=generation, actor=staff_user)
    generation = drive(generation, until=lambda g: g.status == S.SUCCEEDED and g.mirror_started_at is None)
    assert generation.status == S.SUCCEEDED and stored_bytes(generation.video_name) == original
    assert "earlier copy is kept" in generation.events.last().note


def test_mirroring_interrupted_too_often_ends_instead_of_looping(db):
    from generations.services.mirroring import mirror_generation

    generation = GenerationFactory(processing=True)
    Generation.objects.filter(pk=generation.pk).update(status=S.MIRRORING, mirror_attempts=5,
                                                       outcome_video_url="http://127.0.0.1:9/v.mp4")
    assert mirror_generation(generation.pk) is True
    generation.refresh_from_db()
    assert generation.status == S.FAILED and generation.error_code == "mirror_failed"
