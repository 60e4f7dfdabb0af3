"""A member's export of 1 GiB of videos: the time it takes and the worker's peak RSS growth (goal < 64 MB).

The product's path is ``generations.services.account_data.build_export`` on real rows:
eight stored 128 MiB videos (32 MiB each with ``--quick``) copied from the generations
storage into a zip, which is then saved back into that storage. Files live in the RAM
disk when there is one (as bench/mirror.py's copies do), so the disk of a shared virtual
machine does not decide the figure. ``python bench/export.py [--quick]`` prints the rows.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import mirror
import table

MB = 1024 * 1024
RSS_GOAL_MB = 64
VIDEOS = 8


def run(quick: bool) -> list[dict[str, Any]]:
    """One export of ``VIDEOS`` stored videos, 1 GiB in all (256 MiB when ``quick``)."""
    each_mb = 32 if quick else 128
    work = Path(tempfile.mkdtemp(prefix="gmi-bench-export-", dir=mirror._work_dir()))
    os.environ["TMPDIR"] = str(work)  # the zip's temporary file too
    tempfile.tempdir = None
    try:
        mirror._setup_django(work)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        export_id, total = _prepare(each_mb)
        from generations.services import account_data

        with mirror._peak_rss() as peak:
            started = time.perf_counter()
            assert account_data.build_export(export_id)
            seconds = time.perf_counter() - started
        size = _check(export_id, total)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return [
        {"measure": f"export of {VIDEOS} videos, {VIDEOS * each_mb} MiB, into one zip: MB/s",
         "value": f"{size / MB / seconds:.0f}", "floor": "", "ratio": None},
        {"measure": f"  peak RSS growth while the export was built, MB (goal < {RSS_GOAL_MB})",
         "value": f"{peak.growth / MB:.1f}", "floor": f"{RSS_GOAL_MB}", "ratio": None},
    ]


def _prepare(each_mb: int) -> tuple[Any, int]:
    from django.contrib.auth import get_user_model
    from django.core.files.storage import storages
    from django.utils import timezone

    from generations.models import DataExport, Generation, VideoModel

    user = get_user_model().objects.create_user("exporter", password="x")
    model = VideoModel.objects.create(id="Veo3")
    storage = storages["generations"]
    block = os.urandom(MB)
    total = 0
    for index in range(VIDEOS):
        name = f"bench/{index}.mp4"
        path = Path(storage.path(name))
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as handle:  # written in blocks: the set-up must not raise the baseline either
            for _ in range(each_mb):
                handle.write(block)
        total += each_mb * MB
        Generation.objects.create(owner=user, model=model, status=Generation.Status.SUCCEEDED, prompt=f"video {index}",
                                  video_name=name, video_size=each_mb * MB, finished_at=timezone.now())
    return DataExport.objects.create(user=user).pk, total


def _check(export_id: Any, total: int) -> int:
    from django.core.files.storage import storages

    from generations.models import DataExport

    export = DataExport.objects.get(pk=export_id)
    assert export.status == DataExport.Status.READY, export.error
    with zipfile.ZipFile(storages["generations"].path(export.file_name)) as archive:
        stored = sum(info.file_size for info in archive.infolist() if info.filename.startswith("files/"))
    assert stored == total, (stored, total)
    return int(export.size or 0)


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    table.print_header()
    table.print_rows(run(quick), title="Member export")
