"""Quotas: exact reservations under concurrency, refunds, the ledger, quotes and reset times."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from generations.exceptions import QuotaExceeded
from generations.models import Generation, LedgerEntry, UsageCounter, UserProfile
from generations.selectors import quotas as quota_reads
from generations.services import quotas, submissions
from generations.services.lifecycle import transition
from tests.helpers.factories import (
    MembershipFactory,
    TeamFactory,
    UserFactory,
    VideoModelFactory,
)
from tests.helpers.ledger import ledger_totals
from tests.helpers.settings import override_generations
from tests.helpers.threads import run_concurrently

PAYLOAD = {"prompt": "a lighthouse in a storm", "durationSeconds": 4}


def submit(user, **kwargs):
    return submissions.submit_generation(user=user, model_id="Veo3", payload=dict(PAYLOAD), **kwargs)


@pytest.fixture
def veo(db):
    return VideoModelFactory(id="Veo3", price_credits=Decimal("10"))


def test_over_daily_quota_is_refused_with_reset_time(veo, user, no_auto_dispatch):
    UserProfile.objects.create(user=user, daily_jobs=2)
    submit(user)
    submit(user)
    with pytest.raises(QuotaExceeded) as refused:
        submit(user)
    assert refused.value.limit == "daily_jobs"
    tomorrow = timezone.localdate() + timezone.timedelta(days=1)
    assert timezone.localtime(refused.value.resets_at).date() == tomorrow
    assert Generation.objects.filter(owner=user).count() == 2


def test_credits_follow_the_model_price_per_second(veo, user, no_auto_dispatch):
    veo.price_unit = "second"
    veo.price_credits = Decimal("2.5")
    veo.save()
    generation = submit(user)
    assert generation.credits == Decimal("10.00")  # 4 s x 2.5
    UserProfile.objects.create(user=user, monthly_credits=15)
    with pytest.raises(QuotaExceeded) as refused:
        submit(user)
    assert refused.value.limit == "monthly_credits"


def test_failed_job_gives_usage_back_and_ledger_adds_up(veo, user, no_auto_dispatch):
    generation = submit(user)
    usage = quota_reads.usage_for_user(user)
    assert usage["used"]["daily_jobs"] == 1 and usage["used"]["monthly_credits"] == 10
    transition(generation, Generation.Status.FAILED, error="boom")
    # A second refund attempt (two workers) changes nothing.
    assert quotas.refund_generation(generation) == 0
    usage = quota_reads.usage_for_user(user)
    assert usage["used"] == {"daily_jobs": 0, "concurrent_jobs": 0, "monthly_video_seconds": 0, "monthly_credits": 0}
    for (metric, period), total in ledger_totals(user=user).items():
        counter = UsageCounter.objects.get(user=user, metric=metric, period=period)
        assert counter.used == total == 0
    kinds = set(LedgerEntry.objects.filter(generation=generation).values_list("kind", flat=True))
    assert kinds == {"reserve", "refund"}


def test_cancelled_job_gives_usage_back(veo, user, no_auto_dispatch):
    generation = submit(user)
    submissions.cancel_generation(generation=generation, actor=user)
    assert quota_reads.usage_for_user(user)["used"]["daily_jobs"] == 0


def test_succeeded_job_is_charged_and_keeps_its_usage(veo, user, no_auto_dispatch):
    generation = submit(user)
    Generation.objects.filter(pk=generation.pk).update(status="mirroring")
    generation.refresh_from_db()
    transition(generation, Generation.Status.SUCCEEDED)
    assert quota_reads.usage_for_user(user)["used"]["daily_jobs"] == 1
    assert LedgerEntry.objects.filter(generation=generation, kind="charge").count() == 3


def test_team_pool_is_shared_by_members(veo, no_auto_dispatch):
    team = TeamFactory(monthly_video_seconds=8)
    alice = MembershipFactory(team=team).user
    bob = MembershipFactory(team=team).user
    submit(alice, team=team.slug)
    submit(bob, team=team.slug)
    with pytest.raises(QuotaExceeded) as refused:
        submit(alice, team=team.slug)
    assert refused.value.limit == "monthly_video_seconds" and refused.value.scope == "team"
    submit(alice)  # private jobs do not draw on the team pool
    assert quota_reads.usage_for_team(team)["used"]["monthly_video_seconds"] == 8


def test_quote_answers_without_creating_anything(veo, user, no_auto_dispatch):
    UserProfile.objects.create(user=user, monthly_credits=25)
    submit(user)
    result = submissions.quote_generation(user=user, model_id="Veo3", payload=dict(PAYLOAD))
    assert result["credits"] == 10 and result["accepted"] is True
    submit(user)
    result = submissions.quote_generation(user=user, model_id="Veo3", payload=dict(PAYLOAD))
    assert result["accepted"] is False and result["refusal"]["limit"] == "monthly_credits"
    assert Generation.objects.count() == 2


def _race(user_ids, team_slug=None):
    from django.contrib.auth import get_user_model

    users = {pk: get_user_model().objects.get(pk=pk) for pk in set(user_ids)}

    def attempt(i):
        try:
            return submit(users[user_ids[i]], team=team_slug)
        except QuotaExceeded as exc:
            return exc

    return run_concurrently(len(user_ids), attempt)


@pytest.mark.django_db(transaction=True)
def test_fifty_simultaneous_submissions_against_five_remaining_accept_exactly_five(no_auto_dispatch):
    VideoModelFactory(id="Veo3")
    user = UserFactory(username="racer")
    UserProfile.objects.create(user=user, daily_jobs=7)
    submit(user)
    submit(user)  # 5 remain
    results = _race([user.pk] * 50)
    accepted = [r for r in results if isinstance(r, Generation)]
    refused = [r for r in results if isinstance(r, QuotaExceeded)]
    others = [r for r in results if not isinstance(r, (Generation, QuotaExceeded))]
    assert others == []
    assert len(accepted) == 5 and len(refused) == 45, connection.vendor
    assert all(r.limit == "daily_jobs" for r in refused)
    assert Generation.objects.filter(owner=user).count() == 7
    assert UsageCounter.objects.get(user=user, metric="daily_jobs").used == 7


@pytest.mark.django_db(transaction=True)
def test_team_pool_is_exact_when_several_members_submit_at_once(no_auto_dispatch):
    VideoModelFactory(id="Veo3")
    team = TeamFactory(monthly_video_seconds=20)  # five 4-second jobs
    members = [MembershipFactory(team=team).user for _ in range(5)]
    with override_generations(DEFAULT_LIMITS={"daily_jobs": None, "monthly_video_seconds": None}):
        results = _race([members[i % 5].pk for i in range(40)], team_slug=team.slug)
    accepted = [r for r in results if isinstance(r, Generation)]
    assert len(accepted) == 5, [r for r in results if not isinstance(r, (Generation, QuotaExceeded))]
    assert all(isinstance(r, (Generation, QuotaExceeded)) for r in results)
    assert UsageCounter.objects.get(team=team, metric="monthly_video_seconds").used == 20


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(180)
def test_fifty_submissions_from_five_processes_accept_exactly_five(tmp_path):
    """The same race across processes (separate connections, separate interpreters)."""
    import json
    import subprocess
    import sys
    import uuid
    from pathlib import Path

    from tests.helpers.databases import database_url

    VideoModelFactory(id="Veo3")
    user = UserFactory(username="procracer")
    UserProfile.objects.create(user=user, daily_jobs=5)
    root = Path(__file__).resolve().parents[2]  # the repository
    env = {**__import__("os").environ, "DJANGO_SETTINGS_MODULE": "gmi_project.settings", "DJANGO_DEBUG": "1",
           "DATABASE_URL": database_url(), "Q_CLUSTER_NAME": f"race-{uuid.uuid4().hex[:8]}"}
    processes = [
        subprocess.Popen([sys.executable, "-m", "tests.helpers.submit_worker", "procracer", "Veo3", "10"], cwd=root,
                         env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(5)
    ]
    for process in processes:  # every process up and connected before any submits
        ready = any(line.strip() == "ready" for line in iter(process.stdout.readline, ""))
        assert ready, process.communicate(timeout=30)[1][-2000:]
    for process in processes:
        process.stdin.write("go\n")
        process.stdin.flush()
    outcomes = []
    for process in processes:
        out, err = process.communicate(timeout=150)
        assert process.returncode == 0, err[-2000:]
        outcomes.append(json.loads(out.strip().splitlines()[-1]))
    assert [e for o in outcomes for e in o["errors"]] == []
    assert sum(o["accepted"] for o in outcomes) == 5
    assert sum(o["refused"] for o in outcomes) == 45
    assert Generation.objects.filter(owner=user).count() == 5


def test_model_without_a_duration_parameter_still_counts_video_seconds(db, user, no_auto_dispatch):
    VideoModelFactory(id="NoDuration", parameters=[{"name": "prompt", "type": "string", "required": True}])
    with override_generations(DEFAULT_VIDEO_SECONDS=7):
        generation = submissions.submit_generation(user=user, model_id="NoDuration", payload={"prompt": "x"})
    assert generation.video_seconds == 7
    assert quota_reads.usage_for_user(user)["used"]["monthly_video_seconds"] == 7


def test_periods_follow_the_site_time_zone_whatever_zone_is_active(settings):
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from django.utils import timezone as tz

    settings.TIME_ZONE = "UTC"
    late = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)  # already the next day and year in Tokyo
    with tz.override(ZoneInfo("Asia/Tokyo")):  # as a host that activates each member's zone
        assert quota_reads.period_for("daily_jobs", late) == "2026-12-31"
        assert quota_reads.period_for("monthly_credits", late) == "2026-12"
        assert quota_reads.resets_at("daily_jobs", late) == datetime(2027, 1, 1, tzinfo=UTC)
