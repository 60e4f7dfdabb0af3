"""Real qcluster processes: killing the cluster mid-job loses nothing and sends nothing to GMI twice."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from generations.models import Generation
from generations.services import submissions
from tests.helpers.databases import database_url
from tests.helpers.factories import UserFactory
from tests.helpers.settings import TEST_API_KEY
from tests.helpers.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parents[2]


def start_cluster(env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env, start_new_session=True,
        stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )


def kill_cluster(process: subprocess.Popen, sig=signal.SIGKILL) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)


def test_killing_qcluster_mid_job_loses_nothing_and_sends_nothing_twice(catalogue, tmp_path, no_auto_dispatch):
    catalogue.configure(job_seconds=5)
    media_root = tmp_path / "media"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "gmi_project.settings",
        "DJANGO_DEBUG": "1",
        "DATABASE_URL": database_url(),
        "GMI_API_KEY": TEST_API_KEY,
        "GMI_BASE_URL": catalogue.base_url,
        "GMI_MIRROR_ALLOWED_HOSTS": f"127.0.0.1:{catalogue.port}",
        "GMI_POLL_INTERVAL": "0.3",
        "DJANGO_MEDIA_ROOT": str(media_root),
        "Q_WORKERS": "3",
        "Q_CLUSTER_NAME": f"crash-{uuid.uuid4().hex[:8]}",
    }
    user = UserFactory()
    jobs = [
        submissions.submit_generation(user=user, model_id="Veo3", payload={"prompt": f"crash test {i}"})
        for i in range(3)
    ]
    log = tmp_path / "qcluster.log"
    first = start_cluster(env, log)
    try:
        wait_until(lambda: Generation.objects.filter(upstream_request_id__isnull=False).count() == 3, 60,
                 "the first cluster to send all three jobs")
    finally:
        kill_cluster(first)  # SIGKILL: no cleanup, tasks in flight are lost or redelivered
    succeeded = Generation.objects.filter(status=Generation.Status.SUCCEEDED).count()
    assert succeeded < 3, "killed too late to prove anything"
    # Restarted at once: the new cluster must take over the dead engines' shards by itself.
    second = start_cluster(env, log)
    try:
        wait_until(lambda: Generation.objects.filter(status__in=Generation.TERMINAL).count() == 3, 120,
                 "the second cluster to finish all three jobs")
    finally:
        kill_cluster(second)
    finished = list(Generation.objects.filter(pk__in=[g.pk for g in jobs]))
    assert {g.status for g in finished} == {Generation.Status.SUCCEEDED}, log.read_text()[-3000:]
    creates = catalogue.journal(endpoint="create")
    assert len(creates) == 3, "a job was sent to GMI twice"
    assert len({g.upstream_request_id for g in finished}) == 3
    for generation in finished:
        stored = (media_root / "generations" / generation.video_name).read_bytes()
        assert len(stored) == generation.video_size
