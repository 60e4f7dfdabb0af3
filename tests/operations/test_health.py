"""/healthz answers without touching anything; /readyz names each dependency that is down, within its timeout."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.storage import FileSystemStorage, storages
from django.utils import timezone

from generations.models import DispatchLock, EngineBeat
from generations.services import readiness
from tests.helpers.settings import override_generations

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def fresh_gmi_answer():
    readiness.forget_gmi_answer()
    yield
    readiness.forget_gmi_answer()


@pytest.fixture
def live_engine(transactional_db):
    now = timezone.now()
    return EngineBeat.objects.create(owner="engine-a", cluster="host:1", beat_at=now, started_at=now)


@pytest.fixture
def ready_site(transactional_db, catalogue, live_engine):
    """Everything up: a synced catalogue, an engine beating, the simulator as GMI, local storage."""
    return catalogue


def _readyz(client) -> tuple[int, dict]:
    response = client.get("/readyz")
    assert response["Content-Type"] == "application/json"
    return response.status_code, json.loads(response.content)


def test_healthz_answers_without_touching_the_database(client, django_assert_num_queries, db):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_200_with_a_status_per_check_when_everything_is_up(client, ready_site):
    status, body = _readyz(client)
    assert status == 200, body
    assert body["status"] == "ok" and body["failing"] == []
    assert set(body["checks"]) == {"database", "broker", "storage", "engine", "catalogue", "gmi"}
    assert all(check["status"] == "ok" for check in body["checks"].values())
    assert body["checks"]["engine"]["detail"] == "1 live engine(s)"


def test_readyz_names_a_stale_engine_heartbeat(client, ready_site, live_engine):
    EngineBeat.objects.update(beat_at=timezone.now() - timedelta(seconds=60))
    status, body = _readyz(client)
    assert status == 503
    assert body["failing"] == ["engine"]
    assert "stale" in body["checks"]["engine"]["detail"]


def test_readyz_names_storage_that_cannot_be_written(client, ready_site, settings, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    settings.STORAGES = {**settings.STORAGES, "generations": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(blocker / "generations")},
    }}
    storages._storages = {}
    status, body = _readyz(client)
    assert status == 503
    assert body["failing"] == ["storage"]
    assert str(tmp_path) not in json.dumps(body)  # no path of the server in a public answer


def test_readyz_names_gmi_when_it_cannot_be_reached(client, ready_site, settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    with override_generations(BASE_URL=f"http://127.0.0.1:{closed_port}", CONNECT_TIMEOUT=0.5):
        status, body = _readyz(client)
    assert status == 503
    assert body["failing"] == ["gmi"]
    assert str(closed_port) not in json.dumps(body)
    assert settings.GENERATIONS["API_KEY"] not in json.dumps(body)


def test_readyz_counts_a_429_pause_as_ready(client, ready_site):
    DispatchLock.objects.create(name="dispatch", paused_until=timezone.now() + timedelta(seconds=90))
    with override_generations(BASE_URL="http://127.0.0.1:9"):  # GMI is not even asked while it pauses us
        status, body = _readyz(client)
    assert status == 200, body
    assert body["checks"]["gmi"]["detail"].startswith("paused by GMI (429)")


def test_readyz_names_a_catalogue_never_synced(client, transactional_db, gmi, live_engine):
    status, body = _readyz(client)
    assert status == 503
    assert body["failing"] == ["catalogue"]


class HangingStorage(FileSystemStorage):
    """A storage that never finishes a write, as a stuck network mount does."""

    released = threading.Event()

    def _save(self, name, content):
        self.released.wait(30)
        return super()._save(name, content)


def test_a_hung_dependency_cannot_hang_the_probe(client, ready_site, settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "generations": {
        "BACKEND": "tests.operations.test_health.HangingStorage",
        "OPTIONS": {"location": str(tmp_path / "hung")},
    }}
    storages._storages = {}
    try:
        with override_generations(HEALTH_TIMEOUT=0.5):
            started = time.monotonic()
            status, body = _readyz(client)
            took = time.monotonic() - started
    finally:
        HangingStorage.released.set()
    assert status == 503
    assert body["failing"] == ["storage"]
    assert "Timed out" in body["checks"]["storage"]["detail"]
    assert took < 5


def _readyz_in_a_process(tmp_path: Path, **env: str) -> tuple[int, dict]:
    """/readyz from a fresh portal process started with ``env`` (a dependency pointed at nothing)."""
    script = (
        "import django, json; django.setup();"
        "from django.test import Client;"
        "r = Client(HTTP_HOST='localhost').get('/readyz');"
        "print(json.dumps({'status': r.status_code, 'body': json.loads(r.content)}))"
    )
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "gmi_project.settings",
        "DJANGO_DEBUG": "1",
        "DJANGO_MEDIA_ROOT": str(tmp_path / "media"),
        "GMI_API_KEY": "sk-test-process",
        **env,
    }
    environment.pop("REDIS_URL", None) if "REDIS_URL" not in env else None
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    return answer["status"], answer["body"]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_readyz_names_the_database_when_it_is_down(tmp_path):
    port = _closed_port()
    status, body = _readyz_in_a_process(tmp_path, DATABASE_URL=f"postgres://postgres@127.0.0.1:{port}/gmi")
    assert status == 503
    assert "database" in body["failing"]
    assert body["checks"]["database"]["status"] == "down"
    assert str(port) not in json.dumps(body)


def test_readyz_names_the_redis_broker_when_it_is_down(tmp_path):
    port = _closed_port()
    status, body = _readyz_in_a_process(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
                                        REDIS_URL=f"redis://127.0.0.1:{port}/0")
    assert status == 503
    assert "broker" in body["failing"]
    assert body["checks"]["database"]["status"] == "ok"
    assert str(port) not in json.dumps(body)
