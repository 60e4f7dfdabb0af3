"""Pipeline benchmarks: the engine against a GMI simulator 100 ms away, through real qclusters.

Run alone with ``python bench/pipeline.py [--quick]``; ``run(quick)`` returns the rows
``{"measure", "value", "floor", "ratio"}``. Each scenario runs in a child process of its
own (Django reads its settings once per process) with a fresh database, a simulator in
its own process (``manage.py gmi_simulator --latency-ms``) and real ``qcluster``
processes, and reports:

- one poll pass over N jobs in flight against its floor, N × latency / concurrency;
- accepted → sent and GMI success → ``succeeded`` (p50 / p95) for 1,000 jobs at 100 ms
  with a 1 s poll interval (the sizing guide's concurrency, ``Q_WORKERS=2``), and with
  the defaults (5 s, default concurrency);
- upstream polls per second with one qcluster and with two, on PostgreSQL + Redis,
  with double polls and double sends counted from the simulator's journal;
- the same load with every third poll failing (429 / 503 / malformed / HTML), polled with
  GMI's list and one by one: lost
  jobs, double sends, jobs failed by a transient fault.

PostgreSQL and Redis on 127.0.0.1 are used when they answer (``BENCH_PG_URL``,
``BENCH_REDIS_URL``), else SQLite with the ORM broker. Only 127.0.0.1 is contacted.
"""
from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
LATENCY_MS = 100
MODEL = "Wan2.1-I2V-14B-720P"  # reports times in milliseconds, so lags are measured, not rounded
# A public address literal: image URLs must resolve to public addresses, and nothing resolves offline.
PAYLOAD = {"image_url": "https://93.184.215.14/first-frame.png"}


# --- the parent: scenarios in child processes -------------------------------------------

def run(quick: bool = False) -> list[dict[str, Any]]:
    pg = _pg_available() and _redis_available()
    if quick:  # the same measures, smaller, in well under a minute
        return [
            *_child("pass", jobs=200, concurrency=64),
            *_child("lag", jobs=300, interval=1.0, concurrency=64, workers=2, postgres=pg, job_seconds=10.0,
                    label="300 jobs, 1 s interval, concurrency 64, workers 2"),
        ]
    rows: list[dict[str, Any]] = []
    rows += _child("pass", jobs=1000, concurrency=64)
    rows += _child("lag", jobs=1000, interval=1.0, concurrency=128, workers=2, postgres=pg,
                   label="1000 jobs, 1 s interval, concurrency 128, workers 2")
    rows += _child("lag", jobs=1000, interval=5.0, concurrency=None, workers=4, postgres=pg,
                   label="1000 jobs, defaults (5 s interval, concurrency 32)")
    if pg:
        rows += _child("clusters", jobs=300, concurrency=4, postgres=True)
    # With GMI's list most polls are list calls; one by one, every job's own GETs fail too.
    rows += _child("faults", jobs=300, interval=1.0, concurrency=64, workers=2, postgres=pg, by_list=True)
    rows += _child("faults", jobs=300, interval=1.0, concurrency=64, workers=2, postgres=pg, by_list=False)
    return rows


def _child(scenario: str, **params: Any) -> list[dict[str, Any]]:
    work = Path(tempfile.mkdtemp(prefix=f"gmi-bench-{scenario}-"))
    database_url = f"sqlite:///{work / 'bench.sqlite3'}"
    if params.get("postgres"):
        database_url = _fresh_pg_database()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "gmi_project.settings",
        # Production settings: DEBUG would keep every query in memory and slow each one.
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "bench-" + uuid.uuid4().hex * 2,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": database_url,
        "DJANGO_MEDIA_ROOT": str(work / "media"),
        "Q_CLUSTER_NAME": f"bench-{uuid.uuid4().hex[:8]}",
        "Q_LOG_LEVEL": "ERROR",
        "GMI_THROTTLE": "0",  # thousands of submissions a minute by design
        "BENCH_WORK": str(work),
        "BENCH_PARAMS": json.dumps({"scenario": scenario, **params}),
    }
    env.pop("REDIS_URL", None)
    if params.get("postgres"):
        env["REDIS_URL"] = REDIS_URL
        _flush_redis()
    try:
        out = subprocess.run([PYTHON, str(Path(__file__)), "--child"], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=1200)
        if out.returncode != 0:
            raise RuntimeError(f"{scenario} failed:\n{out.stdout[-3000:]}\n{out.stderr[-6000:]}\n{cluster_logs(work)}")
        if os.environ.get("BENCH_SHOW_LOGS"):
            print(cluster_logs(work), file=sys.stderr)
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if params.get("postgres"):
            _drop_pg_database(database_url)


