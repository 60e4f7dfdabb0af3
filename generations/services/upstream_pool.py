"""A bounded pool of threads for upstream calls, one per process, so N calls cost N × latency / concurrency.

The threads only talk to GMI; they never touch the database. Results come back as
futures to the thread that submitted them, which applies them to the rows: one
database connection per engine, whatever the concurrency. The threads are daemons:
a worker process that django-q2 stops or recycles is never held up by a slow call
(anything in flight is then redone from the row, which is the truth).
"""
from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from ..conf import app_settings

logger = logging.getLogger("generations.upstream")

_STOP = object()


class UpstreamPool:
    def __init__(self, size: int) -> None:
        self.size = max(1, int(size))
        self._work: queue.SimpleQueue = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._run, name=f"gmi-upstream-{i}", daemon=True) for i in range(self.size)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        self._work.put((future, fn, args, kwargs))
        return future

    def close(self) -> None:
        for _ in self._threads:
            self._work.put(_STOP)

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


_lock = threading.Lock()
_pools: dict[str, tuple[int, int, UpstreamPool]] = {}


def named_pool(name: str, size: int) -> UpstreamPool:
    """This process's pool called ``name`` (rebuilt when its size or the process changes)."""
    size = max(1, int(size))
    with _lock:
        held = _pools.get(name)
        if held is None or held[0] != os.getpid() or held[1] != size:
            if held is not None and held[0] == os.getpid():
                held[2].close()
            held = _pools[name] = (os.getpid(), size, UpstreamPool(size))
        return held[2]


def get_pool() -> UpstreamPool:
    """This process's pool for GMI, sized by ``UPSTREAM_CONCURRENCY``."""
    return named_pool("gmi", int(app_settings.UPSTREAM_CONCURRENCY))
