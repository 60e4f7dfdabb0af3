"""Mirroring one large outcome through the product's path against a plain streamed copy of the same URL.

The product's path is ``generations.services.mirroring._mirror_one`` on a real
``Generation`` row: the safe download (allow-list, address checks, pinned connection,
byte cap, deadline), SHA-256, MP4 verification and the save into the site's storage.
The floor is ``requests`` streaming the same URL into a file. Both read from a GMI
simulator in its own process (``gmi_simulator --video-mb N``), so its CPU and memory are
not counted here: once on loopback, beside SHA-256 alone and a plain copy that also hashes,
and once over a 10 Gbit/s link (``--storage-mbit 10000``), faster than any real link to GMI.
``python bench/mirror.py [--quick]`` prints the rows.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import table

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
RSS_GOAL_MB = 32
CHUNK = 1 << 20
#: A fast site's link to GMI's storage: 10 Gbit/s, 1,250 MB/s.
LINK_MBIT = 10_000


def run(quick: bool) -> list[dict[str, Any]]:
    """Mirror a 1 GiB outcome (256 MiB when ``quick``) both ways; one row per measure.

    Each row is ``{"measure", "value", "floor", "ratio"}``: throughput of the product's
    path against the plain copy (ratio product ÷ plain, goal ≥ 0.80), on loopback and over
    a 10 Gbit/s link to the simulator's storage, and the growth of this process's peak RSS
    while the product's path ran (goal ≤ 32 MB).
    """
    size_mb = 256 if quick else 1024
    rounds = 2 if quick else 3  # best of: a shared machine's disk and CPU are noisy
    work = Path(tempfile.mkdtemp(prefix="gmi-bench-mirror-", dir=_work_dir()))
    try:
        _setup_django(work)
        plain_rate, product_rate, growth, hashing_rate = _measure(size_mb, rounds, work, storage_mbit=0,
                                                                  hashing=True)
        assert hashing_rate is not None
        link_plain, link_product, link_growth, _ = _measure(size_mb, rounds, work, storage_mbit=LINK_MBIT)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    hash_rate = _sha256_rate(size_mb)
    rss = max(growth, link_growth) / MB
    return [
        {
            "measure": f"mirror {size_mb} MiB on loopback: product path (download + verify + save), MB/s",
            "value": f"{product_rate:.0f}",
            "floor": f"{plain_rate:.0f} (plain requests stream to a file)",
            "ratio": round(product_rate / plain_rate, 2),
        },
        {
            # SHA-256 is one sequential stream: no path that records it can copy faster than one
            # core hashes, however fast the plain copy runs on loopback.
            "measure": "  SHA-256 alone on one core, MB/s (no copy that records it is faster)",
            "value": f"{hash_rate:.0f}",
            "floor": f"{plain_rate:.0f} (plain copy)",
            "ratio": round(hash_rate / plain_rate, 2),
        },
        {
            # Here the simulator, the copy and the hash share the machine's cores: the floor
            # of any path that records the hash is a plain copy that hashes what it writes.
            "measure": "  plain copy that also computes SHA-256 of what it writes, MB/s",
            "value": f"{hashing_rate:.0f}",
            "floor": f"{plain_rate:.0f} (plain copy)",
            "ratio": round(hashing_rate / plain_rate, 2),
        },
        {
            "measure": "  product path against that hashing copy",
            "value": f"{product_rate:.0f}",
            "floor": f"{hashing_rate:.0f}",
            "ratio": round(product_rate / hashing_rate, 2),
        },
        {
            "measure": f"mirror {size_mb} MiB over a {LINK_MBIT // 1000} Gbit/s link (--storage-mbit), MB/s",
            "value": f"{link_product:.0f}",
            "floor": f"{link_plain:.0f} (plain copy over the same link)",
            "ratio": round(link_product / link_plain, 2),
        },
        {
            "measure": f"  peak RSS growth during the product's mirror, MB (goal ≤ {RSS_GOAL_MB})",
            "value": f"{rss:.1f}",
            "floor": f"{RSS_GOAL_MB}",
            "ratio": None,
        },
    ]


def _measure(size_mb: int, rounds: int, work: Path, *, storage_mbit: int,
             hashing: bool = False) -> tuple[float, float, int, float | None]:
    """Best-of-``rounds`` MB/s of the plain copy and of the product's path, the largest
    peak-RSS growth of the product's path and (``hashing``) the MB/s of a plain copy that
    also hashes, against one simulator serving at ``storage_mbit``."""
    with _simulator(size_mb, storage_mbit) as base_url:
        from django.conf import settings

        # Entries carry their port: only the simulator's own is allowed.
        settings.GENERATIONS["MIRROR_ALLOWED_HOSTS"] = [base_url.split("/")[2]]
        url = _outcome_url(base_url)
        generation = _generation()
        plain, product, growth, hashed = [], [], [], []
        for _ in range(rounds):
            # Each copy starts with the last one's writes on disk, so neither pays for the other's.
            os.sync()
            plain.append(_timed(lambda: _plain_copy(url, work / "plain.mp4")))
            (work / "plain.mp4").unlink()
            if hashing:
                os.sync()
                hashed.append(_timed(lambda: _plain_copy(url, work / "plain.mp4", sha256=True)))
                (work / "plain.mp4").unlink()
            os.sync()
            with _peak_rss() as peak:
                seconds, stored = _timed_with(lambda: _product_copy(generation, url))
            product.append(seconds)
            growth.append(peak.growth)
            assert stored.size == size_mb * MB, stored
            _delete(stored.name)
    return (size_mb / min(plain), size_mb / min(product), max(growth),
            size_mb / min(hashed) if hashed else None)


# --- set-up ---------------------------------------------------------------------------


def _work_dir() -> str | None:
    """Where both copies write: ``BENCH_MIRROR_DIR``, else the RAM disk when there is one.

    The copies are the measure, not the disk under them: on a virtual machine's disk the
    kernel's writeback stalls one copy in two at random (at 10 Gbit/s, 450 to 1,190 MB/s
    from one copy of the same file to the next), whichever path it is.
    """
    chosen = os.environ.get("BENCH_MIRROR_DIR")
    if chosen:
        return chosen
    return "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


def _setup_django(work: Path) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "gmi_project.settings",
        "DJANGO_DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{work / 'bench.sqlite3'}",
        "DJANGO_MEDIA_ROOT": str(work / "media"),
        "GMI_API_KEY": "bench-key",
        "GMI_MIRROR_ALLOWED_HOSTS": "127.0.0.1",
    })
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.conf import settings

    # Downloads wait where uploads do, on the storage's disk, as a deployment would have it.
    (work / "tmp").mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(work / "tmp")


@contextmanager
def _simulator(size_mb: int, storage_mbit: int) -> Iterator[str]:
    env = {**os.environ, "GMI_SIMULATOR_LATENCY_MS": "0"}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "gmi_simulator", "--port", "0", "--job-seconds", "0.2",
         "--video-mb", str(size_mb), "--storage-mbit", str(storage_mbit), "--quiet"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        base_url = ""
        assert process.stdout is not None
        for line in process.stdout:
            if "GMI_BASE_URL=" in line and not base_url:
                base_url = line.split("GMI_BASE_URL=")[1].split()[0]
            if "Ctrl-C" in line:
                break
        if not base_url:
            raise SystemExit("the GMI simulator did not start")
        threading.Thread(target=lambda: [None for _ in process.stdout or ()], daemon=True).start()
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _outcome_url(base_url: str) -> str:
    import requests

    headers = {"Authorization": "Bearer bench-key"}
    job = requests.post(f"{base_url}/requests", json={"model": "Veo3", "payload": {"prompt": "bench"}},
                        headers=headers, timeout=10).json()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        body = requests.get(f"{base_url}/requests/{job['request_id']}", headers=headers, timeout=10).json()
        if body.get("outcome"):
            return str(body["outcome"]["video_url"])
        time.sleep(0.1)
    raise SystemExit("the simulated job did not finish")


def _generation() -> Any:
    from django.contrib.auth import get_user_model

    from generations.models import Generation, VideoModel

    model, _ = VideoModel.objects.get_or_create(pk="Veo3")
    owner = get_user_model().objects.create_user(f"mirror-bench-{time.time_ns()}", password="x")
    return Generation.objects.create(owner=owner, model=model, payload={"prompt": "bench"},
                                     prompt="bench", status="mirroring")


# --- the two copies -------------------------------------------------------------------


def _plain_copy(url: str, path: Path, *, sha256: bool = False) -> None:
    import hashlib

    import requests

    digest = hashlib.sha256()
    with requests.get(url, stream=True, timeout=30) as response, open(path, "wb") as out:
        response.raise_for_status()
        for chunk in response.iter_content(CHUNK):
            out.write(chunk)
            if sha256:
                digest.update(chunk)


def _product_copy(generation: Any, url: str) -> Any:
    from generations.services.mirroring import _mirror_one

    return _mirror_one(generation, url, kind="video")


def _sha256_rate(size_mb: int) -> float:
    import hashlib

    block = os.urandom(CHUNK)
    best = float("inf")
    for _ in range(3):
        digest = hashlib.sha256()
        start = time.perf_counter()
        for _ in range(size_mb):
            digest.update(block)
        best = min(best, time.perf_counter() - start)
    return size_mb / best


def _delete(name: str) -> None:
    from generations.services.mirroring import generation_storage

    generation_storage().delete(name)


def _timed(action: Callable[[], Any]) -> float:
    return _timed_with(action)[0]


def _timed_with(action: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


class _Peak:
    growth = 0


@contextmanager
def _peak_rss(every: float = 0.005) -> Iterator[_Peak]:
    """Samples VmRSS while the block runs; ``growth`` is the peak above the start, in bytes."""
    peak = _Peak()
    start = _rss()
    done = threading.Event()

    def sample() -> None:
        while not done.wait(every):
            peak.growth = max(peak.growth, _rss() - start)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield peak
    finally:
        done.set()
        sampler.join()
        peak.growth = max(peak.growth, _rss() - start)


def _rss() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def main(argv: list[str]) -> int:
    table.print_table(run(quick="--quick" in argv))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