def _pg_available() -> bool:
    try:
        import psycopg

        psycopg.connect(PG_URL + "/postgres", connect_timeout=2).close()
        return True
    except Exception:
        return False


def _redis_available() -> bool:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        return True
    except Exception:
        return False


def _flush_redis() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


def _fresh_pg_database() -> str:
    import psycopg

    name = f"gmi_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_URL + "/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{PG_URL}/{name}"


def _drop_pg_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_URL + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- the child: one scenario ------------------------------------------------------------

class Simulator:
    """``manage.py gmi_simulator`` in its own process (its CPU is not the portal's)."""

    def __init__(self, *, latency_ms: float, job_seconds: float, env: dict[str, str]) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.process = subprocess.Popen(
            [PYTHON, "manage.py", "gmi_simulator", "--port", str(self.port), "--latency-ms", str(latency_ms),
             "--job-seconds", str(job_seconds), "--job-jitter", "0.5", "--journal-size", "400000", "--quiet"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.1)
        self.origin = f"http://127.0.0.1:{self.port}"
        self.base_url = f"{self.origin}/api/v1/ie/requestqueue/apikey"

    def control(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.origin}/_simulator/{path}", data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    def journal(self, endpoint: str) -> list[dict[str, Any]]:
        return self.control("GET", f"requests?endpoint={endpoint}")["requests"]

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


def _cluster(env: dict[str, str]) -> subprocess.Popen:
    with open(Path(env["BENCH_WORK"]) / f"qcluster-{uuid.uuid4().hex[:6]}.log", "ab") as log:
        # The child keeps its own copy of the descriptor.
        return subprocess.Popen([PYTHON, "manage.py", "qcluster"], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)


def cluster_logs(work: Path) -> str:
    return "".join(path.read_text(errors="replace")[-3000:] for path in sorted(work.glob("qcluster-*.log")))


def _kill(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))] if values else float("nan")


def _row(measure: str, value: str, floor: str = "", ratio: float | None = None) -> dict[str, Any]:
    return {"measure": measure, "value": value, "floor": floor, "ratio": ratio}


def child() -> list[dict[str, Any]]:
    params = json.loads(os.environ["BENCH_PARAMS"])
    scenario = params["scenario"]
    interval = float(params.get("interval") or 1.0)
    concurrency = params.get("concurrency")
    # Long enough that the whole burst is at GMI at once (1,000 jobs in flight), and, as
    # real jobs do, taking between half and one and a half times as long as each other.
    job_seconds = float(params.get("job_seconds") or {"pass": 3600.0, "clusters": 3600.0, "faults": 8.0}.get(
        scenario, 40.0))
    env = dict(os.environ)
    sim = Simulator(latency_ms=LATENCY_MS, job_seconds=job_seconds, env=env)
    env.update({
        "GMI_API_KEY": "bench-key",
        "GMI_BASE_URL": sim.base_url,
        "GMI_MIRROR_ALLOWED_HOSTS": f"127.0.0.1:{sim.port}",
        "GMI_POLL_INTERVAL": str(interval),
        "GMI_MAX_IN_FLIGHT": str(params["jobs"] + 100),
        "Q_WORKERS": str(params.get("workers") or 4),
    })
    if concurrency:
        env["GMI_UPSTREAM_CONCURRENCY"] = str(concurrency)
    if params.get("by_list") is False:
        env["GMI_POLL_BY_LIST"] = "0"
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    from generations.services.catalogue import sync_models

    call_command("migrate", verbosity=0)
    sync_models()
    try:
        return {"pass": _scenario_pass, "lag": _scenario_lag, "clusters": _scenario_clusters,
                "faults": _scenario_faults}[scenario](sim, env, params)
    finally:
        sim.stop()


def _users(count: int, jobs_each: int) -> list[Any]:
    from django.contrib.auth import get_user_model

    from generations.models import UserProfile

    users = []
    for i in range(count):
        user = get_user_model().objects.create_user(f"bench{i}", password="x")
        UserProfile.objects.create(user=user, concurrent_jobs=jobs_each, daily_jobs=jobs_each * 2,
                                   monthly_video_seconds=jobs_each * 100)
        users.append(user)
    return users


def _submit(users: list[Any], total: int, tag: str) -> list[Any]:
    from generations.services import submissions

    return [
        submissions.submit_generation(user=users[i % len(users)], model_id=MODEL,
                                      payload={**PAYLOAD, "prompt": f"bench {tag} {i}"})
        for i in range(total)
    ]


