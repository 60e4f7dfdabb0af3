"""Web throughput: API submissions and list pages under gunicorn, side by side with bare-view floors.

Run alone with ``python bench/web.py [--quick]``; ``run(quick)`` returns the rows. Each database
(SQLite, then PostgreSQL unless quick) is measured in a child process of its own, because Django's
settings are read once per process:

(a) ``POST /api/v1/generations/`` per second with exact quotas under ``gunicorn gmi_project.wsgi -w 4``
    and 8 keep-alive clients (each with its own user's bearer token), against a bare view that inserts
    one row; with 10 and with 10,000 jobs already waiting. On PostgreSQL also commits, rows read,
    inserts and updates per request (``pg_stat_database`` deltas over the run).
(b) the gallery (``/``) and the API list p50 against a bare view returning a fixed body of the same
    size, and their query counts, at 10 and at 10,000 generations in the user's history; and at
    10,000 against 100, where the page is as full, to show what the history alone costs.
(c) ``GET /api/v1/generations/{id}/`` of a waiting job p50 with 20 users waiting and with 5,000 more.
Only 127.0.0.1 is used. Environment: ``BENCH_PG_URL`` (default a ``gmi_webscale_bench`` database on
127.0.0.1:5432), ``BENCH_SECONDS`` (length of each throughput run).
"""
from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import table

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GUNICORN = str(Path(PYTHON).with_name("gunicorn"))
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/gmi_webscale_bench")
CLIENTS = 8
SUBMITTERS = 8
PAYLOAD = {"model": "Veo3", "payload": {"prompt": "a lighthouse in a storm, slow dolly in"}}


def run(quick: bool = False) -> list[dict[str, Any]]:
    """Measure and return rows ``{"measure", "value", "floor", "ratio"}`` (ratio = value ÷ floor)."""
    backends = [("SQLite", None)] if quick else [("SQLite", None), ("PostgreSQL", PG_URL)]
    rows: list[dict[str, Any]] = []
    for label, url in backends:
        rows += _child(label, url, quick)
    return rows


def _child(label: str, url: str | None, quick: bool) -> list[dict[str, Any]]:
    work = Path(tempfile.mkdtemp(prefix="gmi-webbench-"))
    try:
        if url is not None:
            _recreate_pg_database(url)
        database_url = url or f"sqlite:///{work / 'bench.sqlite3'}"
        env = {**os.environ, **_django_env(work, database_url)}
        out = subprocess.run([PYTHON, str(Path(__file__)), "--child", label, *(["--quick"] if quick else [])],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
        if out.returncode != 0:
            raise RuntimeError(f"{label} bench failed:\n{out.stdout[-3000:]}\n{out.stderr[-5000:]}")
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _django_env(work: Path, database_url: str) -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": "bench.web_settings",
        "DJANGO_DEBUG": "0",  # DEBUG keeps every query in memory: not what production does
        "DJANGO_SECRET_KEY": "bench-only-secret-key-not-used-anywhere-else-0123456789abcdef",
        "DATABASE_URL": database_url,
        "DJANGO_MEDIA_ROOT": str(work / "media"),
        "BENCH_BODIES": str(work),
        "GMI_API_KEY": "bench-key",
        "GMI_LOG_LEVEL": "WARNING",
        "GMI_THROTTLE": "0",  # a load test: the figures are the site's, not the throttle's refusals
        "Q_CLUSTER_NAME": f"webbench-{os.getpid()}",
        "PYTHONPATH": str(ROOT),
    }


