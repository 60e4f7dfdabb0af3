"""Real threads for tests: many calls released at one instant."""
from __future__ import annotations

import threading

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
