"""Webhooks at scale: status changes are not held up by a slow receiver, and deliveries keep to their bound.

N generations (1,000; 100 when ``quick``) go from ``mirroring`` to ``succeeded`` through
``lifecycle.transition``, the path the engine takes, once for an owner without webhooks and
once for an owner whose endpoint wants ``generation.succeeded`` from a receiver that takes
2 s per call. While the second run's changes are made, a runner thread sends deliveries the
way the ``deliver_webhooks`` task does (``webhooks.deliver_all_due``, over and over).

- the status changes with webhooks against without (ratio ~1: recording a delivery is one
  insert after the commit, and sending never happens in the changing thread);
- the slowest single change with webhooks, against the poll interval;
- deliveries per second against the bound, ``WEBHOOK_CONCURRENCY`` ÷ 2 s;
- the most requests the receiver saw open at once (never above ``WEBHOOK_CONCURRENCY``),
  and how many messages it got twice (none).

The receiver is a process of its own on 127.0.0.1 (allowed through ``GMI_WEBHOOK_ALLOWED_HOSTS``),
so its threads do not share this process's interpreter. Only 127.0.0.1 is contacted.
``python bench/webhooks.py [--quick]`` prints the rows; ``run(quick)`` returns them.
"""
from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import table

ROOT = Path(__file__).resolve().parent.parent
RECEIVER_SECONDS = 2.0
POLL_INTERVAL = 5.0  # GMI_POLL_INTERVAL's default: the longest a status change may be held up


