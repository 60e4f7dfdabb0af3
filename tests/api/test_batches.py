"""Batches over the API: all or nothing, one validation pass, exact quota under concurrency, progress and cancel."""
from __future__ import annotations

import math
from collections import Counter

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from generations.exceptions import NotAllowed, QuotaExceeded
from generations.models import Batch, Generation, GenerationEvent, LedgerEntry, UsageCounter, UserProfile
from generations.services import batches, dispatching, submissions, tokens
from generations.services.waiting_line import queue_positions
from tests.helpers.factories import GenerationFactory, UserFactory, VideoModelFactory
from tests.helpers.lifecycle import drive
from tests.helpers.settings import override_generations
from tests.helpers.threads import run_concurrently

API = "/api/v1"


def items(n, **payload):
    return [{"model": "Veo3", "payload": {"prompt": f"shot {i}", "durationSeconds": 4, **payload}} for i in range(n)]


def post_batch(client, body, **headers):
    return client.post(f"{API}/generations/batch/", body, format="json", **headers)


def test_a_batch_is_accepted_whole_with_one_reservation_per_job(api_client, member, veo, no_auto_dispatch):
    response = post_batch(api_client, {"items": items(3)})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert len(body["generations"]) == 3 and body["counts"]["queued"] == 3
    assert {g["batch"] for g in body["generations"]} == {body["id"]}
    assert [g["prompt"] for g in body["generations"]] == ["shot 0", "shot 1", "shot 2"]
    assert [g["queue_position"] for g in body["generations"]] == [1, 2, 3]
    assert UsageCounter.objects.get(user=member, metric="daily_jobs").used == 3
    assert UsageCounter.objects.get(user=member, metric="monthly_video_seconds").used == 12
    # Each job has its own ledger rows, so refunding one gives back exactly its share.
    assert LedgerEntry.objects.filter(kind="reserve", metric="daily_jobs").count() == 3
    assert GenerationEvent.objects.filter(generation__batch_id=body["id"]).count() == 3


def test_a_batch_of_three_with_two_left_is_refused_whole_and_creates_nothing(api_client, member, veo,
                                                                             no_auto_dispatch):
    UserProfile.objects.create(user=member, daily_jobs=2)
    response = post_batch(api_client, {"items": items(3)})
    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "quota_exceeded" and body["limit"] == "daily_jobs" and body["resets_at"]
    assert Generation.objects.count() == 0 and Batch.objects.count() == 0 and LedgerEntry.objects.count() == 0
    assert not UsageCounter.objects.filter(used__gt=0).exists()
    assert post_batch(api_client, {"items": items(2)}).status_code == 201  # what fits still goes through


def test_every_bad_item_is_reported_by_position_and_nothing_is_created(api_client, member, veo):
    body = {"items": [
        {"model": "Veo3", "payload": {"prompt": "fine"}},
        {"model": "Veo3", "payload": {"prompt": "bad length", "durationSeconds": 5}},
        {"model": "NoSuchModel", "payload": {"prompt": "x"}},
        {"model": "Veo3", "payload": "a string"},
    ]}
    response = post_batch(api_client, body)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"items[1].payload.durationSeconds", "items[2].model", "items[3].payload"}
    assert "4, 6, 8" in errors["items[1].payload.durationSeconds"][0]
    assert "3 of 4 jobs" in response.json()["detail"]
    assert Generation.objects.count() == 0 and Batch.objects.count() == 0


@pytest.mark.parametrize("count", [0, 101])
def test_a_batch_holds_one_to_a_hundred_jobs(api_client, member, veo, count):
    response = post_batch(api_client, {"items": items(count)})
    assert response.status_code == 400 and "items" in response.json()["errors"]


def _batch_statements(client, count):
    """The SQL statements one batch of ``count`` jobs issues (the work after its commit included), and
    how many rows it added to each table it inserted into."""
    from django.apps import apps
    from django.test import TestCase

    models = {model._meta.db_table: model for model in apps.get_models()}
    before = {table: model._default_manager.count() for table, model in models.items()}
    with CaptureQueriesContext(connection) as queries, TestCase.captureOnCommitCallbacks(execute=True):
        response = post_batch(client, {"items": items(count)})
    assert response.status_code == 201, response.json()
    added = {table: model._default_manager.count() - before[table] for table, model in models.items()}
    return [q["sql"] for q in queries.captured_queries], {table: rows for table, rows in added.items() if rows}


def _statements_per_insert(table, rows):
    """The fewest INSERTs that can add ``rows`` to ``table``: one, unless the database caps the parameters
    of one statement (SQLite: 999) and bulk_create has to split."""
    from django.apps import apps

    model = next(m for m in apps.get_models() if m._meta.db_table == table)
    return math.ceil(rows / connection.ops.bulk_batch_size(model._meta.concrete_fields, [None] * rows))


