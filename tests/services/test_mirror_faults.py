"""Storage refusing writes and a disk filling up mid-mirror: jobs wait, then finish; nothing partial is published."""
from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import boto3
import pytest
from django.core.files.storage import storages

from generations.models import Generation
from generations.services import submissions
from generations.services.engine import Engine
from generations.services.mirroring import storage_gate
from tests.helpers.engine import engines_running
from tests.helpers.factories import UserFactory
from tests.helpers.faults import refusing_moto_server
from tests.helpers.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

S = Generation.Status
BUCKET = "fault-videos"
JOBS = 5
#: How long the fault lasts (the README's figure comes from FAULT_SECONDS=60).
FAULT_SECONDS = float(os.environ.get("FAULT_SECONDS", "8"))


@pytest.fixture(autouse=True)
def open_storage_gate():
    storage_gate.succeeded()
    yield
    storage_gate.succeeded()


def submit_jobs(n: int = JOBS) -> list:
    user = UserFactory()
    return [submissions.submit_generation(user=user, model_id="Veo3", payload={"prompt": f"fault job {i}"}).pk
            for i in range(n)]


def settle_fast(settings, **extra) -> None:
    settings.GENERATIONS = {
        **settings.GENERATIONS, "MAX_IN_FLIGHT": 50, "MAX_POLL_INTERVAL": 1.0,
        "MIRROR_LEASE": 2.0, "MIRROR_ATTEMPTS": 3, "READ_TIMEOUT": 5.0,
        "DEFAULT_LIMITS": {"concurrent_jobs": None, "daily_jobs": None, "monthly_video_seconds": None}, **extra,
    }


def assert_published_files_are_whole(ids, storage, sim) -> None:
    for generation in Generation.objects.filter(pk__in=ids):
        assert generation.status == S.SUCCEEDED, generation.error
        with storage.open(generation.video_name, "rb") as handle:
            data = handle.read()
        assert len(data) == generation.video_size and data[4:8] == b"ftyp"
    assert len(sim.journal(endpoint="create")) == len(ids)  # each job sent once


@pytest.fixture
def refusing_s3(settings):
    server = refusing_moto_server()
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                 aws_secret_access_key="test").create_bucket(Bucket=BUCKET)
    settings.STORAGES = {**settings.STORAGES, "generations": {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {"bucket_name": BUCKET, "endpoint_url": endpoint, "access_key": "test", "secret_key": "test",
                    "region_name": "us-east-1", "signature_version": "s3v4", "addressing_style": "path",
                    "default_acl": None, "file_overwrite": False},
    }}
    storages._storages = {}
    yield server
    storages._storages = {}
    server.stop()


