"""The engine: one per qcluster, in a background thread of a worker process, drives every job of its shards.

django-q2 has no delayed tasks and its scheduler looks at schedules every 30 s, so
polling every few seconds needs a loop of its own. It runs beside the worker's task
loop, not inside a task: it never takes a worker slot, so mirroring, catalogue syncs
and staff actions always find one, whatever ``Q_CLUSTER["workers"]`` is.

Each tick the engine sends waiting jobs (claimed in fair order under the dispatch
lock), polls the due jobs of the shards it leases, and hands finished ones to its
mirror threads. Upstream calls run on the process's GMI pool, whose threads never
touch the database; their answers come back to this thread, which hands each to one
of a few writer threads (each with its own database connection) and keeps the
bookkeeping itself. The answers say which jobs now wait for their copy; the engine
hands those to its mirror threads (a job moved anywhere else is copied by a task).
Due times live in memory: a poll that finds nothing new writes nothing. Everything
it knows is also in the rows, so an engine that dies loses nothing: its shards'
leases run out and another engine takes them.
"""
from __future__ import annotations

import heapq
import logging
import os
import random
import threading
import time
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import close_old_connections, connections
from django.utils import timezone

from .. import log_context, queue
from ..conf import app_settings
from ..gmi.errors import RateLimited
from ..models import Generation
from . import dispatching, mirroring, polling, shards, upstream, waiting_line
from .pools import ThreadPool, gmi_pool, result_of

logger = logging.getLogger("generations.engine")

S = Generation.Status
#: Seconds between two looks for waiting jobs when the last look found none to send.
SEND_EVERY = 0.2
#: Threads that write answers to the database (each its own connection).
WRITER_THREADS = 4
#: Seconds a standby thread waits between two checks that its cluster has an engine.
STANDBY_EVERY = 2.0
#: Seconds between two full refreshes of the waiting line's summaries. Claims keep their
#: owners' summaries right as they go; this closes what else leaves the line (cancelled
#: jobs, sends that provably never left and wait again).
LINE_REFRESH_EVERY = 10.0


@dataclass
class _Tracked:
    generation: Generation
    due: float  # time.monotonic() at which the job is next polled


def _monotonic_at(when: datetime | None) -> float:
    if when is None:
        return time.monotonic()
    return time.monotonic() + (when - timezone.now()).total_seconds()