def test_a_batch_costs_the_same_statements_for_ten_jobs_as_for_a_hundred(api_client, member, veo,
                                                                         no_auto_dispatch):
    UserProfile.objects.create(user=member, daily_jobs=1000, monthly_video_seconds=10_000, concurrent_jobs=5)
    post_batch(api_client, {"items": items(2)})  # the first request warms per-process caches
    (small, _), (large, added) = _batch_statements(api_client, 10), _batch_statements(api_client, 100)
    others = [[sql for sql in statements if not sql.startswith("INSERT INTO")] for statements in (small, large)]
    assert len(others[0]) == len(others[1]), others[1]
    inserts = Counter(sql.split('"')[1] for sql in large if sql.startswith("INSERT INTO"))
    assert set(inserts) == {sql.split('"')[1] for sql in small if sql.startswith("INSERT INTO")}
    for table, statements in inserts.items():
        assert statements <= max(1, _statements_per_insert(table, added.get(table, 1))), (table, statements)


def test_the_same_idempotency_key_returns_the_same_batch(api_client, member, veo, no_auto_dispatch):
    first = post_batch(api_client, {"items": items(2)}, HTTP_IDEMPOTENCY_KEY="batch-1")
    again = post_batch(api_client, {"items": items(2)}, HTTP_IDEMPOTENCY_KEY="batch-1")
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert [g["id"] for g in again.json()["generations"]] == [g["id"] for g in first.json()["generations"]]
    conflict = post_batch(api_client, {"items": items(3)}, HTTP_IDEMPOTENCY_KEY="batch-1")
    assert conflict.status_code == 422 and conflict.json()["code"] == "idempotency_conflict"
    assert Generation.objects.count() == 2 and Batch.objects.count() == 1