def _recreate_pg_database(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


# --- in the child: Django is set up for one database ---------------------------------------------


class Server:
    """``gunicorn gmi_project.wsgi -w 4`` on a free 127.0.0.1 port, for one measurement."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        self.process = subprocess.Popen(
            [GUNICORN, "gmi_project.wsgi", "-w", "4", "-b", f"127.0.0.1:{self.port}", "--keep-alive", "30",
             "--log-level", "warning"], cwd=ROOT, env=dict(os.environ), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/bench/list.json")
                conn.getresponse().read()
                conn.close()
                return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not start")

    def __exit__(self, *exc: Any) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, 15)
        self.process.wait(timeout=30)
        time.sleep(0.5)  # the workers' database sessions end and report their statistics


def hammer(port: int, seconds: float, requests: list[tuple[str, str, bytes | None, dict[str, str]]],
           expect: int) -> dict[str, float]:
    """CLIENTS threads, each on its own keep-alive connection, repeating its request for ``seconds``."""
    counts = [0] * CLIENTS
    errors: list[str] = []
    start = threading.Barrier(CLIENTS + 1)
    stop_at = [0.0]

    def client(index: int) -> None:
        method, path, body, headers = requests[index % len(requests)]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        start.wait()
        while time.monotonic() < stop_at[0]:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            if response.status != expect:
                errors.append(f"{response.status} {data[:300]!r}")
                return
            counts[index] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    stop_at[0] = time.monotonic() + seconds
    began = time.monotonic()
    start.wait()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests, first: {errors[0]}")
    return {"rate": sum(counts) / elapsed, "count": sum(counts)}


def p50(port: int, path: str, headers: dict[str, str], n: int) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    timings = []
    for i in range(n + 3):
        began = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"GET {path}: {response.status}")
        if i >= 3:  # warm-up
            timings.append(time.perf_counter() - began)
    conn.close()
    return statistics.median(timings)


def pg_stats() -> dict[str, int] | None:
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT xact_commit, tup_fetched, tup_returned, tup_inserted, tup_updated "
                       "FROM pg_stat_database WHERE datname = current_database()")
        values = cursor.fetchone()
    return dict(zip(["commits", "fetched", "returned", "inserted", "updated"], values, strict=True))


def child(label: str, quick: bool) -> list[dict[str, Any]]:
    import django

    from gmi_simulator.testing import running_simulator

    seconds = float(os.environ.get("BENCH_SECONDS", "1.5" if quick else "8"))
    big = 1000 if quick else 10000
    list_requests = 10 if quick else 60
    with running_simulator(job_seconds=1.0) as sim:
        os.environ["GMI_BASE_URL"] = sim.base_url
        django.setup()
        from django.conf import settings

        settings.GENERATIONS["BASE_URL"] = sim.base_url
        data = _prepare_data()
    rows: list[dict[str, Any]] = []
    tag = f"{label}:"

    # (a) submissions against the bare insert
    bare = _throughput(seconds, [("POST", "/bench/insert/", b"{}", {"Content-Type": "application/json"})], 201)
    submit_requests = [
        ("POST", "/api/v1/generations/", json.dumps(PAYLOAD).encode(),
         {"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
        for key in data["keys"]
    ]
    _add_waiting(data, 10)
    small = _throughput(seconds, submit_requests, 201)
    _add_waiting(data, big - 10)
    large = _throughput(seconds, submit_requests, 201)
    rows.append(_row(f"{tag} bare view inserting one row (req/s)", bare["rate"], None))
    rows.append(_row(f"{tag} API submissions/s, 10 waiting", small["rate"], bare["rate"], "bare insert"))
    rows.append(_row(f"{tag} API submissions/s, {big:,} waiting", large["rate"], small["rate"], "10 waiting"))
    for name, result in (("bare insert", bare), ("submission, 10 waiting", small),
                         (f"submission, {big:,} waiting", large)):
        if result.get("stats"):
            per = {k: v / result["stats_count"] for k, v in result["stats"].items()}
            rows.append({"measure": f"{tag} per {name}: commits / rows read / inserts / updates",
                         "value": f"{per['commits']:.1f} / {per['fetched']:.0f} / {per['inserted']:.1f} / "
                                  f"{per['updated']:.1f}",
                         "floor": "", "ratio": None})
    rows.append({"measure": f"{tag} queries per submission (in process)", "value": str(_submission_queries(data)),
                 "floor": "", "ratio": None})

    # (b) lists against fixed bodies; 100 in history fills a page of either list, so that
    # 100 → 10,000 shows what the history itself costs, apart from a fuller page.
    full_page: dict[str, float] = {}
    for history in (10, 100, big):
        _set_history(data, history)
        queries = _list_queries(data)
        with Server() as server:
            for path, bare_path, headers in (
                ("/", "/bench/gallery.html", {"Cookie": f"sessionid={data['session']}"}),
                ("/api/v1/generations/", "/bench/list.json", {"Authorization": f"Bearer {data['viewer_key']}"}),
            ):
                _save_body(server.port, path, headers, bare_path)
                real = p50(server.port, path, headers, list_requests)
                floor = p50(server.port, bare_path, {}, list_requests)
                if history == 100:
                    full_page[path] = real
                    continue
                rows.append(_row(f"{tag} GET {path} p50 ms, {history:,} in history ({queries[path]} queries)",
                                 real * 1000, floor * 1000, "fixed body of the same size", fmt="{:.1f} ms"))
                if history == big:
                    rows.append(_row(f"{tag}   the same against 100 in history (a full page both times)",
                                     real * 1000, full_page[path] * 1000, "100 in history", fmt="{:.1f} ms"))

    # (c) a waiting job's place in line, with the line spread over 20 users and then over thousands
    crowd = 1000 if quick else 5000
    job = _newest_waiting_job_of("submitter0")  # the owner of data["keys"][0]
    path, headers = f"/api/v1/generations/{job}/", {"Authorization": f"Bearer {data['keys'][0]}"}
    with Server() as server:
        few = p50(server.port, path, headers, 100)
    _add_crowd(crowd)
    with Server() as server:
        many = p50(server.port, path, headers, 100)
    rows.append(_row(f"{tag} GET a waiting job p50 ms, {crowd:,} more users waiting", many * 1000, few * 1000,
                     "20 users waiting", fmt="{:.1f} ms"))
    return rows


def _row(measure: str, value: float, floor: float | None, floor_name: str = "", fmt: str = "{:.0f}") -> dict:
    return {"measure": measure, "value": fmt.format(value),
            "floor": "" if floor is None else f"{floor_name} {fmt.format(floor)}",
            "ratio": None if not floor else round(value / floor, 2)}


def _throughput(seconds: float, requests: list, expect: int) -> dict[str, Any]:
    before = pg_stats()
    with Server() as server:
        # Every worker imports the URL conf and views on its first request: a second of the
        # same load first, so that the rate is the steady one (its requests count in the stats).
        warm = hammer(server.port, 1.0, requests, expect)
        result = hammer(server.port, seconds, requests, expect)
    after = pg_stats()
    if before and after:
        result["stats"] = {k: after[k] - before[k] for k in before}
        result["stats_count"] = result["count"] + warm["count"]
    return result


def _prepare_data() -> dict[str, Any]:
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command
    from django.db import connection

    from generations.models import UserProfile
    from generations.services.catalogue import sync_models
    from generations.services.tokens import create_token

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_row (id integer PRIMARY KEY "
                       + ("GENERATED BY DEFAULT AS IDENTITY" if connection.vendor == "postgresql" else "AUTOINCREMENT")
                       + ", note varchar(10) NOT NULL)")
    sync_models()
    User = get_user_model()
    plenty = 10**8
    keys = []
    for i in range(SUBMITTERS):
        user = User.objects.create_user(f"submitter{i}", password="x")
        UserProfile.objects.create(user=user, daily_jobs=plenty, monthly_video_seconds=plenty,
                                   monthly_credits=plenty, concurrent_jobs=1)
        keys.append(create_token(user=user)[1])
    waiters = [User.objects.create_user(f"waiter{i}", password="x") for i in range(20)]
    viewer = User.objects.create_user("viewer", password="x")
    session = SessionStore()
    session[SESSION_KEY] = str(viewer.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = viewer.get_session_auth_hash()
    session.create()
    return {"keys": keys, "waiters": [w.pk for w in waiters], "waiting": 0, "viewer": viewer.pk,
            "viewer_key": create_token(user=viewer)[1], "session": session.session_key, "history": 0}


def _add_waiting(data: dict[str, Any], n: int) -> None:
    from generations.models import Generation

    Generation.objects.bulk_create(
        (Generation(owner_id=data["waiters"][i % len(data["waiters"])], model_id="Veo3",
                    payload={"prompt": f"waiting {i}"}, prompt=f"waiting {i}", video_seconds=8)
         for i in range(data["waiting"], data["waiting"] + n)), batch_size=1000)
    data["waiting"] += n
    _refresh_line()
    _analyze()


def _newest_waiting_job_of(username: str) -> str:
    from generations.models import Generation

    waiting = Generation.objects.filter(owner__username=username, status=Generation.Status.QUEUED,
                                        send_started_at__isnull=True)
    return str(waiting.order_by("-created_at").values_list("pk", flat=True)[0])


def _add_crowd(n: int) -> None:
    """``n`` more users with one job waiting each: the line grows in users, not only in jobs."""
    from django.contrib.auth import get_user_model

    from generations.models import Generation

    User = get_user_model()
    users = User.objects.bulk_create([User(username=f"crowd{i}") for i in range(n)], batch_size=1000)
    Generation.objects.bulk_create(
        (Generation(owner_id=user.pk, model_id="Veo3", payload={"prompt": "crowd"}, prompt="crowd", video_seconds=8)
         for user in users), batch_size=1000)
    _refresh_line()
    _analyze()


def _refresh_line() -> None:
    """What the dispatcher does after each pass; jobs bulk-created here bypassed the submit path."""
    try:
        from generations.services.waiting_line import refresh_snapshot
    except ImportError:  # the code before waiting_line.py existed
        return
    refresh_snapshot()


def _set_history(data: dict[str, Any], n: int) -> None:
    from generations.models import Generation

    more = n - data["history"]
    Generation.objects.bulk_create(
        (Generation(owner_id=data["viewer"], model_id="Veo3", payload={"prompt": f"history {i}"},
                    prompt=f"history {i}", status=Generation.Status.SUCCEEDED, video_seconds=8)
         for i in range(data["history"], data["history"] + more)), batch_size=1000)
    data["history"] = n
    _analyze()


def _analyze() -> None:
    """Table statistics, as a running database has them (autovacuum keeps them): without them
    the planner meets a table that grew by 10,000 rows a moment ago with guesses."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _client(headers: dict[str, str]):
    from django.test import Client

    return Client(HTTP_HOST="127.0.0.1", **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()
                                            if k != "Cookie"})


