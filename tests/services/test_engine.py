"""The engine: shard leases, concurrent upstream calls, no writes for unchanged polls, no task storms."""
from __future__ import annotations

import itertools
import time
from datetime import timedelta

import pytest
from django.core import checks
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from generations import queue
from generations.models import SHARDS, DispatchLock, EngineShard, Generation, UserProfile
from generations.services import dispatching, polling, shards, submissions
from generations.services.engine import Engine
from tests.helpers.engine import engines_running
from tests.helpers.factories import UserFactory
from tests.helpers.migrations import migration_under_test
from tests.helpers.settings import override_generations
from tests.helpers.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

S = Generation.Status


def submit(user, n=0):
    return submissions.submit_generation(user=user, model_id="Veo3", payload={"prompt": f"engine job {n} of {user}"})


def test_two_engines_split_the_shards_fairly_and_never_share_one():
    shards.beat("engine-a")
    held_a, _ = shards.rebalance("engine-a")
    assert len(held_a) == SHARDS  # alone, it takes them all
    shards.beat("engine-b")
    held_b, _ = shards.rebalance("engine-b")
    assert held_b == set()  # nothing is free until A hands some back
    held_a, _ = shards.rebalance("engine-a")  # A sees B and keeps its fair share
    held_b, _ = shards.rebalance("engine-b")
    assert len(held_a) == len(held_b) == SHARDS // 2
    assert not held_a & held_b


def test_an_engine_keeps_shards_that_have_polls_in_flight():
    shards.beat("engine-a")
    held, _ = shards.rebalance("engine-a")
    shards.beat("engine-b")
    held, _ = shards.rebalance("engine-a", releasable=set())  # everything busy: nothing handed back
    assert len(held) == SHARDS


def test_a_dead_engines_shards_are_taken_over_once_its_lease_has_run_out(monkeypatch):
    with override_generations(ENGINE_STALE=30):
        shards.beat("dead")
        shards.rebalance("dead")
        shards.beat("heir")
        assert shards.rebalance("heir")[0] == set()  # still leased
        later = timezone.now() + timedelta(seconds=31)
        monkeypatch.setattr(timezone, "now", lambda: later)  # leases are read against this clock
        shards.beat("heir")
        held, _ = shards.rebalance("heir")
    assert len(held) == SHARDS
    assert not EngineShard.objects.filter(owner="dead").exists()


def test_a_host_still_setting_the_former_key_keeps_its_value_and_is_told_the_new_name(settings):
    settings.GENERATIONS = {**settings.GENERATIONS, "POLLER_STALE": 0.5}
    assert shards.lease_seconds() == 0.5
    renamed = [m for m in checks.run_checks() if m.id == "generations.W005"]
    assert len(renamed) == 1 and "'ENGINE_STALE'" in renamed[0].msg
    assert not [m for m in checks.run_checks() if m.id == "generations.E002"]  # not an unknown key
    settings.GENERATIONS = {**settings.GENERATIONS, "ENGINE_STALE": 2.0}
    assert shards.lease_seconds() == 2.0  # the new name wins


def test_a_poll_that_finds_nothing_new_writes_nothing(catalogue):
    catalogue.configure(job_seconds=30)
    generation = submit(UserFactory())
    generation.refresh_from_db()
    generation = Generation.objects.get(pk=generation.pk)
    polling.apply_poll(generation, polling.fetch_remote(generation))  # the first answer may be news
    generation = Generation.objects.get(pk=generation.pk)
    result = polling.fetch_remote(generation)
    with CaptureQueriesContext(connection) as queries:
        outcome = polling.apply_poll(generation, result)
    assert outcome.next_check_at is not None and outcome.next_check_at > timezone.now()
    assert not outcome.to_mirror
    writes = [q["sql"] for q in queries if not q["sql"].lstrip().upper().startswith("SELECT")]
    assert writes == []


