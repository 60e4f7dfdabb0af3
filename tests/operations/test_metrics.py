"""/metrics: who may read it, figures that move with the jobs, and counters that add up across processes."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from generations.exceptions import QuotaExceeded
from generations.models import DispatchLock, EngineBeat, EngineShard, Generation
from generations.services import submissions, upstream
from tests.helpers.factories import GenerationFactory
from tests.helpers.lifecycle import drive
from tests.helpers.settings import TEST_API_KEY, override_generations

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "metrics-token-5b1e"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


def scrape(client) -> str:
    with override_generations(METRICS_TOKEN=TOKEN):
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


@pytest.fixture(autouse=True)
def no_multiprocess_dir(monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)


def test_metrics_without_credentials_do_not_exist(client, db):
    with override_generations(METRICS_TOKEN=TOKEN):
        assert client.get("/metrics").status_code == 404


def test_a_wrong_metrics_token_is_refused(client, db):
    with override_generations(METRICS_TOKEN=TOKEN):
        response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer not-it")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert TOKEN not in response.content.decode()


def test_no_token_is_accepted_while_none_is_configured(client, db):
    with override_generations(METRICS_TOKEN=""):
        assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401


def test_staff_read_metrics_with_their_session_and_members_do_not(client, staff_user, user):
    client.force_login(user)
    assert client.get("/metrics").status_code == 404
    client.force_login(staff_user)
    response = client.get("/metrics")
    assert response.status_code == 200
    assert "gmi_queue_depth" in response.content.decode()


def test_queue_depth_and_oldest_age_follow_the_waiting_jobs(client, db):
    GenerationFactory(created_at=timezone.now() - timedelta(seconds=120))
    GenerationFactory()
    GenerationFactory(succeeded=True)
    text = scrape(client)
    assert value(text, "gmi_queue_depth") == 2
    assert 115 <= value(text, "gmi_queue_oldest_age_seconds") <= 200
    assert value(text, "gmi_jobs", status="queued") == 2
    assert value(text, "gmi_jobs", status="succeeded") == 1
    assert value(text, "gmi_storage_used_bytes") == 1024


def test_engines_their_shards_and_the_pause_are_reported(client, db):
    now = timezone.now()
    EngineBeat.objects.create(owner="engine-a", beat_at=now, started_at=now)
    EngineBeat.objects.create(owner="engine-dead", beat_at=now - timedelta(minutes=5), started_at=now)
    EngineShard.objects.bulk_create([EngineShard(shard=i, owner="engine-a", beat_at=now) for i in range(5)])
    DispatchLock.objects.create(name="dispatch", paused_until=now + timedelta(seconds=30))
    text = scrape(client)
    assert value(text, "gmi_engine_shards", engine="engine-a") == 5
    assert ("gmi_engine_shards", (("engine", "engine-dead"),)) not in samples(text)
    assert value(text, "gmi_engines_live") == 1
    assert value(text, "gmi_upstream_paused") == 1


@pytest.mark.django_db(transaction=True)
def test_metrics_move_as_a_job_goes_from_queued_to_succeeded(client, catalogue, user, no_auto_dispatch):
    before = scrape(client)
    generation = submissions.submit_generation(user=user, model_id="Veo3",
                                               payload={"prompt": "a lighthouse at dusk", "durationSeconds": 8})
    queued = scrape(client)
    assert value(queued, "gmi_jobs", status="queued") == 1
    assert value(queued, "gmi_queue_depth") == 1

    generation = drive(generation)
    assert generation.status == Generation.Status.SUCCEEDED
    done = scrape(client)
    assert value(done, "gmi_jobs", status="succeeded") == 1
    assert value(done, "gmi_queue_depth") == 0
    sent = value(done, "gmi_upstream_calls_total", endpoint="create", outcome="ok") - \
        value(before, "gmi_upstream_calls_total", endpoint="create", outcome="ok")
    assert sent == 1
    assert value(done, "gmi_upstream_call_seconds_count", endpoint="create") >= 1
    assert value(done, "gmi_status_lag_seconds_count") - value(before, "gmi_status_lag_seconds_count") == 1
    mirrored = value(done, "gmi_mirror_bytes_total") - value(before, "gmi_mirror_bytes_total")
    generation.refresh_from_db()
    assert mirrored == generation.video_size + (generation.thumbnail_size or 0)
    assert value(done, "gmi_storage_used_bytes") == mirrored


@pytest.mark.django_db(transaction=True)
def test_quota_refusals_and_429_pauses_are_counted(client, catalogue, user, no_auto_dispatch):
    before = scrape(client)
    with override_generations(DEFAULT_LIMITS={"daily_jobs": 0}), pytest.raises(QuotaExceeded):
        submissions.submit_generation(user=user, model_id="Veo3", payload={"prompt": "a fox", "durationSeconds": 8})
    upstream.pause(5)
    after = scrape(client)
    assert value(after, "gmi_quota_refusals_total", limit="daily_jobs") - \
        value(before, "gmi_quota_refusals_total", limit="daily_jobs") == 1
    assert value(after, "gmi_upstream_pauses_total") - value(before, "gmi_upstream_pauses_total") == 1


CALLER = """
import django
django.setup()
from generations.client import get_client
client = get_client()
for _ in range({calls}):
    client.list_models()
"""


def test_counters_add_up_across_processes(client, staff_user, gmi, tmp_path, monkeypatch):
    """Two worker processes call GMI; any process's scrape reports both (prometheus-client multiprocess mode)."""
    directory = tmp_path / "prometheus"
    directory.mkdir()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "gmi_project.settings",
        "DJANGO_DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
        "GMI_API_KEY": TEST_API_KEY,
        "GMI_BASE_URL": gmi.base_url,
        "PROMETHEUS_MULTIPROC_DIR": str(directory),
    }
    workers = [subprocess.Popen([sys.executable, "-c", CALLER.format(calls=calls)], cwd=ROOT, env=env,
                                stderr=subprocess.PIPE, text=True) for calls in (3, 4)]
    for worker in workers:
        _, stderr = worker.communicate(timeout=60)
        assert worker.returncode == 0, stderr
    assert len(list(directory.glob("*.db"))) >= 2  # one file per process

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
    client.force_login(staff_user)
    text = client.get("/metrics").content.decode()
    assert value(text, "gmi_upstream_calls_total", endpoint="list_models", outcome="ok") == 7
    assert value(text, "gmi_upstream_call_seconds_count", endpoint="list_models") == 7
    assert "gmi_queue_depth" in text  # the database's figures beside the processes' counters