def _submission_queries(data: dict[str, Any]) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = _client({"Authorization": f"Bearer {data['keys'][0]}"})
    client.post("/api/v1/generations/", PAYLOAD, content_type="application/json")
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/api/v1/generations/", PAYLOAD, content_type="application/json")
    assert response.status_code == 201, response.content
    return len(queries)


def _list_queries(data: dict[str, Any]) -> dict[str, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = {}
    for path, headers in (("/", {"Cookie": f"sessionid={data['session']}"}),
                          ("/api/v1/generations/", {"Authorization": f"Bearer {data['viewer_key']}"})):
        client = _client(headers)
        if "Cookie" in headers:
            client.cookies["sessionid"] = data["session"]
        client.get(path)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
        assert response.status_code == 200, response.status_code
        counts[path] = len(queries)
    return counts


def _save_body(port: int, path: str, headers: dict[str, str], bare_path: str) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", path, headers=headers)
    body = conn.getresponse().read()
    conn.close()
    (Path(os.environ["BENCH_BODIES"]) / bare_path.rsplit("/", 1)[-1]).write_bytes(body)


if __name__ == "__main__":
    if "--child" in sys.argv:
        label = sys.argv[sys.argv.index("--child") + 1]
        result = child(label, "--quick" in sys.argv)
        print(json.dumps(result))
    else:
        table.print_table(run(quick="--quick" in sys.argv))
