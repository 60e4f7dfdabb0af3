"""Prometheus figures: counters the processes count as things happen, and the text a scrape answers.

Two kinds of figure, chosen by where the truth lives:

* Events (upstream calls and their latency, 429 pauses, mirrored bytes and failures,
  quota refusals, the status lag) happen in many processes at once — gunicorn workers,
  several qcluster processes. They are prometheus-client counters and histograms; with
  ``PROMETHEUS_MULTIPROC_DIR`` set (README, "Operating") every process writes its own
  memory-mapped file and a scrape adds them up, so any process answers for all.
* States (jobs by status, queue depth and age, webhook backlog, storage used, engines
  and their shards, e-mails sent, webhook outcomes) are rows in the database. They are
  read at scrape time (``selectors.operations.operations_figures``), so they are right whatever
  process answers and survive restarts, and no process has to keep a gauge in step.
"""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

logger = logging.getLogger("generations.upstream.calls")

PREFIX = "gmi_"

UPSTREAM_CALLS = Counter(
    f"{PREFIX}upstream_calls", "Calls to GMI by endpoint and outcome (ok or the error code).", ["endpoint", "outcome"]
)
UPSTREAM_LATENCY = Histogram(
    f"{PREFIX}upstream_call_seconds", "Time a call to GMI took, by endpoint.", ["endpoint"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
UPSTREAM_PAUSES = Counter(f"{PREFIX}upstream_pauses", "Times GMI answered 429 and the site paused sends and polls.")
MIRROR_BYTES = Counter(f"{PREFIX}mirror_bytes", "Bytes of outcome files copied into storage.")
MIRROR_FAILURES = Counter(
    f"{PREFIX}mirror_failures", "Mirroring attempts that failed, by what happened next.", ["result"]
)
QUOTA_REFUSALS = Counter(f"{PREFIX}quota_refusals", "Submissions refused over a quota, by limit.", ["limit"])
STATUS_LAG = Histogram(
    f"{PREFIX}status_lag_seconds", "From GMI reporting success to the job showing succeeded (mirroring included).",
    buckets=(0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600),
)
RETENTION_BYTES = Counter(f"{PREFIX}retention_freed_bytes", "Bytes of mirrored files deleted by retention.")


def multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


@contextmanager
def timed_upstream_call(endpoint: str) -> Iterator[None]:
    """Count one call to GMI and its latency; the outcome is the error's code when it raises."""
    started = time.monotonic()
    outcome = "ok"
    try:
        yield
    except Exception as exc:
        code = getattr(exc, "code", None)
        outcome = str(getattr(code, "value", code) or type(exc).__name__)
        raise
    finally:
        seconds = time.monotonic() - started
        UPSTREAM_LATENCY.labels(endpoint=endpoint).observe(seconds)
        UPSTREAM_CALLS.labels(endpoint=endpoint, outcome=outcome).inc()
        logger.debug("GMI %s: %s", endpoint, outcome, extra={"duration_ms": seconds * 1000})


class ObservedCalls:
    """Mixed in before a GMIBackend class by ``client.py``: every call is counted and timed.

    Lives outside ``gmi/`` so the upstream layer stays free of the site's telemetry.
    """

    def call(self, op: Any, **kwargs: Any) -> Any:
        with timed_upstream_call(str(getattr(op, "value", op))):
            return super().call(op, **kwargs)  # type: ignore[misc]


class DatabaseFigures(Collector):
    """The states the database holds, read once per scrape (``figures`` is ``operation_reads.operations_figures``)."""

    def __init__(self, figures: dict[str, Any]) -> None:
        self.figures = figures

    def collect(self) -> Iterator[Any]:
        f = self.figures
        jobs = GaugeMetricFamily(f"{PREFIX}jobs", "Generations by status (deleted ones included).", labels=["status"])
        for status, count in f["jobs_by_status"].items():
            jobs.add_metric([status], count)
        yield jobs
        yield GaugeMetricFamily(f"{PREFIX}queue_depth", "Jobs waiting to be sent to GMI.", value=f["queue_depth"])
        yield GaugeMetricFamily(f"{PREFIX}queue_oldest_age_seconds", "Age of the oldest job waiting to be sent.",
                                value=f["queue_oldest_age_seconds"])
        yield GaugeMetricFamily(f"{PREFIX}upstream_paused", "1 while GMI asked the site to wait (429).",
                                value=1 if f["paused_seconds"] > 0 else 0)
        engines = GaugeMetricFamily(f"{PREFIX}engine_shards", "Shards held by each live engine.", labels=["engine"])
        for engine in f["engines"]:
            if engine["live"]:
                engines.add_metric([engine["owner"]], engine["shards"])
        yield engines
        yield GaugeMetricFamily(f"{PREFIX}engines_live", "Engines whose heartbeat is fresh.",
                                value=sum(1 for e in f["engines"] if e["live"]))
        yield GaugeMetricFamily(f"{PREFIX}engine_heartbeat_age_seconds", "Seconds since the freshest engine beat "
                                "(-1: none ever).", value=f["heartbeat_age_seconds"])
        yield GaugeMetricFamily(f"{PREFIX}webhook_backlog", "Webhook deliveries still to send (pending or retrying).",
                                value=f["webhook_backlog"])
        deliveries = CounterMetricFamily(f"{PREFIX}webhook_deliveries", "Webhook deliveries by outcome.",
                                         labels=["outcome"])
        for outcome, count in f["webhook_outcomes"].items():
            deliveries.add_metric([outcome], count)
        yield deliveries
        yield CounterMetricFamily(f"{PREFIX}emails_sent", "Notification e-mails sent.", value=f["emails_sent"])
        yield GaugeMetricFamily(f"{PREFIX}storage_used_bytes", "Bytes of mirrored files in storage.",
                                value=f["storage_used_bytes"])


def render(figures: dict[str, Any]) -> bytes:
    """The Prometheus text of every process's counters plus the database's figures."""
    registry = CollectorRegistry()
    if multiprocess_dir():
        multiprocess.MultiProcessCollector(registry)
    else:
        for collector in (UPSTREAM_CALLS, UPSTREAM_LATENCY, UPSTREAM_PAUSES, MIRROR_BYTES, MIRROR_FAILURES,
                          QUOTA_REFUSALS, STATUS_LAG, RETENTION_BYTES):
            registry.register(collector)
    registry.register(DatabaseFigures(figures))
    return generate_latest(registry)