def run(quick: bool) -> list[dict[str, Any]]:
    """In a child process of its own: Django reads its settings (and database) once per process."""
    out = subprocess.run([sys.executable, str(Path(__file__)), "--child", *(["--quick"] if quick else [])],
                         cwd=ROOT, capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- the receiver (its own process) -----------------------------------------------------


def serve_receiver(delay: float) -> None:
    """POST: answer 200 after ``delay`` s, counting requests open at once; GET /stats: the counts."""
    lock = threading.Lock()
    stats = {"open": 0, "open_most": 0, "received": 0}
    seen: set[str] = set()
    twice = [0]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            with lock:
                stats["open"] += 1
                stats["open_most"] = max(stats["open_most"], stats["open"])
            try:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                time.sleep(delay)
                with lock:
                    stats["received"] += 1
                    message_id = self.headers.get("webhook-id", "")
                    if message_id in seen:
                        twice[0] += 1
                    seen.add(message_id)
                self._answer(b"ok")
            finally:
                with lock:
                    stats["open"] -= 1

        def do_GET(self) -> None:
            with lock:
                body = json.dumps({**stats, "unique": len(seen), "twice": twice[0]}).encode()
            self._answer(body)

        def _answer(self, body: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 256  # a burst of connections is queued, not refused

    server = Server(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


@contextmanager
def _receiver() -> Iterator[str]:
    process = subprocess.Popen([sys.executable, str(Path(__file__)), "--receiver", str(RECEIVER_SECONDS)],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        yield f"127.0.0.1:{int(process.stdout.readline())}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _stats(host: str) -> dict[str, int]:
    with urllib.request.urlopen(f"http://{host}/stats", timeout=10) as answer:
        return json.loads(answer.read())


# --- the measures -------------------------------------------------------------------------


def child(quick: bool) -> list[dict[str, Any]]:
    work = Path(tempfile.mkdtemp(prefix="gmi-bench-webhooks-"))
    try:
        with _receiver() as host:
            return _measure(work, host, jobs=100 if quick else 1000, concurrency=8 if quick else 50)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _setup_django(work: Path, host: str) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "gmi_project.settings", "DJANGO_DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{work / 'bench.sqlite3'}", "DJANGO_MEDIA_ROOT": str(work / "media"),
        "GMI_API_KEY": "bench-key-for-the-webhook-figures", "GMI_WEBHOOK_ALLOWED_HOSTS": host,
    })
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _measure(work: Path, host: str, *, jobs: int, concurrency: int) -> list[dict[str, Any]]:
    _setup_django(work, host)
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from generations.models import Generation, VideoModel, WebhookDelivery
    from generations.services import webhooks
    from generations.services.lifecycle import transition

    settings.GENERATIONS["WEBHOOK_CONCURRENCY"] = concurrency
    model, _ = VideoModel.objects.get_or_create(pk="Veo3")
    users = get_user_model().objects

    def finishing(owner: Any) -> list[Any]:
        Generation.objects.bulk_create([
            Generation(owner=owner, model=model, payload={"prompt": f"bench {n}"}, prompt=f"bench {n}",
                       status=Generation.Status.MIRRORING, video_name=f"bench/{n}.mp4")
            for n in range(jobs)])
        return list(Generation.objects.filter(owner=owner).select_related("owner", "team", "model"))

    def change_all(generations: list[Any]) -> list[float]:
        took = []
        for generation in generations:
            started = time.perf_counter()
            assert transition(generation, Generation.Status.SUCCEEDED)
            took.append(time.perf_counter() - started)
        return took

    # Warm both paths (URL resolving for the body's links, the pool's threads), then measure.
    warm = users.create_user("bench-warm", password="x")
    webhooks.create_endpoint(user=warm, url=f"http://{host}/warm", events=["generation.succeeded"])
    change_all(finishing(warm)[:5])
    webhooks.deliver_all_due()

    plain = change_all(finishing(users.create_user("bench-plain", password="x")))

    hooked_owner = users.create_user("bench-hooked", password="x")
    webhooks.create_endpoint(user=hooked_owner, url=f"http://{host}/in", events=["generation.succeeded"])
    generations = finishing(hooked_owner)
    done = threading.Event()
    first_sent: list[float] = []

    def runner() -> None:
        # What qcluster workers do: run the task whenever there is due work.
        while not done.is_set():
            if not first_sent and WebhookDelivery.objects.filter(endpoint__owner=hooked_owner).exists():
                first_sent.append(time.perf_counter())
            webhooks.deliver_all_due()
            time.sleep(0.05)

    before = _stats(host)
    started = time.perf_counter()
    thread = threading.Thread(target=runner, daemon=True)
    thread.start()
    hooked = change_all(generations)
    changes_seconds = time.perf_counter() - started
    succeeded = WebhookDelivery.objects.filter(endpoint__owner=hooked_owner, status="succeeded")
    deadline = time.monotonic() + jobs * RECEIVER_SECONDS / concurrency * 3 + 60
    while succeeded.count() < jobs and time.monotonic() < deadline:
        time.sleep(0.2)
    drained = time.perf_counter()
    done.set()
    thread.join(timeout=60)
    after = _stats(host)
    delivered = succeeded.count()
    rate = delivered / (drained - (first_sent[0] if first_sent else started))
    bound = concurrency / RECEIVER_SECONDS
    slowest = max(hooked)
    return [
        {"measure": f"{jobs} status changes (mirroring → succeeded) with a 2 s receiver, s",
         "value": f"{sum(hooked):.2f}", "floor": f"{sum(plain):.2f} (the same, no webhooks)",
         "ratio": round(sum(hooked) / sum(plain), 2)},
        {"measure": "  one change, p50 / p99 / max with webhooks, ms",
         "value": f"{_ms(statistics.median(hooked))} / {_ms(_p99(hooked))} / {_ms(slowest)}",
         "floor": f"{_ms(statistics.median(plain))} / {_ms(_p99(plain))} / {_ms(max(plain))} without",
         "ratio": None},
        {"measure": "  longest hold-up of a change by webhooks, ms (goal < poll interval)",
         "value": _ms(max(0.0, slowest - max(plain))), "floor": f"{POLL_INTERVAL * 1000:.0f} (poll interval)",
         "ratio": None},
        {"measure": f"deliveries/s to a 2 s receiver, WEBHOOK_CONCURRENCY={concurrency}",
         "value": f"{rate:.1f}", "floor": f"{bound:.1f} (concurrency ÷ 2 s)", "ratio": round(rate / bound, 2)},
        {"measure": "  delivered / received twice / most requests open at once",
         "value": f"{delivered} / {after['twice'] - before['twice']} / {after['open_most']}",
         "floor": f"{jobs} / 0 / ≤ {concurrency}", "ratio": None},
        {"measure": "  changes done, s (deliveries sent meanwhile and after)",
         "value": f"{changes_seconds:.1f}", "floor": f"{jobs * RECEIVER_SECONDS / concurrency:.0f} s to send all",
         "ratio": None},
    ]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


if __name__ == "__main__":
    if "--receiver" in sys.argv:
        serve_receiver(float(sys.argv[sys.argv.index("--receiver") + 1]))
        sys.exit(0)
    if "--child" in sys.argv:
        print(json.dumps(child("--quick" in sys.argv)))
        sys.exit(0)
    table.print_table(run(quick="--quick" in sys.argv))
