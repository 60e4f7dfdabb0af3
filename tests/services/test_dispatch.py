"""Fair dispatch: per-user concurrency, the site-wide cap, round-robin across users, places in line."""
from __future__ import annotations

import pytest

from generations.models import Generation, UserProfile
from generations.services import dispatching, submissions
from tests.helpers.engine import engine_here
from tests.helpers.factories import UserFactory
from tests.helpers.lifecycle import drive
from tests.helpers.settings import override_generations
from tests.helpers.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

S = Generation.Status


def submit(user, n=0):
    return submissions.submit_generation(user=user, model_id="Veo3", payload={"prompt": f"job {n} of {user}"})


def at_gmi(user=None) -> int:
    qs = Generation.objects.filter(status__in=Generation.AT_UPSTREAM)
    return qs.filter(owner=user).count() if user else qs.count()


def test_over_concurrent_limit_jobs_are_accepted_and_wait_then_all_finish(catalogue, no_auto_dispatch):
    catalogue.configure(job_seconds=0.8)
    user = UserFactory()
    UserProfile.objects.create(user=user, concurrent_jobs=1)
    jobs = [submit(user, i) for i in range(3)]
    assert all(j.status == S.QUEUED for j in jobs)
    peak = 0

    with engine_here() as engine:
        def all_done() -> bool:
            nonlocal peak
            engine.step()
            peak = max(peak, at_gmi(user))
            return Generation.objects.filter(owner=user, status=S.SUCCEEDED).count() == 3

        wait_until(all_done, timeout=30, what="the three jobs to succeed", interval=0)
    assert peak == 1
    assert Generation.objects.filter(owner=user, status=S.SUCCEEDED).count() == 3
    assert len(catalogue.journal(endpoint="create")) == 3


def test_two_users_queueing_are_served_alternately(catalogue, no_auto_dispatch):
    heavy, light = UserFactory(username="heavy"), UserFactory(username="light")
    for n in range(4):
        submit(heavy, n)
    for n in range(2):
        submit(light, n)
    order = []
    with override_generations(MAX_IN_FLIGHT=1):
        for _ in range(6):
            claimed = dispatching.claim_batch(limit=1)
            assert len(claimed) == 1
            generation = claimed[0]
            order.append(generation.owner.username)
            # Free the slot as if the job had ended.
            Generation.objects.filter(pk=generation.pk).update(status=S.CANCELLED)
    assert order[:4] == ["heavy", "light", "heavy", "light"] or order[:4] == ["light", "heavy", "light", "heavy"]
    assert order[4:] == ["heavy", "heavy"]


def test_site_wide_cap_limits_jobs_at_gmi(catalogue, no_auto_dispatch):
    users = [UserFactory() for _ in range(3)]
    for user in users:
        submit(user)
        submit(user)
    with override_generations(MAX_IN_FLIGHT=2):
        assert dispatching.dispatch_queued() == 2
        assert dispatching.dispatch_queued() == 0
    assert at_gmi() == 2
    assert len({g.owner_id for g in Generation.objects.filter(status=S.DISPATCHED)}) == 2  # two users, one each


def test_queue_position_reflects_round_robin(db, no_auto_dispatch):
    from tests.helpers.factories import VideoModelFactory

    VideoModelFactory(id="Veo3")
    a, b = UserFactory(username="a"), UserFactory(username="b")
    a_jobs = [submit(a, i) for i in range(3)]
    b_job = submit(b)
    positions = dispatching.queue_positions(list(Generation.objects.all()))
    assert positions[a_jobs[0].pk] == 1 and positions[b_job.pk] == 2
    assert positions[a_jobs[1].pk] == 3 and positions[a_jobs[2].pk] == 4


def test_accepted_job_is_sent_on_commit(catalogue):
    generation = submit(UserFactory())
    generation.refresh_from_db()
    assert generation.status == S.DISPATCHED and generation.upstream_request_id
    assert drive(generation).status == S.SUCCEEDED
