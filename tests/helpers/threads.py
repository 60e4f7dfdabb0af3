"""Real threads for tests: many calls released at one instant, engines running beside the test."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections


def run_concurrently(count: int, func, *, timeout: float = 120.0) -> list:
    """Run ``func(i)`` in ``count`` real threads released at the same instant; return results or exceptions."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=timeout)
            results[index] = func(index)
        except BaseException as exc:  # collected for the assertion, not swallowed
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    return results


@contextmanager
def engines_running(*engines) -> Iterator[None]:
    """Each engine runs in a thread of its own while the block runs; stopped and joined after it."""
    def target(engine) -> None:
        try:
            engine.run()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=target, args=(engine,), daemon=True) for engine in engines]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        for engine in engines:
            engine.stop.set()
        for thread in threads:
            thread.join(15)
