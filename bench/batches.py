"""Batches: submitting 100 jobs as one batch against 100 single submissions, on SQLite and PostgreSQL.

Run alone with ``python bench/batches.py``; ``run(quick)`` returns the rows. Each database is
measured in a child process of its own (Django reads its settings once per process): the
same member posts 100 jobs one by one to ``POST /api/v1/generations/``, then 100 as one
``POST /api/v1/generations/batch/``, through Django's test client (the app's own cost, no
HTTP server in between). Figures: wall time, SQL statements and, on PostgreSQL, the rows
the server read from the site's tables (``pg_stat_user_tables``: rows read by sequential
scans plus rows fetched through indexes), read after the measuring connection has closed,
which is when a backend publishes its counts; less what an idle connection reads).
"""
from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import table

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("BENCH_BATCH_PG_URL", "postgres://postgres@127.0.0.1:5432/gmi_studio_bench")
JOBS = 100


def run(quick: bool = False) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    work = Path(tempfile.mkdtemp(prefix="gmi-bench-batches-"))
    try:
        targets = [("SQLite", f"sqlite:///{work / 'bench.sqlite3'}")]
        if _postgres_answers():
            _recreate_pg_database(PG_URL)
            targets.append(("PostgreSQL", PG_URL))
        for label, url in targets:
            env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "gmi_project.settings",
                   "DJANGO_DEBUG": "1", "DJANGO_MEDIA_ROOT": str(work / "media"), "GMI_API_KEY": "bench-batches",
                   "GMI_THROTTLE": "0", "PYTHONPATH": str(ROOT)}
            env.pop("REDIS_URL", None)  # the ORM broker: what a submission enqueues is in the figures
            command = [sys.executable, str(Path(__file__)), "--child", label, *(["--quick"] if quick else [])]
            out = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
            if out.returncode != 0:
                raise RuntimeError(out.stderr[-3000:])
            rows += json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rows


def _postgres_answers() -> bool:
    try:
        import psycopg

        base = PG_URL.rpartition("/")[0]
        with psycopg.connect(f"{base}/postgres", connect_timeout=2):
            return True
    except Exception:
        return False


def _recreate_pg_database(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


# --- in the child: Django is set up for one database ---------------------------------------------


def _rows_read() -> int | None:
    """Rows the database server read from the site's tables so far (PostgreSQL only), from a fresh connection."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    connection.close()  # a backend publishes its statistics when it ends
    time.sleep(0.5)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT COALESCE(SUM(COALESCE(seq_tup_read, 0) + COALESCE(idx_tup_fetch, 0)), 0) "
                       "FROM pg_stat_user_tables")
        value = int(cursor.fetchone()[0])
    connection.close()
    return value


def child(label: str, quick: bool) -> list[dict[str, Any]]:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from generations.models import Generation, UserProfile, VideoModel

    call_command("migrate", verbosity=0)
    VideoModel.objects.update_or_create(id="Veo3", defaults={
        "enabled": True, "available": True, "price_credits": 10, "parameters": [
            {"name": "prompt", "type": "string", "required": True},
            {"name": "durationSeconds", "type": "integer", "options": [4, 6, 8], "default": 8},
            {"name": "aspectRatio", "type": "string", "options": ["16:9", "9:16"], "default": "16:9"}]})
    rounds = 2 if quick else 5
    items = [{"model": "Veo3", "payload": {"prompt": f"shot {i} of a storm over the sea", "durationSeconds": 4}}
             for i in range(JOBS)]
    single: list[tuple[float, int, int | None]] = []
    batch: list[tuple[float, int, int | None]] = []
    # What opening a connection reads by itself (the server's catalogue lookups), taken off both figures.
    idle = []
    for _ in range(3):
        before = _rows_read()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        after = _rows_read()
        if before is not None and after is not None:
            idle.append(after - before)
    overhead = statistics.median(idle) if idle else 0
    for round_ in range(rounds + 1):  # the first round warms the process (URLconf, DRF, caches) and is dropped
        for kind in ("single", "batch"):
            user = get_user_model().objects.create_user(f"{kind}-{round_}", password="x")
            UserProfile.objects.update_or_create(user=user, defaults={
                "daily_jobs": 10 * JOBS, "monthly_video_seconds": 100 * JOBS, "concurrent_jobs": 5})
            client = Client(HTTP_HOST="127.0.0.1")
            client.force_login(user)
            before = _rows_read()
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                if kind == "single":
                    for item in items:
                        response = client.post("/api/v1/generations/", json.dumps(item),
                                               content_type="application/json")
                        assert response.status_code == 201, response.content[:300]
                else:
                    response = client.post("/api/v1/generations/batch/", json.dumps({"items": items}),
                                           content_type="application/json")
                    assert response.status_code == 201, response.content[:300]
                seconds = time.perf_counter() - started
            after = _rows_read()
            assert Generation.objects.filter(owner=user).count() == JOBS
            if round_:
                figures = (seconds, len(queries.captured_queries),
                           None if before is None or after is None else max(after - before - overhead, 0))
                (single if kind == "single" else batch).append(figures)

    def median(values: list, index: int) -> Any:
        picked = [v[index] for v in values if v[index] is not None]
        return statistics.median(picked) if picked else None

    s_ms, b_ms = median(single, 0) * 1000, median(batch, 0) * 1000
    s_q, b_q = median(single, 1), median(batch, 1)
    rows = [
        {"measure": f"{label}: {JOBS} jobs as one batch, ms (p50 of {rounds})", "value": f"{b_ms:.0f}",
         "floor": f"{s_ms:.0f} as {JOBS} single POSTs", "ratio": b_ms / s_ms},
        {"measure": f"{label}: {JOBS} jobs as one batch, SQL statements", "value": f"{b_q:.0f}",
         "floor": f"{s_q:.0f} as {JOBS} single POSTs", "ratio": b_q / s_q},
    ]
    s_rows, b_rows = median(single, 2), median(batch, 2)
    if s_rows is not None and b_rows is not None:
        rows.append({"measure": f"{label}: {JOBS} jobs as one batch, rows read by the server", "value": f"{b_rows:.0f}",
                     "floor": f"{s_rows:.0f} as {JOBS} single POSTs", "ratio": b_rows / max(s_rows, 1)})
    return rows


if __name__ == "__main__":
    if "--child" in sys.argv:
        label = sys.argv[sys.argv.index("--child") + 1]
        print(json.dumps(child(label, "--quick" in sys.argv)))
        sys.exit(0)
    table.print_table(run(quick="--quick" in sys.argv))