def _wait_terminal(ids: list[Any], timeout: float) -> int:
    from generations.models import Generation

    deadline = time.monotonic() + timeout
    done = 0
    while time.monotonic() < deadline:
        done = Generation.objects.filter(pk__in=ids, status__in=Generation.TERMINAL).count()
        if done == len(ids):
            break
        time.sleep(0.5)
    return done


def _wait_engine(timeout: float = 60) -> None:
    from generations.services import shards

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not shards.engine_alive():
        time.sleep(0.2)


def _double_sends(sim: Simulator) -> int:
    prompts = [(e.get("body") or {}).get("payload", {}).get("prompt") for e in sim.journal("create")]
    return len(prompts) - len(set(prompts))


def _overlapping_polls(sim: Simulator, window: float) -> int:
    """GETs of one job that arrived closer together than a round trip: two at once."""
    by_job: dict[str, list[float]] = {}
    for entry in sim.journal("get"):
        by_job.setdefault(entry["path"].rsplit("/", 1)[-1], []).append(entry["time"])
    overlapping = 0
    for times in by_job.values():
        times.sort()
        overlapping += sum(1 for a, b in itertools.pairwise(times) if b - a < window)
    return overlapping


def _scenario_pass(sim: Simulator, env: dict[str, str], params: dict[str, Any]) -> list[dict[str, Any]]:
    from generations.models import Generation
    from generations.services import dispatching, polling
    from generations.services.pools import gmi_pool, result_of

    def poll_many(jobs: list[Generation]) -> None:
        """Polls on the GMI pool at once, each answer applied in this thread as it comes."""
        futures = [(generation, gmi_pool().submit(polling.fetch_remote, generation)) for generation in jobs]
        for generation, future in futures:
            polling.apply_poll(generation, result_of(future))

    n, concurrency = params["jobs"], int(params["concurrency"])
    users = _users(10, n)
    _submit(users, n, "pass")
    while dispatching.dispatch_queued():
        pass
    jobs = list(Generation.objects.filter(status=Generation.Status.DISPATCHED).only(*polling.POLL_FIELDS))
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        poll_many(jobs)
        timings.append(time.perf_counter() - started)
    floor = len(jobs) * LATENCY_MS / 1000 / concurrency
    best = statistics.median(timings)
    return [_row(f"poll pass over {len(jobs)} jobs at {LATENCY_MS} ms, concurrency {concurrency} (s)",
                 f"{best:.2f}", f"{floor:.2f} (N × latency / concurrency)", best / floor)]


def _scenario_lag(sim: Simulator, env: dict[str, str], params: dict[str, Any]) -> list[dict[str, Any]]:
    from generations.models import Generation

    n = params["jobs"]
    users = _users(10, n)
    cluster = _cluster(env)
    try:
        _wait_engine()
        jobs = _submit(users, n, "lag")
        done = _wait_terminal([j.pk for j in jobs], timeout=300)
    finally:
        _kill(cluster)
    rows = list(Generation.objects.filter(pk__in=[j.pk for j in jobs]))
    sent = [(g.dispatched_at - g.created_at).total_seconds() for g in rows if g.dispatched_at]
    seen = [(g.finished_at - g.upstream_finished_at).total_seconds() for g in rows
            if g.status == Generation.Status.SUCCEEDED and g.upstream_finished_at]
    from generations.models import GenerationEvent

    noticed = dict(GenerationEvent.objects.filter(generation__in=rows, to_status=Generation.Status.MIRRORING)
                   .values_list("generation_id", "created_at"))
    poll_lag = [(noticed[g.pk] - g.upstream_finished_at).total_seconds() for g in rows
                if g.pk in noticed and g.upstream_finished_at]
    copy_time = [(g.finished_at - noticed[g.pk]).total_seconds() for g in rows
                 if g.pk in noticed and g.status == Generation.Status.SUCCEEDED]
    label = params["label"]
    interval = float(params.get("interval") or 5.0)
    succeeded = sum(1 for g in rows if g.status == Generation.Status.SUCCEEDED)
    return [
        _row(f"{label}: accepted → sent p50 / p95 (s)", f"{_pct(sent, 0.5):.2f} / {_pct(sent, 0.95):.2f}",
             "goal p95 ≤ 2" if interval <= 1 else "", _pct(sent, 0.95) / 2 if interval <= 1 else None),
        _row(f"{label}: GMI success → succeeded p50 / p95 (s)",
             f"{_pct(seen, 0.5):.2f} / {_pct(seen, 0.95):.2f}",
             f"goal p95 ≤ {interval + 1:g} (interval + 1)", _pct(seen, 0.95) / (interval + 1)),
        _row("  of which GMI success → noticed (poll) p50 / p95 (s)",
             f"{_pct(poll_lag, 0.5):.2f} / {_pct(poll_lag, 0.95):.2f}", f"≤ {interval:g} (interval)", None),
        _row("  of which noticed → mirrored p50 / p95 (s)",
             f"{_pct(copy_time, 0.5):.2f} / {_pct(copy_time, 0.95):.2f}", "", None),
        _row(f"{label}: succeeded / ended / accepted", f"{succeeded} / {done} / {n}", "", None),
        _row(f"{label}: double sends", str(_double_sends(sim)), "0", None),
    ]


