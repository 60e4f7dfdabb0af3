"""Webhooks at scale: status changes are not held up by a slow receiver, and deliveries keep to their bound.

N generations (1,000; 100 when ``quick``) go from ``mirroring`` to ``succeeded`` through
``lifecycle.transition``, the path the engine takes, once for an owner without webhooks and
once for an owner whose endpoint wants ``generation.succeeded`` from a receiver that takes
2 s per call. While the second run's changes are made, a runner thread sends deliveries the
way the ``deliver_webhooks`` task does (``services.webhooks.delivery.deliver_all_due``, over and over).

- the status changes with webhooks against without (ratio ~1: recording a delivery is one
  insert after the commit, and sending never happens in the changing thread);
- the slowest single change with webhooks, against the poll interval;
- deliveries per second against the bound, ``WEBHOOK_CONCURRENCY`` ÷ 2 s;
- the most requests the receiver saw open at once (never above ``WEBHOOK_CONCURRENCY``),
  and how many messages it got twice (none).

Fairness (the second part): one member floods 20 endpoints at the 2 s receiver with events
(cancelled jobs; 100 messages, 300 when not ``quick``) while another member's endpoint, at a
receiver that answers at once, gets one event a second. Rows: that member's delay from the
event to its arrival, alone and under the flood (goal: the same, well under a second), and
how many of the flooder's messages still started after all 20 endpoints were deleted
mid-flood (goal: none beyond those already in flight). The throughput rows above let one
owner use the whole pool (``WEBHOOK_OWNER_SHARE`` = 1), so they still measure the pool's bound.

The receivers are processes of their own on 127.0.0.1 (allowed through ``GMI_WEBHOOK_ALLOWED_HOSTS``),
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
    """POST: answer 200 after ``delay`` s, counting requests open at once; GET /stats: the counts,
    and when each message (by ``webhook-id``) arrived, in ``time.time()`` seconds."""
    lock = threading.Lock()
    stats = {"open": 0, "open_most": 0, "received": 0, "begun": 0}
    arrivals: dict[str, float] = {}
    seen: set[str] = set()
    twice = [0]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            with lock:
                stats["open"] += 1
                stats["begun"] += 1
                stats["open_most"] = max(stats["open_most"], stats["open"])
                arrivals.setdefault(self.headers.get("webhook-id", ""), time.time())
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
                body = json.dumps({**stats, "unique": len(seen), "twice": twice[0], "arrivals": arrivals}).encode()
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
def _receiver(delay: float = RECEIVER_SECONDS) -> Iterator[str]:
    process = subprocess.Popen([sys.executable, str(Path(__file__)), "--receiver", str(delay)],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        yield f"127.0.0.1:{int(process.stdout.readline())}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _stats(host: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://{host}/stats", timeout=10) as answer:
        return json.loads(answer.read())


# --- the measures -------------------------------------------------------------------------


def child(quick: bool) -> list[dict[str, Any]]:
    work = Path(tempfile.mkdtemp(prefix="gmi-bench-webhooks-"))
    try:
        with _receiver() as host, _receiver(0.0) as fast:
            _setup_django(work, [host, fast])
            rows = _measure(host, jobs=100 if quick else 1000, concurrency=8 if quick else 50)
            return rows + _fairness(host, fast, events=5 if quick else 15)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _setup_django(work: Path, hosts: list[str]) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "gmi_project.settings", "DJANGO_DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{work / 'bench.sqlite3'}", "DJANGO_MEDIA_ROOT": str(work / "media"),
        "GMI_API_KEY": "bench-key-for-the-webhook-figures", "GMI_WEBHOOK_ALLOWED_HOSTS": ",".join(hosts),
    })
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _measure(host: str, *, jobs: int, concurrency: int) -> list[dict[str, Any]]:
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from generations.models import Generation, VideoModel, WebhookDelivery
    from generations.services.lifecycle import transition
    from generations.services.webhooks import delivery as webhook_delivery
    from generations.services.webhooks import endpoints as webhook_endpoints

    settings.GENERATIONS["WEBHOOK_CONCURRENCY"] = concurrency
    # One owner here, 1,000 messages in 30 s: the pool's own bound is measured, so that owner
    # may take the whole pool and keep any backlog (a site's caps would drop some, as they should).
    settings.GENERATIONS.update({"WEBHOOK_OWNER_SHARE": 1.0, "WEBHOOK_MAX_PENDING_PER_OWNER": None,
                                 "WEBHOOK_MAX_PENDING_PER_TARGET": None})
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
    webhook_endpoints.create_endpoint(user=warm, url=f"http://{host}/warm", events=["generation.succeeded"])
    change_all(finishing(warm)[:5])
    webhook_delivery.deliver_all_due()

    plain = change_all(finishing(users.create_user("bench-plain", password="x")))

    hooked_owner = users.create_user("bench-hooked", password="x")
    webhook_endpoints.create_endpoint(user=hooked_owner, url=f"http://{host}/in", events=["generation.succeeded"])
    generations = finishing(hooked_owner)
    done = threading.Event()
    first_sent: list[float] = []

    def runner() -> None:
        # What qcluster workers do: run the task whenever there is due work.
        while not done.is_set():
            if not first_sent and WebhookDelivery.objects.filter(endpoint__owner=hooked_owner).exists():
                first_sent.append(time.perf_counter())
            webhook_delivery.deliver_all_due()
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
    if delivered < jobs:  # what became of the rest, for whoever reads the run
        stuck = WebhookDelivery.objects.filter(endpoint__owner=hooked_owner).exclude(status="succeeded")
        print(list(stuck.values_list("status", "attempts", "last_error", "claimed_until")[:20]), file=sys.stderr)
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


FLOOD_ENDPOINTS = 20
INNOCENT_EVENTS = 5


def _fairness(slow: str, fast: str, *, events: int) -> list[dict[str, Any]]:
    """Another member's delivery delay, alone and while one member floods 20 endpoints at the slow receiver."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connections

    from generations.models import Generation, VideoModel, WebhookDelivery, WebhookEndpoint
    from generations.services.lifecycle import transition
    from generations.services.webhooks import delivery as webhook_delivery
    from generations.services.webhooks import endpoints as webhook_endpoints

    for key in ("WEBHOOK_OWNER_SHARE", "WEBHOOK_MAX_PENDING_PER_OWNER", "WEBHOOK_MAX_PENDING_PER_TARGET"):
        settings.GENERATIONS.pop(key, None)  # the defaults, as a site runs them
    settings.GENERATIONS["WEBHOOK_CONCURRENCY"] = 8
    model, _ = VideoModel.objects.get_or_create(pk="Veo3")
    users = get_user_model().objects
    innocent = users.create_user("bench-innocent", password="x")
    webhook_endpoints.create_endpoint(user=innocent, url=f"http://{fast}/innocent", events=["generation.cancelled"])
    flooder = users.create_user("bench-flooder", password="x")

    def cancel(owner: Any, n: int) -> float:
        generation = Generation.objects.create(owner=owner, model=model, payload={"prompt": f"f {n}"},
                                               prompt=f"f {n}")
        at = time.time()
        assert transition(generation, Generation.Status.CANCELLED)
        return at

    stop = threading.Event()

    def runner() -> None:
        while not stop.is_set():
            try:
                webhook_delivery.deliver_all_due()
            except Exception:  # a row deleted under a send, say: the task would be run again
                pass
            time.sleep(0.05)
        connections.close_all()

    def innocent_delays() -> list[float]:
        recorded = {}
        for n in range(INNOCENT_EVENTS):
            at = cancel(innocent, n)
            recorded[WebhookDelivery.objects.filter(endpoint__owner=innocent).latest("created_at").message_id] = at
            time.sleep(1.0)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            arrivals = _stats(fast)["arrivals"]
            if all(m in arrivals for m in recorded):
                return [arrivals[m] - at for m, at in recorded.items()]
            time.sleep(0.2)
        return [float("inf")]

    def start_flood(events: int) -> None:
        for n in range(FLOOD_ENDPOINTS):
            webhook_endpoints.create_endpoint(user=flooder, url=f"http://{slow}/flood/{n}",
                                              events=["generation.cancelled"])
        before = _stats(slow)["begun"]
        for n in range(events):
            cancel(flooder, n)
        while _stats(slow)["begun"] == before:
            time.sleep(0.05)

    flood = FLOOD_ENDPOINTS * events
    thread = threading.Thread(target=runner, daemon=True)
    thread.start()
    try:
        alone = innocent_delays()
        start_flood(events)
        flooded = innocent_delays()
        WebhookEndpoint.objects.filter(owner=flooder).delete()
        time.sleep(2 * RECEIVER_SECONDS)
        # Again, deleting the endpoints a moment after the flood began to be sent.
        start_flood(events)
        time.sleep(RECEIVER_SECONDS / 2)
        WebhookEndpoint.objects.filter(owner=flooder).delete()
        begun_at_delete = _stats(slow)["begun"]
        time.sleep(3 * RECEIVER_SECONDS)  # what was in flight ends; nothing new may start
        after_delete = _stats(slow)["begun"] - begun_at_delete
    finally:
        stop.set()
        thread.join(timeout=900)
    return [
        {"measure": "fairness: another member's webhook delay alone, median / max, s",
         "value": f"{statistics.median(alone):.2f} / {max(alone):.2f}", "floor": "< 1 (a free thread, a tick)",
         "ratio": None},
        {"measure": f"  ... while one member floods {FLOOD_ENDPOINTS} endpoints at a 2 s receiver "
                    f"({flood} msgs), s",
         "value": f"{statistics.median(flooded):.2f} / {max(flooded):.2f}",
         "floor": f"{statistics.median(alone):.2f} (alone)",
         "ratio": round(statistics.median(flooded) / max(statistics.median(alone), 0.01), 1)},
        {"measure": "  flooder's sends begun after its 20 endpoints were deleted (in flight then: ≤ 8)",
         "value": str(after_delete), "floor": "0", "ratio": None},
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