@pytest.mark.timeout(60 + 3 * FAULT_SECONDS)
def test_jobs_wait_while_s3_refuses_writes_and_finish_once_it_takes_them(catalogue, settings, refusing_s3):
    settle_fast(settings)  # three counted failures would fail a job
    refusing_s3.refuse_writes = True
    ids = submit_jobs()
    with engines_running(Engine(owner="s3-fault")):
        wait_until(lambda: Generation.objects.filter(pk__in=ids, status=S.MIRRORING).count() == JOBS, 30,
                   "every job finished at GMI")
        time.sleep(FAULT_SECONDS)  # the fault lasts this long (what is under test): jobs wait it out
        waiting = Generation.objects.filter(pk__in=ids)
        assert {g.status for g in waiting} == {S.MIRRORING}  # waiting, none failed
        assert not any(g.video_name for g in waiting)  # nothing published
        assert refusing_s3.refused > 0
        refusing_s3.refuse_writes = False
        back = time.monotonic()
        wait_until(lambda: Generation.objects.filter(pk__in=ids, status=S.SUCCEEDED).count() == JOBS, 60,
                   "every job mirrored")
        print(f"S3 refused writes {FAULT_SECONDS:g} s: {refusing_s3.refused} writes refused, all {JOBS} jobs "
              f"mirrored {time.monotonic() - back:.1f} s after it took them again")
    storage = storages["generations"]
    assert_published_files_are_whole(ids, storage, catalogue)
    s3 = boto3.client("s3", endpoint_url=storage.endpoint_url, region_name="us-east-1", aws_access_key_id="test",
                      aws_secret_access_key="test")
    referenced = {n for g in Generation.objects.filter(pk__in=ids) for n in (g.video_name, g.thumbnail_name) if n}

    def stored() -> set[str]:
        return {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])}

    # A copy that lost the race to a second one (the short lease here) deletes its files as it ends.
    wait_until(lambda: stored() == referenced, 15, "no stray or partial object left")


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "small-disk"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True)
    if result.returncode != 0:
        image = tmp_path / "disk.img"
        subprocess.run(["truncate", "-s", "4m", str(image)], check=True)
        made = subprocess.run(["mkfs.ext4", "-q", str(image)], capture_output=True)
        result = subprocess.run(["mount", "-o", "loop", str(image), str(mount)], capture_output=True)
        if made.returncode != 0 or result.returncode != 0:
            pytest.skip(f"cannot mount a small filesystem here (tmpfs and loop both refused: "
                        f"{result.stderr.decode().strip()}); run as root")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path, leave: int) -> Path:
    """Fill ``disk`` until only about ``leave`` bytes are free; return the filler to delete later."""
    filler = disk / "filler.bin"
    with open(filler, "wb") as handle:
        free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
        handle.write(b"\0" * max(0, free - leave))
    return filler


@pytest.mark.timeout(60 + 3 * FAULT_SECONDS)
@pytest.mark.parametrize("downloads_on_the_small_disk", [True, False], ids=["download-fills", "copy-fills"])
def test_jobs_wait_while_the_disk_is_full_and_no_partial_file_is_kept(catalogue, settings, small_disk,
                                                                      downloads_on_the_small_disk):
    settle_fast(settings)  # three counted failures would fail a job
    storage_dir = small_disk / "generations"
    storage_dir.mkdir()
    settings.STORAGES = {**settings.STORAGES, "generations": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(storage_dir)}}}
    if downloads_on_the_small_disk:
        spool = small_disk / "spool"
        spool.mkdir()
        settings.FILE_UPLOAD_TEMP_DIR = str(spool)
    storages._storages = {}
    filler = fill(small_disk, leave=20 * 1024)  # less than one video (about 100 KB)
    ids = submit_jobs()
    try:
        with engines_running(Engine(owner="disk-fault")):
            wait_until(lambda: Generation.objects.filter(pk__in=ids, status=S.MIRRORING).count() == JOBS, 30,
                       "every job finished at GMI")
            time.sleep(FAULT_SECONDS)  # the fault lasts this long (what is under test): jobs wait it out
            waiting = Generation.objects.filter(pk__in=ids)
            assert {g.status for g in waiting} == {S.MIRRORING}, [g.error for g in waiting]
            assert not any(g.video_name for g in waiting)
            assert not any(p.is_file() for p in storage_dir.rglob("*"))  # no partial copy left behind
            filler.unlink()
            back = time.monotonic()
            wait_until(lambda: Generation.objects.filter(pk__in=ids, status=S.SUCCEEDED).count() == JOBS, 60,
                       "every job mirrored")
            print(f"disk full {FAULT_SECONDS:g} s: all {JOBS} jobs mirrored {time.monotonic() - back:.1f} s "
                  f"after room was made")
        assert_published_files_are_whole(ids, storages["generations"], catalogue)
        referenced = {n for g in Generation.objects.filter(pk__in=ids) for n in (g.video_name, g.thumbnail_name)
                      if n}
        wait_until(lambda: {str(p.relative_to(storage_dir)) for p in storage_dir.rglob("*") if p.is_file()}
                   == referenced, 15, "no stray or partial file left")
    finally:
        storages._storages = {}