def test_a_burst_of_submissions_asks_for_one_dispatch_task(catalogue, monkeypatch):
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", False)
    queued = []
    monkeypatch.setattr(queue, "async_task", lambda func, *args, **kwargs: queued.append(func))
    monkeypatch.setattr(queue, "_last_wakes", {})
    monkeypatch.setattr(queue, "WAKE_DEBOUNCE", 3600.0)  # the whole burst falls in one window, however slow
    monkeypatch.setattr(shards, "engine_alive", lambda: False)
    user = UserFactory()
    UserProfile.objects.create(user=user, daily_jobs=200, concurrent_jobs=200)
    for n in range(100):
        submit(user, n)
    assert queued == ["generations.tasks.dispatch"]
    assert Generation.objects.filter(status=S.QUEUED).count() == 100


def test_no_dispatch_task_is_asked_for_while_an_engine_runs(catalogue, monkeypatch):
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", False)
    queued = []
    monkeypatch.setattr(queue, "async_task", lambda func, *args, **kwargs: queued.append(func))
    monkeypatch.setattr(queue, "_last_wakes", {})
    shards.beat("a-live-engine")
    submit(UserFactory())
    assert queued == []


def test_claiming_a_batch_costs_the_same_queries_for_5_and_for_50_users(catalogue, no_auto_dispatch):
    DispatchLock.objects.get_or_create(name="dispatch")

    def queries_for(users: int) -> int:
        Generation.objects.all().delete()
        for _ in range(users):
            submit(UserFactory())
        with override_generations(MAX_IN_FLIGHT=1000), CaptureQueriesContext(connection) as queries:
            batch = dispatching.claim_batch(limit=1000)
        assert len(batch) == users
        return len(queries)

    assert queries_for(5) == queries_for(50)


def test_a_batch_is_claimed_in_round_robin_order(catalogue, no_auto_dispatch):
    heavy, light = UserFactory(username="heavy"), UserFactory(username="light")
    UserProfile.objects.create(user=heavy, concurrent_jobs=10)
    for n in range(4):
        submit(heavy, n)
    for n in range(2):
        submit(light, n)
    batch = dispatching.claim_batch(limit=6)
    order = [g.owner.username for g in batch]
    assert order[:4] in (["heavy", "light"] * 2, ["light", "heavy"] * 2)
    assert order[4:] == ["heavy", "heavy"]


def test_sends_run_concurrently_and_each_job_is_sent_once(catalogue, no_auto_dispatch):
    catalogue.set_latency(latency_ms=200)
    try:
        users = [UserFactory() for _ in range(8)]
        for user in users:
            submit(user)
        started = time.monotonic()
        with override_generations(UPSTREAM_CONCURRENCY=8):
            assert dispatching.dispatch_queued() == 8
        elapsed = time.monotonic() - started
    finally:
        catalogue.set_latency(latency_ms=0)
    assert elapsed < 8 * 0.2  # one after another would take 1.6 s at least
    assert len(catalogue.journal(endpoint="create")) == 8


def test_two_engines_drive_jobs_to_the_end_without_polling_one_twice_at_once(catalogue, no_auto_dispatch):
    catalogue.configure(job_seconds=1.0)
    users = [UserFactory() for _ in range(6)]
    jobs = [submit(user, n) for n, user in enumerate(users * 2)]
    engines = [Engine(owner=f"engine-{i}") for i in range(2)]
    with override_generations(POLL_INTERVAL=0.2, MAX_IN_FLIGHT=100, POLL_BY_LIST=False), engines_running(*engines):
        wait_until(lambda: Generation.objects.filter(status=S.SUCCEEDED).count() == len(jobs), 30,
                   "every job to succeed")
    assert len(catalogue.journal(endpoint="create")) == len(jobs)
    assert sum(e.counts["polled"] for e in engines) == len(catalogue.journal(endpoint="get"))
    assert all(e.counts["polled"] > 0 for e in engines)  # both engines took part
    # Each job's polls are at least most of a poll interval apart: never two at once.
    by_job: dict[str, list[float]] = {}
    for entry in catalogue.journal(endpoint="get"):
        by_job.setdefault(entry["path"].rsplit("/", 1)[-1], []).append(entry["time"])
    for times in by_job.values():
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert all(gap > 0.1 for gap in gaps), gaps