def test_batch_quote_adds_the_jobs_up_and_creates_nothing(api_client, member, veo):
    UserProfile.objects.create(user=member, daily_jobs=2)
    response = api_client.post(f"{API}/generations/batch/quote/", {"items": items(3)}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["jobs"] == 3 and body["credits"] == 30 and body["video_seconds"] == 12
    assert body["accepted"] is False and body["refusal"]["limit"] == "daily_jobs"
    ok = api_client.post(f"{API}/generations/batch/quote/", {"items": items(2)}, format="json").json()
    assert ok["accepted"] is True
    bad = api_client.post(f"{API}/generations/batch/quote/", {"items": items(1, durationSeconds=7)}, format="json")
    assert bad.status_code == 400 and "items[0].payload.durationSeconds" in bad.json()["errors"]
    assert Generation.objects.count() == 0


def test_batch_progress_counts_each_status_and_is_the_submitters_only(api_client, member, veo, no_auto_dispatch):
    batch_id = post_batch(api_client, {"items": items(3)}).json()["id"]
    first = Generation.objects.filter(batch_id=batch_id).order_by("created_at").first()
    Generation.objects.filter(pk=first.pk).update(status="succeeded")
    body = api_client.get(f"{API}/batches/{batch_id}/").json()
    assert body["counts"]["succeeded"] == 1 and body["counts"]["queued"] == 2 and body["counts"]["failed"] == 0
    listed = api_client.get(f"{API}/generations/", {"batch": batch_id}).json()
    assert listed["count"] == 3
    other = UserFactory(username="mallory")
    _, key = tokens.create_token(user=other)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert api_client.get(f"{API}/batches/{batch_id}/").status_code == 404
    assert api_client.post(f"{API}/batches/{batch_id}/cancel/").status_code == 404
    assert api_client.get(f"{API}/generations/", {"batch": batch_id}).json()["count"] == 0


def test_cancel_the_rest_cancels_only_what_has_not_ended(api_client, member, veo, no_auto_dispatch):
    batch_id = post_batch(api_client, {"items": items(4)}).json()["id"]
    done, failed, mirroring, waiting = Generation.objects.filter(batch_id=batch_id).order_by("created_at")
    Generation.objects.filter(pk=done.pk).update(status="succeeded")
    Generation.objects.filter(pk=failed.pk).update(status="failed", error="GMI failed")
    Generation.objects.filter(pk=mirroring.pk).update(status="mirroring")
    response = api_client.post(f"{API}/batches/{batch_id}/cancel/")
    assert response.status_code == 200
    assert response.json()["cancelled"] == [str(waiting.pk)]
    statuses = dict(Generation.objects.filter(batch_id=batch_id).values_list("pk", "status"))
    assert statuses == {done.pk: "succeeded", failed.pk: "failed", mirroring.pk: "mirroring",
                        waiting.pk: "cancelled"}
    assert response.json()["counts"]["cancelled"] == 1
    # Only the cancelled job's share was given back.
    assert UsageCounter.objects.get(user=member, metric="daily_jobs").used == 3


@override_generations(DEFAULT_LIMITS={"daily_jobs": None})
def test_a_hundred_job_batch_does_not_starve_another_member(veo, user, other_user, no_auto_dispatch):
    batch = batches.submit_batch(user=user, items=items(100))
    theirs = submissions.submit_generation(user=other_user, model_id="Veo3", payload={"prompt": "just one"})
    positions = queue_positions([theirs, *Generation.objects.filter(batch=batch)])
    assert positions[theirs.pk] <= 2  # one turn each: the batch's owner and then them, not 101st
    # And the dispatcher agrees: with room for two jobs, one of each member's goes.
    with override_generations(MAX_IN_FLIGHT=2):
        claimed = dispatching.claim_batch(limit=2)
    assert sorted(g.owner_id for g in claimed) == sorted([user.pk, other_user.pk])


def test_the_generation_list_filters_favorites(api_client, member, veo):
    starred = GenerationFactory(owner=member, favorite=True)
    GenerationFactory(owner=member)
    body = api_client.get(f"{API}/generations/", {"favorite": "1"}).json()
    assert [r["id"] for r in body["results"]] == [str(starred.pk)]


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_batches_accept_exactly_what_fits(no_auto_dispatch):
    VideoModelFactory(id="Veo3")
    racer = UserFactory(username="batchracer")
    UserProfile.objects.create(user=racer, daily_jobs=10)

    def attempt(i):
        try:
            return batches.submit_batch(user=racer, items=items(3))
        except QuotaExceeded as exc:
            return exc

    results = run_concurrently(20, attempt)
    accepted = [r for r in results if isinstance(r, Batch)]
    others = [r for r in results if not isinstance(r, (Batch, QuotaExceeded))]
    assert others == []
    assert len(accepted) == 3, connection.vendor  # 3 × 3 = 9 fit in 10; a fourth would need 12
    assert Generation.objects.filter(owner=racer).count() == 9
    assert UsageCounter.objects.get(user=racer, metric="daily_jobs").used == 9
    assert LedgerEntry.objects.filter(kind="reserve", metric="daily_jobs").count() == 9


@pytest.mark.django_db(transaction=True)  # mirroring starts after commit
def test_a_batch_runs_to_the_end_against_the_simulator(api_client, member, catalogue):
    payload = {"prompt": "a lighthouse at dusk"}
    response = post_batch(api_client, {"items": [{"model": "Veo3", "payload": payload}] * 2})
    assert response.status_code == 201, response.json()
    for generation in Generation.objects.filter(batch_id=response.json()["id"]):
        drive(generation)
    body = api_client.get(f"{API}/batches/{response.json()['id']}/").json()
    assert body["counts"]["succeeded"] == 2
    assert all(g["video_url"] for g in body["generations"])


def test_a_batch_quote_says_when_some_jobs_will_wait_for_a_slot(api_client, member, veo):
    UserProfile.objects.create(user=member, concurrent_jobs=3)
    fits = api_client.post(f"{API}/generations/batch/quote/", {"items": items(3)}, format="json").json()
    waits = api_client.post(f"{API}/generations/batch/quote/", {"items": items(4)}, format="json").json()
    assert fits["accepted"] and not fits["will_wait"]
    assert waits["accepted"] and waits["will_wait"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_idempotency_key_make_one_batch(no_auto_dispatch):
    VideoModelFactory(id="Veo3")
    twin = UserFactory(username="twin")
    results = run_concurrently(6, lambda i: batches.submit_batch(user=twin, items=items(2), idempotency_key="same"))
    assert all(isinstance(r, Batch) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert Generation.objects.filter(owner=twin).count() == 2
    assert UsageCounter.objects.get(user=twin, metric="daily_jobs").used == 2


class OnlyVeoPolicy:
    """A host's submit policy that refuses every model but Veo3, and counts what it is asked."""

    asked: list = []

    def check_submit(self, *, user, model, team):
        from generations.exceptions import NotAllowed

        self.asked.append(model.pk)
        if model.pk != "Veo3":
            raise NotAllowed(f"{model.pk} is not for you.")


def test_a_batch_asks_the_submit_policy_once_per_model_and_a_refusal_refuses_it_whole(veo, user,
                                                                                      no_auto_dispatch):
    VideoModelFactory(id="Kling")
    OnlyVeoPolicy.asked = []
    with override_generations(SUBMIT_POLICY="tests.api.test_batches.OnlyVeoPolicy"):
        batches.submit_batch(user=user, items=items(5))
        assert OnlyVeoPolicy.asked == ["Veo3"]
        mixed = items(3) + [{"model": "Kling", "payload": {"prompt": "a kite"}}]
        with pytest.raises(NotAllowed):
            batches.submit_batch(user=user, items=mixed)
    assert Generation.objects.filter(owner=user).count() == 5
