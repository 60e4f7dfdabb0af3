"""`make bench`: latency of the real pipeline and overheads measured side by side, printed as a table.

1. upstream success → `succeeded` over 20 jobs through a real qcluster and the simulator;
2. the safe, verifying mirror download against a plain streamed download of the same file;
3. the API list with 20 and with 400 generations (pagination, no N+1).
"""
from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORK = Path(tempfile.mkdtemp(prefix="gmi-bench-"))
POLL_INTERVAL = float(os.environ.get("BENCH_POLL_INTERVAL", "2"))
JOBS = int(os.environ.get("BENCH_JOBS", "20"))

os.environ.update({
    "DJANGO_SETTINGS_MODULE": "gmi_project.settings",
    "DJANGO_DEBUG": "1",
    "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{WORK / 'bench.sqlite3'}"),
    "DJANGO_MEDIA_ROOT": str(WORK / "media"),
    "GMI_API_KEY": "bench-key",
    # Set to the simulator's 127.0.0.1:PORT once it listens (main): a bare address allows port 80 only.
    "GMI_MIRROR_ALLOWED_HOSTS": "",
    "GMI_POLL_INTERVAL": str(POLL_INTERVAL),
    "Q_CLUSTER_NAME": f"bench-{os.getpid()}",
})


def pipeline_latency(sim) -> dict[str, float]:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from generations.models import Generation
    from generations.services import submissions
    from generations.services.catalogue import sync_models

    call_command("migrate", verbosity=0)
    sync_models()
    user = get_user_model().objects.create_user("bench", password="x")
    from generations.models import UserProfile

    UserProfile.objects.create(user=user, concurrent_jobs=JOBS, daily_jobs=JOBS * 2)
    cluster = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=dict(os.environ),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        jobs = [
            # Wan2.1 reports times with millisecond precision, so the lag is measured, not rounded.
            submissions.submit_generation(user=user, model_id="Wan2.1-I2V-14B-720P", payload={
                "prompt": f"benchmark clip {i}", "image_url": "https://example.com/first-frame.png"})
            for i in range(JOBS)
        ]
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if Generation.objects.filter(pk__in=[j.pk for j in jobs], status__in=Generation.TERMINAL).count() == JOBS:
                break
            time.sleep(0.2)
    finally:
        os.killpg(cluster.pid, 9)
        cluster.wait()
    done = list(Generation.objects.filter(pk__in=[j.pk for j in jobs]))
    failed = [g for g in done if g.status != Generation.Status.SUCCEEDED]
    if failed:
        raise SystemExit(f"{len(failed)} jobs did not succeed: {failed[0].error}")
    lags = sorted((g.finished_at - g.upstream_finished_at).total_seconds() for g in done)
    return {
        "median": statistics.median(lags), "p95": lags[int(0.95 * (len(lags) - 1))], "max": lags[-1],
        "min": lags[0],
    }


def mirror_overhead(sizes_mb: int = 64, rounds: int = 3) -> dict[str, float]:
    import requests

    from generations import media
    from generations.downloads import download

    folder = WORK / "files"
    folder.mkdir()
    payload = os.urandom(sizes_mb * 1024 * 1024)
    box = lambda kind, body: (len(body) + 8).to_bytes(4, "big") + kind + body  # noqa: E731
    (folder / "big.mp4").write_bytes(box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2") + box(b"moov", b"\x00" * 32)
                                     + box(b"mdat", payload))

    class Quiet(SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=str(folder), **k)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/big.mp4"
    plain, safe = [], []
    try:
        for _ in range(rounds):
            start = time.perf_counter()
            with requests.get(url, stream=True, timeout=30) as response, open(WORK / "plain.bin", "wb") as out:
                for chunk in response.iter_content(1 << 16):
                    out.write(chunk)
            plain.append(time.perf_counter() - start)
            start = time.perf_counter()
            with download(url, allowed_hosts=[f"127.0.0.1:{server.server_address[1]}"], max_bytes=1 << 30) as fetched:
                fetched.file.seek(0)
                media.verify(fetched.file, "mp4")
            safe.append(time.perf_counter() - start)
    finally:
        server.shutdown()
    return {"plain": statistics.median(plain), "safe": statistics.median(safe), "mb": sizes_mb}


def api_list_scaling() -> dict[str, float]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from generations.models import Generation, VideoModel

    User = get_user_model()
    model = VideoModel.objects.get(pk="Veo3")
    results = {}
    for count in (20, 400):
        owner = User.objects.create_user(f"lister{count}", password="x")
        Generation.objects.bulk_create(
            Generation(owner=owner, model=model, payload={"prompt": f"p{i}"}, prompt=f"p{i}", status="succeeded")
            for i in range(count)
        )
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(owner)
        client.get("/api/v1/generations/")  # warm up
        timings = []
        for _ in range(15):
            start = time.perf_counter()
            with CaptureQueriesContext(connection) as queries:
                response = client.get("/api/v1/generations/")
            timings.append(time.perf_counter() - start)
            assert response.status_code == 200
        results[count] = (statistics.median(timings), len(queries))
    return results


def main() -> int:
    import django

    django.setup()
    from gmi_simulator.testing import running_simulator

    with running_simulator(job_seconds=2.0) as sim:
        os.environ["GMI_BASE_URL"] = sim.base_url
        os.environ["GMI_MIRROR_ALLOWED_HOSTS"] = f"127.0.0.1:{sim.port}"  # read by the qcluster it starts
        from django.conf import settings

        settings.GENERATIONS["BASE_URL"] = sim.base_url
        settings.GENERATIONS["MIRROR_ALLOWED_HOSTS"] = [f"127.0.0.1:{sim.port}"]
        try:
            latency = pipeline_latency(sim)
            mirror = mirror_overhead()
            listing = api_list_scaling()
        finally:
            shutil.rmtree(WORK, ignore_errors=True)
    print()
    print(f"{'measure':58} {'value':>12}")
    print("-" * 72)
    print(f"{'upstream success → succeeded, median (s), ' + str(JOBS) + ' jobs':58} {latency['median']:12.2f}")
    print(f"{'  p95 / max (s)':58} {latency['p95']:6.2f} / {latency['max']:4.2f}")
    print(f"{'  median ÷ poll interval (' + str(POLL_INTERVAL) + ' s)':58} {latency['median'] / POLL_INTERVAL:12.2f}")
    print(f"{'plain streamed download of ' + str(mirror['mb']) + ' MB (s)':58} {mirror['plain']:12.3f}")
    print(f"{'safe download + MP4 verification (s)':58} {mirror['safe']:12.3f}")
    print(f"{'  ratio safe ÷ plain':58} {mirror['safe'] / mirror['plain']:12.2f}")
    (t20, q20), (t400, q400) = listing[20], listing[400]
    print(f"{'API list, 20 generations: ms / queries':58} {t20 * 1000:7.1f} / {q20:2d}")
    print(f"{'API list, 400 generations: ms / queries':58} {t400 * 1000:7.1f} / {q400:2d}")
    print(f"{'  ratio 400 ÷ 20 (time)':58} {t400 / t20:12.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
