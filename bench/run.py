"""`make bench`: every figure of the scale goals measured in one run on this machine, each beside its floor.

- bench/pipeline.py: a poll pass against N × latency / concurrency; accepted → sent and
  GMI success → succeeded for 1,000 jobs at 100 ms (1 s interval, and the defaults); two
  qclusters against one on PostgreSQL + Redis; every third poll failing;
- bench/web.py: submissions per second with exact quotas under gunicorn against a bare
  insert view, at 10 and 10,000 waiting, SQLite and PostgreSQL; gallery and API list p50
  against a bare view, with query counts at 10 and 10,000 in history;
- bench/mirror.py: mirroring 1 GB against a plain streamed copy, and peak RSS growth;
- bench/batches.py: a 100-job batch against 100 single submissions (time, SQL statements,
  rows read), on SQLite and PostgreSQL;
- bench/export.py: a member's export of 1 GiB of videos, and the worker's peak RSS growth;
- bench/security.py: blocked-term matching of 5,000 words against 1,000 terms, and the
  refusal of a 2 MB prompt by the quote and submit endpoints.

``BENCH_QUICK=1`` (or ``--quick``) runs a smaller version of each in under two minutes.
Only 127.0.0.1 is contacted.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import batches
import export
import mirror
import pipeline
import security
import table
import web
import webhooks


def main() -> int:
    quick = os.environ.get("BENCH_QUICK") == "1" or "--quick" in sys.argv
    started = time.monotonic()
    table.print_header()
    failed = 0
    for title, module in (("Pipeline (engine, simulator 100 ms away)", pipeline), ("Web", web),
                          ("Mirroring", mirror), ("Member export", export), ("Attack review", security),
                          ("Webhooks (receiver 2 s per call)", webhooks),
                          ("Batches (100 jobs at once)", batches)):
        # Each section prints as it ends: a later failure must not cost the figures already measured.
        try:
            rows = module.run(quick)
        except Exception as exc:
            failed += 1
            rows = [{"measure": f"{title} failed: {type(exc).__name__}: {exc}"[:table.WIDTH], "value": "-", "floor": "",
                     "ratio": None}]
        table.print_rows(rows, title=title)
    print(f"\n{'quick' if quick else 'full'} run: {time.monotonic() - started:.0f} s on {os.cpu_count()} cores")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