class Engine:
    """Drives the jobs of the shards it leases. ``run()`` blocks until ``stop`` is set or it must give way."""

    def __init__(self, *, owner: str | None = None, cluster: str = "") -> None:
        self.owner = owner or uuid.uuid4().hex
        self.cluster = cluster
        self.pool = gmi_pool()
        # Copies of finished jobs: downloads, storage writes and the row that publishes them.
        self.mirrors = ThreadPool(int(app_settings.MIRROR_CONCURRENCY), name="gmi-mirror")
        # Answers are written by a few threads of their own: the waits on the database
        # overlap, while the bookkeeping (what is due, what is busy) stays in this thread.
        self.writers = ThreadPool(WRITER_THREADS, name="gmi-writer")
        self.stop = threading.Event()
        self.held: set[int] = set()
        self.usable_until = 0.0
        self.tracked: dict[Any, _Tracked] = {}
        # (due, sequence, pk): the next job due is at the top; stale entries (a job since
        # rescheduled or gone) are skipped when they surface. Keeps a tick O(jobs due), not O(jobs).
        self.schedule: list[tuple[float, int, Any]] = []
        self._sequence = 0
        self.listing: dict[str, list[Generation]] = {}  # model id -> jobs riding on the list call in flight
        self.next_list: dict[str, float] = {}  # model id -> earliest time of its next list call
        self.inflight: dict[Future, tuple[str, Any]] = {}  # ("send" | "poll", job) or ("list", [jobs])
        self.writing: dict[Future, tuple[str, Generation]] = {}  # answers being written
        self.busy: set[Any] = set()  # jobs with a call in flight or an answer being written
        self.ready = False
        self.next_maintenance = 0.0
        self.next_line_refresh = 0.0
        self.next_send = 0.0
        self.counts = {"sent": 0, "polled": 0}
        self.outage = upstream.OutageWatch()
        self.started: dict[Future, float] = {}  # when each call in flight began

    # --- the loop ---------------------------------------------------------------------

    def run(self) -> dict[str, int]:
        logger.info("engine %s started (cluster %s)", self.owner, self.cluster or "-")
        try:
            while not self.stop.is_set():
                try:
                    self.step()
                except Exception:  # a database hiccup must not end the engine; the next step tries again
                    logger.exception("engine step failed")
                    close_old_connections()
                    self.stop.wait(1.0)
            self.drain(timeout=10.0)
        finally:
            self.close()
        return self.counts

    def close(self) -> None:
        """Let the threads go (copies already handed over still finish) and hand the shards back at once."""
        self.mirrors.close()
        self.writers.close()
        try:
            shards.retire(self.owner)
        except Exception:
            logger.exception("engine %s could not hand its shards back", self.owner)

    def step(self) -> None:
        now = time.monotonic()
        if now >= self.next_maintenance:
            self.maintain()
            now = time.monotonic()
        self.start_sends(now)
        self.start_polls(now)
        self.wait_and_finish(timeout=self._idle_for(now))

    def _idle_for(self, now: float) -> float:
        tick = float(app_settings.ENGINE_TICK)
        next_due = self._next_due()
        until_due = (next_due - now) if next_due is not None and self.ready else tick
        return max(0.005, min(tick, until_due, self.next_maintenance - now))

    def _track(self, generation: Generation, due: float) -> None:
        tracked = self.tracked.get(generation.pk)
        if tracked is None:
            self.tracked[generation.pk] = _Tracked(generation, due)
        else:
            tracked.generation, tracked.due = generation, due
        self._sequence += 1
        heapq.heappush(self.schedule, (due, self._sequence, generation.pk))

    def _next_due(self) -> float | None:
        """The due time at the top of the schedule, dropping entries that no longer hold."""
        while self.schedule:
            due, _, pk = self.schedule[0]
            tracked = self.tracked.get(pk)
            if tracked is not None and tracked.due == due and pk not in self.busy:
                return due
            heapq.heappop(self.schedule)
        return None

    def maintain(self) -> None:
        """Once a second or so: heartbeat, leases, the rows of our shards, lost mirrors, GMI's pause;
        every ``LINE_REFRESH_EVERY`` the waiting line's summaries."""
        shards.beat(self.owner, cluster=self.cluster)
        if self.cluster and shards.cluster_has_engine(self.cluster, other_than=self.owner, older_than_me=self.owner):
            logger.info("engine %s gives way to an older engine of cluster %s", self.owner, self.cluster)
            self.stop.set()
            return
        busy_shards = {g.shard for _, job in [*self.inflight.values(), *self.writing.values()]
                       for g in (job if isinstance(job, list) else [job])}
        self.held, self.usable_until = shards.rebalance(self.owner, releasable=self.held - busy_shards)
        self.ready = upstream.ready()
        self.refresh()
        polling.reschedule_lost()
        for generation_id in mirroring.claim_due_mirrors():
            self.mirror(generation_id)
        if time.monotonic() >= self.next_line_refresh:
            waiting_line.refresh_snapshot()
            self.next_line_refresh = time.monotonic() + LINE_REFRESH_EVERY
        self.next_maintenance = time.monotonic() + min(1.0, float(app_settings.POLL_INTERVAL))

    def refresh(self) -> None:
        """Reload the polled jobs of our shards; due times already known are kept (nothing is written)."""
        old, self.tracked = self.tracked, {}
        for generation in polling.polled_jobs(shards=self.held):
            known = old.get(generation.pk)
            if known is not None and generation.pk in self.busy:
                self.tracked[generation.pk] = known
            elif known is not None and (known.generation.status, known.generation.upstream_request_id) == (
                generation.status, generation.upstream_request_id
            ):
                known.generation = generation
                self.tracked[generation.pk] = known
            else:
                self._track(generation, _monotonic_at(polling.due_at(generation)))
        for pk, known in old.items():  # a job polled right now whose row moved on is settled by its answer
            if pk in self.busy and pk not in self.tracked:
                self.tracked[pk] = known
        if len(self.schedule) > 4 * len(self.tracked) + 1024:  # compact the stale entries away
            self.schedule = [(t.due, i, pk) for i, (pk, t) in enumerate(self.tracked.items())]
            heapq.heapify(self.schedule)

    def start_sends(self, now: float) -> None:
        if not self.ready or self.outage.down or now < self.next_send:
            return
        # Sends never take more than half the pool while polls wait: a burst of
        # submissions must not stall the status of jobs already running.
        next_due = self._next_due()
        polls_waiting = next_due is not None and next_due <= now
        limit = self.pool.size // 2 if polls_waiting else self.pool.size
        sending = sum(1 for kind, _ in self.inflight.values() if kind == "send")
        room = min(self.pool.size - len(self.inflight), max(1, limit) - sending,
                   dispatching.send_window.size - sending)
        if room <= 0:
            return
        batch = dispatching.claim_batch(limit=room)
        for generation in batch:
            self._call("send", generation, dispatching.post_generation, generation)
        self.next_send = now if len(batch) == room else now + SEND_EVERY

    def start_polls(self, now: float) -> None:
        if not self.ready or now >= self.usable_until:
            return
        if self.outage.down:
            # One cheap question per interval instead of every job's poll; its answer ends the outage.
            probing = any(kind == "probe" for kind, _ in self.inflight.values())
            if not probing and self.outage.probe_due(float(app_settings.POLL_INTERVAL)):
                self._call("probe", [], upstream.probe)
            return
        room = self.pool.size - len(self.inflight)
        due: list[Generation] = []
        while len(due) < room:
            next_due = self._next_due()
            if next_due is None or next_due > now:
                break
            _, _, pk = heapq.heappop(self.schedule)
            generation = self.tracked[pk].generation
            if generation.shard in self.held:  # else handed back since; its new engine polls it
                self.busy.add(pk)
                due.append(generation)
        for generation in self._by_list(due, now):
            self._poll_one(generation)

    def _by_list(self, due: list[Generation], now: float) -> list[Generation]:
        """Cover the due jobs of a model with many jobs by one call to GMI's request list; return the rest.

        One list call per model per half interval answers for the jobs of that model due
        before the next one, so a thousand jobs cost two calls per interval, not a thousand;
        jobs it answered for are due again by the next call, so each is seen every half
        interval. Jobs due meanwhile wait for that call rather than being fetched alone.
        """
        client = upstream.client_or_none()
        if not due or not app_settings.POLL_BY_LIST or not getattr(client, "can_list_requests", False):
            return due
        half = float(app_settings.POLL_INTERVAL) / 2
        counts: dict[str, int] = {}
        for tracked in self.tracked.values():
            if tracked.generation.status in Generation.AT_UPSTREAM:
                counts[tracked.generation.model_id] = counts.get(tracked.generation.model_id, 0) + 1
        rest: list[Generation] = []
        for generation in due:
            model_id = generation.model_id
            if generation.status not in Generation.AT_UPSTREAM or counts.get(model_id, 0) < int(
                    app_settings.POLL_BY_LIST_MIN):
                rest.append(generation)
                continue
            listing = self.listing.get(model_id)
            if listing is None and now >= self.next_list.get(model_id, 0.0):
                # Every job of this model due before the next call rides along. Jobs the
                # list answered for are due again by then (below), so they ride on every
                # call; a job the list leaves out is fetched alone, once per interval.
                listing = self.listing[model_id] = []
                self.next_list[model_id] = now + half
                for tracked in self.tracked.values():
                    other = tracked.generation
                    if (other.model_id == model_id and other.status in Generation.AT_UPSTREAM
                            and other.pk not in self.busy and tracked.due <= now + half
                            and other.shard in self.held):
                        self.busy.add(other.pk)
                        listing.append(other)
                self._call("list", listing, polling.fetch_list, model_id)
            if listing is not None:
                listing.append(generation)
            else:  # listed a moment ago: this one waits for the next call
                self.busy.discard(generation.pk)
                self._track(generation, self.next_list[model_id])
        return rest

    def _call(self, kind: str, job: Any, fn: Any, *args: Any) -> None:
        """Start one upstream call on the pool; its answer comes back in ``wait_and_finish``."""
        future = self.pool.submit(fn, *args)
        self.inflight[future] = (kind, job)
        self.started[future] = time.monotonic()

    def _poll_one(self, generation: Generation) -> None:
        self.busy.add(generation.pk)
        self._call("poll", generation, polling.fetch_remote, generation)

    def wait_and_finish(self, *, timeout: float) -> None:
        if not self.inflight and not self.writing:
            self.stop.wait(timeout)
            return
        wait([*self.inflight, *self.writing], timeout=timeout, return_when=FIRST_COMPLETED)
        for future in [f for f in self.inflight if f.done()]:
            kind, job = self.inflight.pop(future)
            result = result_of(future)
            if self.outage.record(result, started=self.started.pop(future, None)):
                self._catch_up()
            if kind == "probe":
                continue
            if kind == "list":
                self._finish_list(job, result)
            else:
                self._write(kind, job, result)
        for future in [f for f in self.writing if f.done()]:
            kind, generation = self.writing.pop(future)
            self.busy.discard(generation.pk)
            self._settle(kind, generation, result_of(future))

    def _catch_up(self) -> None:
        """GMI answers again: every job we drive is due now, and sends may start at once."""
        now = time.monotonic()
        for pk, tracked in list(self.tracked.items()):
            if pk not in self.busy and tracked.due > now:
                self._track(tracked.generation, now)
        self.next_list.clear()
        self.next_send = now

    def _finish_list(self, jobs: list[Generation], result: Any) -> None:
        """Apply what the list says where it says enough; fetch the others one by one."""
        if jobs:
            self.listing.pop(jobs[0].model_id, None)
        if self.outage.down and isinstance(result, Exception):
            # GMI is down: fetching each job alone would only fail as many more times.
            later = time.monotonic() + float(app_settings.POLL_INTERVAL)
            for generation in jobs:
                self.busy.discard(generation.pk)
                self._track(generation, later)
            return
        if isinstance(result, RateLimited):  # the whole site waits; these are due again after it
            upstream.pause(result.retry_after or float(app_settings.POLL_INTERVAL))
            self.ready = False
            later = time.monotonic() + (result.retry_after or float(app_settings.POLL_INTERVAL))
            for generation in jobs:
                self.busy.discard(generation.pk)
                self._track(generation, later)
            return
        listed = {job.request_id: job for job in result} if isinstance(result, list) else {}
        # Due again by the next list call, which costs GMI nothing more: each job is
        # seen every half interval (due a full interval later, it would skip one call).
        next_check = time.monotonic() + float(app_settings.POLL_INTERVAL) / 2
        for generation in jobs:
            job = polling.usable_from_list(generation, listed)
            if job is None:
                self._poll_one(generation)
            elif polling.is_unchanged(generation, job) and not polling.too_old(generation):
                # Most of a list is news to nobody: settled here, without a writer thread.
                self.busy.discard(generation.pk)
                self.counts["polled"] += 1
                self._track(generation, next_check)
            else:
                self._write("poll", generation, job)

    def _write(self, kind: str, generation: Generation, result: Any) -> None:
        """Hand one answer to the writer threads; the job stays busy until it is written."""
        if isinstance(result, RateLimited):
            self.ready = False  # GMI asked the whole site to wait; maintain() reads the pause again
        self.busy.add(generation.pk)
        self.writing[self.writers.submit(self._apply, kind, generation, result)] = (kind, generation)

    def _apply(self, kind: str, generation: Generation, result: Any) -> polling.Outcome:
        """In a writer thread: what the answer changes in the row. Returns what is left to do."""
        with log_context.job(generation):
            return self._apply_answer(kind, generation, result)

    def _apply_answer(self, kind: str, generation: Generation, result: Any) -> polling.Outcome:
        try:
            if kind == "send":
                dispatching.apply_send(generation, result)
                return polling.Outcome(generation.next_check_at if generation.status == S.DISPATCHED else None)
            return polling.apply_poll(generation, result)
        except Exception:
            connections.close_all()  # a broken connection must not poison this thread's next answers
            raise

    def _settle(self, kind: str, generation: Generation, outcome: Any) -> None:
        """Back in the engine's thread: schedule what comes next for the job, or hand it to a copy."""
        if isinstance(outcome, Exception):  # the row is the truth: the next refresh looks again
            logger.error("generation %s: writing the %s answer failed: %r", generation.pk, kind, outcome)
            self.tracked.pop(generation.pk, None)
            return
        self.counts["sent" if kind == "send" else "polled"] += 1
        if outcome.to_mirror:
            self.mirror(generation.pk)
        next_check = outcome.next_check_at
        if kind == "send" and (next_check is None or generation.shard not in self.held):
            return
        if next_check is None or generation.status not in (S.QUEUED, *Generation.AT_UPSTREAM):
            self.tracked.pop(generation.pk, None)
        else:
            self._track(generation, _monotonic_at(next_check))

    def drain(self, *, timeout: float) -> None:
        """On the way out, record what is already on the wire (a send's answer ends its crash window)."""
        deadline = time.monotonic() + timeout
        while (self.inflight or self.writing) and time.monotonic() < deadline:
            self.wait_and_finish(timeout=max(0.01, deadline - time.monotonic()))

    # --- mirroring ----------------------------------------------------------------------

    def mirror(self, generation_id: Any) -> None:
        """Copy a job that our answers moved to ``mirroring``, or whose lost copy the sweep found, on our threads."""
        self.mirrors.submit(_mirror_in_thread, generation_id)


