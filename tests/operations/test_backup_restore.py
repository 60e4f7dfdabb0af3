"""A backup taken with jobs in flight at GMI, restored into a fresh database, resumes every job and sends none twice."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.db import connection

from generations.models import Generation
from generations.services import dispatching, submissions
from tests.helpers.databases import database_url
from tests.helpers.settings import TEST_API_KEY, override_generations

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parents[2]
S = Generation.Status

ENGINE = """
import json, threading
import django
django.setup()
from generations.models import Generation
from generations.services.engine import Engine
from tests.helpers.waiting import wait_until

engine = Engine(cluster="restored")
thread = threading.Thread(target=engine.run, daemon=True)
thread.start()
try:
    wait_until(lambda: not Generation.objects.exclude(status__in=Generation.TERMINAL).exists(), 90,
               "every restored job to end", interval=0.2)
finally:
    engine.stop.set()
    thread.join(20)
print(json.dumps({str(g.pk): [g.status, g.upstream_request_id, g.error]
                  for g in Generation.objects.all()}))
"""


def _pg(*args: str, **env: str) -> None:
    db = connection.settings_dict
    environment = {**os.environ, "PGHOST": db["HOST"] or "127.0.0.1", "PGPORT": str(db["PORT"] or 5432),
                   "PGUSER": db["USER"] or "postgres", **({"PGPASSWORD": db["PASSWORD"]} if db.get("PASSWORD") else {}),
                   **env}
    done = subprocess.run(list(args), env=environment, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("pg_dump and pg_restore need PostgreSQL (DATABASE_URL=postgres://...)")
    if not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.skip("pg_dump / pg_restore are not installed")


def test_a_restored_dump_finishes_every_job_in_flight_and_sends_none_twice(postgres_only, catalogue, user, tmp_path,
                                                                         no_auto_dispatch):
    catalogue.configure(job_seconds=3)  # long enough to be mid-flight when the dump is taken
    with override_generations(MAX_IN_FLIGHT=3):
        jobs = [submissions.submit_generation(user=user, model_id="Veo3",
                                              payload={"prompt": f"backup job {n}", "durationSeconds": 8})
                for n in range(6)]
        assert dispatching.dispatch_queued() == 3
    before = {g.pk: (g.status, g.upstream_request_id) for g in Generation.objects.all()}
    at_gmi = {pk for pk, (status, _) in before.items() if status in Generation.AT_UPSTREAM}
    assert len(at_gmi) == 3 and len(catalogue.journal(endpoint="create")) == 3

    # The backup, in the order README gives: the database first (then the storage bucket).
    dump = tmp_path / "portal.dump"
    _pg("pg_dump", "--format=custom", "--no-owner", f"--file={dump}", connection.settings_dict["NAME"])
    restored = f"gmi_restore_{uuid.uuid4().hex[:8]}"
    _pg("createdb", restored)
    try:
        _pg("pg_restore", "--no-owner", f"--dbname={restored}", str(dump))
        env = {
            **os.environ, "DJANGO_SETTINGS_MODULE": "gmi_project.settings", "DJANGO_DEBUG": "1",
            "DATABASE_URL": database_url(restored), "GMI_API_KEY": TEST_API_KEY, "GMI_BASE_URL": catalogue.base_url,
            "GMI_MIRROR_ALLOWED_HOSTS": f"127.0.0.1:{catalogue.port}", "GMI_POLL_INTERVAL": "0.2",
            "GMI_MAX_IN_FLIGHT": "3", "DJANGO_MEDIA_ROOT": str(tmp_path / "media"),
        }
        env.pop("REDIS_URL", None)
        done = subprocess.run([sys.executable, "-c", ENGINE], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=150)
        assert done.returncode == 0, done.stderr[-3000:]
        after = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        _pg("dropdb", "--if-exists", restored)

    assert {pk for pk in after} == {str(job.pk) for job in jobs}
    assert all(status == S.SUCCEEDED for status, _, _ in after.values()), after
    for pk in at_gmi:  # resumed, not sent again: the same GMI request
        assert after[str(pk)][1] == before[pk][1]
    creates = catalogue.journal(endpoint="create")
    assert len(creates) == 6  # three before the dump, three after the restore: none twice
    assert len({request_id for _, request_id, _ in after.values()}) == 6
