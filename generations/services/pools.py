"""Bounded pools of daemon threads, and this process's named ones.

What a pool's threads may touch depends on what it runs, so each is named for that:

- ``gmi_pool()``: the upstream calls (sends, polls, list calls). Its threads only
  talk to GMI and never touch the database; results come back as futures to the
  thread that submitted them, which writes them to the rows.
- the engine's ``writers`` and ``mirrors`` (``services/engine.py``): threads that do
  write rows, each on a database connection of its own.
- ``named_pool("webhooks", …)``: webhook deliveries (HTTP to members' targets).
- ``named_pool("thumbnails", …)`` (``services/mirroring.py``): a finished job's thumbnail,
  downloaded and checked beside its video; never touches the database or the storage.

The threads are daemons: a worker process that django-q2 stops or recycles is never
held up by a slow call (anything in flight is then redone from the row, which is the truth).
"""
from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from ..conf import app_settings

logger = logging.getLogger("generations.upstream")

_STOP = object()


class ThreadPool:
    """``size`` daemon threads taking work from one queue; ``submit`` returns a future."""

    def __init__(self, size: int, *, name: str = "gmi-pool") -> None:
        self.size = max(1, int(size))
        self.name = name
        self._work: queue.SimpleQueue = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._run, name=f"{name}-{i}", daemon=True) for i in range(self.size)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        self._work.put((future, fn, args, kwargs))
        return future

    def close(self) -> None:
        """Stop the threads once the work already submitted is done (without waiting for it)."""
        for _ in self._threads:
            self._work.put(_STOP)

    def join(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds in all for the threads to end (after ``close``)."""
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _run(self) -> None:
        while True:
            item = self._work.get()
            if item is _STOP:
                return
            future, fn, args, kwargs = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # handed to the submitter, who decides
                future.set_exception(exc)


def result_of(future: Future) -> Any:
    """A future's result, or the exception it raised (expected upstream errors are values here)."""
    try:
        return future.result()
    except Exception as exc:
        return exc


_lock = threading.Lock()
_pools: dict[str, tuple[int, int, ThreadPool]] = {}


def named_pool(name: str, size: int) -> ThreadPool:
    """This process's pool called ``name`` (rebuilt when its size or the process changes)."""
    size = max(1, int(size))
    with _lock:
        held = _pools.get(name)
        if held is None or held[0] != os.getpid() or held[1] != size:
            if held is not None and held[0] == os.getpid():
                held[2].close()
            held = _pools[name] = (os.getpid(), size, ThreadPool(size, name=f"gmi-{name}"))
        return held[2]


def gmi_pool() -> ThreadPool:
    """This process's pool for calls to GMI (no database in its threads), sized by ``UPSTREAM_CONCURRENCY``."""
    return named_pool("upstream", int(app_settings.UPSTREAM_CONCURRENCY))