def test_many_jobs_of_one_model_are_polled_with_the_request_list(
        catalogue, no_auto_dispatch):
    catalogue.configure(job_seconds=1.5)
    user = UserFactory()
    UserProfile.objects.create(user=user, concurrent_jobs=50, daily_jobs=50)
    jobs = [submit(user, n) for n in range(20)]
    engine = Engine(owner="lister")
    with override_generations(POLL_INTERVAL=0.2, MAX_IN_FLIGHT=100, POLL_BY_LIST_MIN=5), engines_running(engine):
        wait_until(lambda: Generation.objects.filter(status=S.SUCCEEDED).count() == len(jobs), 30,
                   "every job to succeed")
    lists, gets = catalogue.journal(endpoint="list"), catalogue.journal(endpoint="get")
    assert lists, "the request list was never used"
    assert len(gets) + len(lists) < engine.counts["polled"]  # one list call answered for many jobs


def test_every_list_call_answers_for_every_job_so_each_is_seen_every_half_interval(
        catalogue, no_auto_dispatch):
    catalogue.configure(job_seconds=600)  # running throughout
    user = UserFactory()
    UserProfile.objects.create(user=user, concurrent_jobs=50, daily_jobs=50)
    jobs = [submit(user, n) for n in range(12)]
    engine = Engine(owner="lister")
    with override_generations(POLL_INTERVAL=1.0, MAX_IN_FLIGHT=100, POLL_BY_LIST_MIN=5), engines_running(engine):
        wait_until(lambda: Generation.objects.filter(status__in=Generation.AT_UPSTREAM).count() == len(jobs),
                   30, "every job to reach GMI")
        wait_until(lambda: len(catalogue.journal(endpoint="list")) >= 8, 30, "eight list calls")
    lists = [entry["time"] for entry in catalogue.journal(endpoint="list")][1:]
    gaps = sorted(b - a for a, b in itertools.pairwise(lists))
    # Half the interval apart (not one interval, which carrying only the jobs due would give).
    assert gaps[len(gaps) // 2] < 0.75, gaps
    # Each call answered for every job: the polls counted are the listed jobs, not a few due ones.
    assert engine.counts["polled"] >= (len(lists) - 1) * len(jobs)


def test_a_job_the_list_leaves_out_is_fetched_alone_once_per_interval(catalogue, no_auto_dispatch, monkeypatch):
    catalogue.configure(job_seconds=600)
    user = UserFactory()
    UserProfile.objects.create(user=user, concurrent_jobs=50, daily_jobs=50)
    jobs = [submit(user, n) for n in range(10)]
    left_out: list[str] = []
    real_fetch_list = polling.fetch_list

    def abbreviated(model_id):  # as a list that pages or trims its entries would answer
        listed = real_fetch_list(model_id)
        return [job for job in listed if job.request_id not in left_out]

    monkeypatch.setattr(polling, "fetch_list", abbreviated)
    engine = Engine(owner="lister")
    with override_generations(POLL_INTERVAL=1.0, MAX_IN_FLIGHT=100, POLL_BY_LIST_MIN=5), engines_running(engine):
        wait_until(lambda: Generation.objects.filter(status__in=Generation.AT_UPSTREAM).count() == len(jobs),
                   30, "every job to reach GMI")
        missing = Generation.objects.filter(pk=jobs[0].pk).values_list("upstream_request_id", flat=True).get()
        left_out.append(missing)
        started = time.monotonic()
        wait_until(lambda: len(catalogue.journal(endpoint="list")) >= 10, 30, "ten list calls")
        elapsed = time.monotonic() - started
    alone = [e for e in catalogue.journal(endpoint="get") if e["path"].endswith(missing)]
    # Carried on every list call, it would be fetched alone after each of them (about twice an interval).
    assert 1 <= len(alone) <= elapsed / 1.0 + 2, (len(alone), elapsed)


def test_a_listed_end_without_its_outcome_is_confirmed_by_fetching_the_job():
    from generations.gmi.base import RemoteJob, RemoteState

    generation = Generation(upstream_request_id="r1", status=S.PROCESSING)
    bare_success = RemoteJob(request_id="r1", state=RemoteState.SUCCEEDED, raw_status="success")
    bare_failure = RemoteJob(request_id="r1", state=RemoteState.FAILED, raw_status="failed")
    full = RemoteJob(request_id="r1", state=RemoteState.SUCCEEDED, raw_status="success",
                     video_urls=("https://storage.googleapis.com/v.mp4",))
    running = RemoteJob(request_id="r1", state=RemoteState.PROCESSING, raw_status="processing")
    assert polling.usable_from_list(generation, {"r1": bare_success}) is None
    assert polling.usable_from_list(generation, {"r1": bare_failure}) is None
    assert polling.usable_from_list(generation, {}) is None  # not in the list: fetched directly
    assert polling.usable_from_list(generation, {"r1": full}) is full
    assert polling.usable_from_list(generation, {"r1": running}) is running


def test_an_engine_gives_way_to_the_older_engine_of_its_cluster(db):
    older, younger = Engine(owner="a" * 32, cluster="host:1"), Engine(owner="b" * 32, cluster="host:1")
    shards.beat(older.owner, cluster="host:1")
    younger.maintain()
    assert younger.stop.is_set()


def test_a_configuration_that_cannot_keep_up_is_reported(settings):
    with override_generations(MAX_IN_FLIGHT=1000, POLL_INTERVAL=1.0, UPSTREAM_CONCURRENCY=16):
        warnings = [m for m in checks.run_checks() if m.id == "generations.W001"]
    assert warnings and "at least 101" in warnings[0].hint
    with override_generations(MAX_IN_FLIGHT=1000, POLL_INTERVAL=1.0, UPSTREAM_CONCURRENCY=128):
        assert not [m for m in checks.run_checks() if m.id == "generations.W001"]


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_each_due_time_to_its_field_and_renames_the_schedule():
    from django_q.models import Schedule

    with migration_under_test("generations", before="0020_token_expiry_scope",
                              after="0021_engine_vocabulary") as migration:
        old = migration.apps
        User = old.get_model("auth", "User")
        VideoModel, Generation_ = old.get_model("generations", "VideoModel"), old.get_model("generations", "Generation")
        PollerSlot = old.get_model("generations", "PollerSlot")
        owner, model = User.objects.create(username="owner"), VideoModel.objects.create(id="Old")
        due = timezone.now().replace(microsecond=0) + timedelta(minutes=5)

        def job(status, **fields):
            return Generation_.objects.create(owner=owner, model=model, payload={}, status=status, next_poll_at=due,
                                              **fields).pk

        polled = job("processing", upstream_request_id="req-1")
        waiting = job("queued")
        sending = job("queued", send_started_at=timezone.now())
        copying = job("mirroring", upstream_request_id="req-2")
        PollerSlot.objects.create(slot=3, owner="engine-a")
        Schedule.objects.filter(name__in=["gmi-poller", "gmi-engine"]).delete()  # a flushed database has none
        Schedule.objects.create(name="gmi-poller", func="generations.tasks.start_poller", schedule_type="I", minutes=1,
                                repeats=-1)
        migration.forward()
        rows = {g.pk: (g.next_check_at, g.send_lease_until, g.mirror_lease_until) for g in Generation.objects.all()}
        assert rows[polled] == (due, None, None)
        assert rows[waiting] == (due, None, None)
        assert rows[sending] == (None, due, None)
        assert rows[copying] == (None, None, due)
        assert EngineShard.objects.get(shard=3).owner == "engine-a"
        assert Schedule.objects.filter(name="gmi-engine", func="generations.tasks.keep_engine").exists()
        assert not Schedule.objects.filter(func="generations.tasks.start_poller").exists()