def _scenario_clusters(sim: Simulator, env: dict[str, str], params: dict[str, Any]) -> list[dict[str, Any]]:
    from generations.models import Generation

    n = params["jobs"]
    # Demand beyond capacity, one call per job: the throughput is what the clusters can do.
    env = {**env, "GMI_POLL_INTERVAL": "0.05", "GMI_POLL_BY_LIST": "0"}
    users = _users(10, n)
    first = _cluster(env)
    second = None
    try:
        _wait_engine()
        _submit(users, n, "clusters")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and Generation.objects.filter(
                status__in=Generation.AT_UPSTREAM).count() < n:
            time.sleep(0.5)
        one = _polls_per_second(sim, seconds=8)
        second = _cluster({**env, "Q_CLUSTER_NAME": env["Q_CLUSTER_NAME"] + "-b"})
        time.sleep(8)  # the second engine starts and the shards rebalance
        two = _polls_per_second(sim, seconds=8)
    finally:
        _kill(first)
        if second is not None:
            _kill(second)
    overlaps = _overlapping_polls(sim, window=LATENCY_MS / 1000)
    return [
        _row(f"polls/s, {n} in flight at {LATENCY_MS} ms, concurrency 4: one qcluster", f"{one:.1f}",
             f"{4 / (LATENCY_MS / 1000):.0f} (concurrency ÷ latency)", one / (4 / (LATENCY_MS / 1000))),
        _row("  two qclusters (ratio to one: goal ≥ 1.8)", f"{two:.1f}", f"{one:.1f}", two / one if one else None),
        _row("  double polls (two GETs of a job within one round trip) / double sends",
             f"{overlaps} / {_double_sends(sim)}", "0 / 0", None),
    ]


def _polls_per_second(sim: Simulator, *, seconds: float) -> float:
    before = len(sim.journal("get"))
    started = time.monotonic()
    time.sleep(seconds)
    return (len(sim.journal("get")) - before) / (time.monotonic() - started)


def _scenario_faults(sim: Simulator, env: dict[str, str], params: dict[str, Any]) -> list[dict[str, Any]]:
    from generations.models import Generation

    n = params["jobs"]
    third = 1 / 12  # four faults, each on a twelfth of the polls: every third poll fails
    polls = ["get", "list"]  # a poll is a call about one job or GMI's list of them
    sim.control("POST", "faults", {"faults": [
        {"name": "rate_limit", "probability": third, "endpoints": polls, "retry_after": 1},
        {"name": "server_error", "probability": third, "endpoints": polls, "status": 503},
        {"name": "server_error", "probability": third, "endpoints": polls, "status": 502},  # an HTML page
        {"name": "malformed_json", "probability": third, "endpoints": polls},
    ]})
    users = _users(10, n)
    cluster = _cluster(env)
    try:
        _wait_engine()
        jobs = _submit(users, n, "faults")
        done = _wait_terminal([j.pk for j in jobs], timeout=600)
    finally:
        _kill(cluster)
    rows = list(Generation.objects.filter(pk__in=[j.pk for j in jobs]))
    failed = sum(1 for g in rows if g.status == Generation.Status.FAILED)
    gets = sim.journal("get") + sim.journal("list")
    faulted = sum(1 for e in gets if e.get("fault"))
    return [
        _row(f"{n} jobs, every third poll failing, {'by list' if params.get('by_list') else 'one by one'} "
             f"({faulted} of {len(gets)} polls): lost / failed / double sends",
             f"{n - done} / {failed} / {_double_sends(sim)}", "0 / 0 / 0", None),
    ]


if __name__ == "__main__":
    if "--child" in sys.argv:
        print(json.dumps(child()))
    else:
        table.print_table(run(quick="--quick" in sys.argv or os.environ.get("BENCH_QUICK") == "1"))
