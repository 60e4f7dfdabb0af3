"""A member's export of 1 GiB of videos: the time it takes and the worker's peak RSS growth (goal < 64 MB).

The product's path is ``generations.services.account_data.build_export`` on real rows:
eight stored 128 MiB videos (32 MiB each with ``--quick``) copied from the generations
storage into a zip, which is then saved back into that storage: once on local files (in
the RAM disk when there is one, as bench/mirror.py's copies are, so the disk of a shared
virtual machine does not decide the figure), once on S3 (a moto server in a process of its
own, so its memory is not counted here). ``python bench/export.py [--quick] [--s3]``.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import mirror
import table

MB = 1024 * 1024
RSS_GOAL_MB = 64
VIDEOS = 8


def run(quick: bool) -> list[dict[str, Any]]:
    """The export on local files, then on S3, each in a process of its own (Django is set up once per process)."""
    rows = []
    for where in ("local", "s3"):
        args = [sys.executable, __file__, "--rows", *(["--quick"] if quick else []),
                *(["--s3"] if where == "s3" else [])]
        done = subprocess.run(args, capture_output=True, text=True, timeout=1800)
        if done.returncode != 0:
            raise RuntimeError(f"{where} export failed: {done.stderr[-500:]}")
        rows += json.loads(done.stdout.strip().splitlines()[-1])
    return rows


def measure(quick: bool, *, s3: bool) -> list[dict[str, Any]]:
    """One export of ``VIDEOS`` stored videos, 1 GiB in all (256 MiB when ``quick``), in this process."""
    each_mb = 32 if quick else 128
    work = Path(tempfile.mkdtemp(prefix="gmi-bench-export-", dir=mirror._work_dir()))
    os.environ["TMPDIR"] = str(work)  # the zip's temporary file too
    tempfile.tempdir = None
    where = "S3 (moto)" if s3 else "local files"
    try:
        with _s3_server() if s3 else _nothing() as endpoint:
            if endpoint:
                os.environ.update({"AWS_STORAGE_BUCKET_NAME": "bench-export", "AWS_S3_ENDPOINT_URL": endpoint,
                                   "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                                   "AWS_S3_REGION_NAME": "us-east-1"})
            mirror._setup_django(work)
            from django.core.management import call_command

            call_command("migrate", verbosity=0)
            export_id, total = _prepare(each_mb, work)
            from generations.services import account_data

            with mirror._peak_rss() as peak:
                started = time.perf_counter()
                assert account_data.build_export(export_id)
                seconds = time.perf_counter() - started
            size = _check(export_id, total, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return [
        {"measure": f"export of {VIDEOS} videos, {VIDEOS * each_mb} MiB, into one zip, {where}: MB/s",
         "value": f"{size / MB / seconds:.0f}", "floor": "", "ratio": None},
        {"measure": f"  peak RSS growth while the export was built, MB (goal < {RSS_GOAL_MB})",
         "value": f"{peak.growth / MB:.1f}", "floor": f"{RSS_GOAL_MB}", "ratio": None},
    ]


@contextmanager
def _nothing() -> Iterator[str]:
    yield ""


@contextmanager
def _s3_server() -> Iterator[str]:
    """A moto S3 server in its own process, with the bucket created."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    script = ("from moto.server import ThreadedMotoServer; import time; "
              f"s = ThreadedMotoServer(ip_address='127.0.0.1', port={port}, verbose=False); s.start(); "
              "print('ready', flush=True); time.sleep(10**6)")
    server = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        endpoint = f"http://127.0.0.1:{port}"
        import boto3

        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bench",
                     aws_secret_access_key="bench").create_bucket(Bucket="bench-export")
        yield endpoint
    finally:
        server.kill()
        server.wait()


def _prepare(each_mb: int, work: Path) -> tuple[Any, int]:
    from django.contrib.auth import get_user_model
    from django.core.files import File
    from django.core.files.storage import storages
    from django.utils import timezone

    from generations.models import DataExport, Generation, VideoModel

    user = get_user_model().objects.create_user("exporter", password="x")
    model = VideoModel.objects.create(id="Veo3")
    storage = storages["generations"]
    block = os.urandom(MB)
    total = 0
    source = work / "video.mp4"
    with open(source, "wb") as handle:  # written in blocks: the set-up must not raise the baseline either
        for _ in range(each_mb):
            handle.write(block)
    for index in range(VIDEOS):
        with open(source, "rb") as handle:
            name = storage.save(f"bench/{index}.mp4", File(handle))
        total += each_mb * MB
        Generation.objects.create(owner=user, model=model, status=Generation.Status.SUCCEEDED, prompt=f"video {index}",
                                  video_name=name, video_size=each_mb * MB, finished_at=timezone.now())
    return DataExport.objects.create(user=user).pk, total


def _check(export_id: Any, total: int, work: Path) -> int:
    from django.core.files.storage import storages

    from generations.models import DataExport

    export = DataExport.objects.get(pk=export_id)
    assert export.status == DataExport.Status.READY, export.error
    copy = work / "check.zip"
    with storages["generations"].open(export.file_name, "rb") as source, open(copy, "wb") as target:
        shutil.copyfileobj(source, target, MB)
    with zipfile.ZipFile(copy) as archive:
        stored = sum(info.file_size for info in archive.infolist() if info.filename.startswith("files/"))
    assert stored == total, (stored, total)
    return int(export.size or 0)


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    if "--rows" in sys.argv:  # a child of run(): its rows on the last line
        print(json.dumps(measure(quick, s3="--s3" in sys.argv)))
    elif "--s3" in sys.argv:
        table.print_header()
        table.print_rows(measure(quick, s3=True), title="Member export")
    else:
        table.print_header()
        table.print_rows(run(quick), title="Member export")
