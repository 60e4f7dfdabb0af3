"""The engine in tests: its ticks run in the test's own thread, or whole engines in threads of their own."""
from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections

from generations.services.engine import Engine


@contextmanager
def engine_here(*, owner: str | None = None) -> Iterator[Engine]:
    """An engine whose ticks the test runs itself with ``engine.step()`` (what the engine's thread calls
    each tick). On the way out it finishes what is on the wire and closes as ``Engine.run`` does, then
    waits for its writer and mirror threads, so nothing of it outlives the block."""
    engine = Engine(owner=owner or f"test-{uuid.uuid4().hex[:12]}")
    try:
        yield engine
    finally:
        engine.stop.set()
        try:
            engine.drain(timeout=10.0)
        finally:
            engine.close()
            engine.writers.join(10.0)
            engine.mirrors.join(30.0)


@contextmanager
def engines_running(*engines: Engine) -> Iterator[None]:
    """Each engine runs (``Engine.run``) in a thread of its own while the block runs; stopped and joined after it."""
    def target(engine: Engine) -> None:
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
        for engine in engines:
            engine.writers.join(10.0)
            engine.mirrors.join(30.0)