def _mirror_in_thread(generation_id: Any) -> bool:
    try:
        with log_context.job(generation_id=generation_id):
            return mirroring.mirror_generation(generation_id)
    except Exception:
        logger.exception("generation %s: mirroring failed unexpectedly", generation_id)
        return False
    finally:
        # This thread's own connection stays open for its next copy (opening one per
        # copy costs the database a new backend); a broken or old one is closed here.
        close_old_connections()


def sweep(*, now=None) -> dict[str, int]:
    """Set moving again what nothing drives (where no engine of ours runs: the per-minute task).

    Polled jobs without a check time get one, and mirroring jobs whose copy was lost
    or is due again are copied by a task. A running engine does the same each second,
    copying on its own threads.
    """
    rescheduled = polling.reschedule_lost(now=now)
    mirrors = mirroring.claim_due_mirrors(now=now)
    for generation_id in mirrors:
        queue.enqueue_mirror(generation_id)
    return {"rescheduled": rescheduled, "mirrors": len(mirrors)}


# --- hosting: one engine per cluster, in a background thread of a worker ------------------

_host_lock = threading.Lock()
_host: tuple[int, threading.Thread] | None = None


def start_in_this_process() -> None:
    """Start the standby thread of this worker process (idempotent): it becomes the cluster's engine when none runs."""
    global _host
    with _host_lock:
        if _host is not None and _host[0] == os.getpid() and _host[1].is_alive():
            return
        thread = threading.Thread(target=_standby, name="gmi-engine", daemon=True)
        _host = (os.getpid(), thread)
        thread.start()


def _standby() -> None:
    cluster = shards.cluster_id()
    time.sleep(random.uniform(0, 0.5))  # workers spawned together do not all start an engine at once
    while True:
        try:
            if not shards.cluster_has_engine(cluster):
                Engine(cluster=cluster).run()
        except Exception:
            logger.exception("engine ended with an error; a standby takes over")
        finally:
            connections.close_all()
        time.sleep(STANDBY_EVERY + random.uniform(0, 1))
