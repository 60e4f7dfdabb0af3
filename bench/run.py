"""`make bench`: every figure of the scale goals measured in one run on this machine, each beside its floor.

- bench/pipeline.py: a poll pass against N × latency / concurrency; accepted → sent and
  GMI success → succeeded for 1,000 jobs at 100 ms (1 s interval, and the defaults); two
  qclusters against one on PostgreSQL + Redis; every third poll failing;
- bench/web.py: submissions per second with exact quotas under gunicorn against a bare
  insert view, at 10 and 10,000 waiting, SQLite and PostgreSQL; gallery and API list p50
  against a bare view, with query counts at 10 and 10,000 in history;
- bench/mirror.py: mirroring 1 GB against a plain streamed copy, and peak RSS growth;
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
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mirror
import pipeline
import security
import web


def main() -> int:
    quick = os.environ.get("BENCH_QUICK") == "1" or "--quick" in sys.argv
    started = time.monotonic()
    sections: list[tuple[str, list[dict[str, Any]]]] = []
    for title, module in (("Pipeline (engine, simulator 100 ms away)", pipeline), ("Web", web),
                          ("Mirroring", mirror), ("Attack review", security)):
        print(f"… {title}", file=sys.stderr, flush=True)
        sections.append((title, module.run(quick)))
    rows = [row for _, section in sections for row in section]
    width = max(len(r["measure"]) for r in rows) + 2
    print()
    print(f"{'measure':{width}} {'value':>18}  {'floor / goal':<38} ratio")
    print("-" * (width + 66))
    for title, section in sections:
        print(f"[{title}]")
        for r in section:
            ratio = "" if r["ratio"] is None else f"{r['ratio']:.2f}"
            print(f"{r['measure']:{width}} {r['value']:>18}  {r['floor']:<38} {ratio}")
    print(f"\n{'quick' if quick else 'full'} run: {time.monotonic() - started:.0f} s on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
