"""``GMISimulator``: a fake GMI Cloud on one port, its addresses, its lifecycle and its Python controls."""

from __future__ import annotations

import sys
import threading
from typing import IO, Any

from . import control
from .faults import FAULTS, FaultBoard, FaultRule, make_rule
from .http import SimulatorHTTPServer
from .legacy import MODELS_PATH as LEGACY_MODELS_PATH
from .requestqueue import PATH as REQUEST_QUEUE_PATH
from .state import JOURNAL_SIZE, PROMPT_TRIGGERS, SimulatorState

MB = 1024 * 1024


class GMISimulator:
    """A fake GMI Cloud on one port, for development and tests.

    ``start()`` serves from a background thread; ``serve_forever()`` from the calling
    one. Faults, the journal and the clock are driven from Python (the methods below)
    or over HTTP under ``/_simulator/``.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8765,
        *,
        key: str | None = None,
        job_seconds: float = 6.0,
        url_ttl: float = 3600.0,
        seed: int | None = None,
        faults: list[FaultRule] | tuple[FaultRule, ...] = (),
        quiet: bool = False,
        log_stream: IO[str] | None = None,
        latency_ms: float = 0,
        storage_latency_ms: float | None = None,
        video_mb: float = 0,
        storage_mbit: float = 0,
        journal_size: int = JOURNAL_SIZE,
        job_jitter: float = 0.0,
        extra_models: int = 0,
        guide_kb: float = 0,
    ) -> None:
        self.key = key or None
        self._catalogue_size = (0, 0)
        self.set_catalogue(extra_models=extra_models, guide_kb=guide_kb)
        self._catalogue_size = (self.extra_models, self.guide_bytes)
        if not 0 <= job_jitter < 1:
            raise ValueError("job_jitter must be at least 0 and below 1")
        #: Each job takes job_seconds × (1 ± up to this fraction), as real jobs do not all take as long.
        self.job_jitter = float(job_jitter)
        self.quiet = quiet
        self.log_stream = log_stream or sys.stderr
        self._log_lock = threading.Lock()
        self.state = SimulatorState(job_seconds=job_seconds, url_ttl=url_ttl, faults=FaultBoard(seed),
                                    journal_size=journal_size)
        self._timings = {"job_seconds": job_seconds, "url_ttl": url_ttl}
        self.latency_ms = 0.0
        self.storage_latency_ms: float | None = None
        self.set_latency(latency_ms=latency_ms, storage_latency_ms=storage_latency_ms)
        self._latencies = (self.latency_ms, self.storage_latency_ms)
        if video_mb < 0:
            raise ValueError("video_mb must not be negative")
        #: Size of every outcome video in bytes (0: the plain clip, about 100 KB).
        self.video_bytes = int(video_mb * MB)
        if storage_mbit < 0:
            raise ValueError("storage_mbit must not be negative")
        #: Files under /storage/ leave at most this fast, as over a real link (0: as fast as the machine goes).
        self.storage_bytes_per_second = storage_mbit * 1_000_000 / 8
        for rule in faults:
            self.state.faults.add(rule)
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._serving = False
        self._closed = False
        self.httpd = SimulatorHTTPServer((host, port), self)

    # --- addresses -----------------------------------------------------------------

    @property
    def host(self) -> str:
        host = str(self.httpd.server_address[0])
        return (
            "127.0.0.1"
            if host in ("0.0.0.0", "")
            else "[::1]"
            if host == "::"
            else f"[{host}]"
            if ":" in host
            else host
        )

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def authority(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.authority}"

    @property
    def base_url(self) -> str:
        """The request-queue API base URL (GMI_BASE_URL with GMI_API=requestqueue)."""
        return self.url + REQUEST_QUEUE_PATH

    @property
    def legacy_base_url(self) -> str:
        """The legacy queue base URL (GMI_BASE_URL with GMI_API=legacy)."""
        return self.url

    @property
    def legacy_models_url(self) -> str:
        """The legacy model list URL (GMI_MODELS_URL)."""
        return self.url + LEGACY_MODELS_PATH

    # --- running -------------------------------------------------------------------

    def start(self) -> GMISimulator:
        self._thread = threading.Thread(target=self.serve_forever, name="gmi-simulator", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._serving = True
        try:
            # A short poll keeps stop() quick, which matters with a simulator per test.
            self.httpd.serve_forever(poll_interval=0.02)
        finally:
            self._serving = False
            self._close()

    def stop(self) -> None:
        self.stopping.set()
        # shutdown() waits for the serving loop, so only ask when one runs or is about to.
        if self._thread is not None or self._serving:
            self.httpd.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._close()

    def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.stopping.set()  # releases answers held back by the timeout fault
        self.httpd.close_connections()
        self.httpd.server_close()

    def __enter__(self) -> GMISimulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def log(self, line: str) -> None:
        if not self.quiet:
            with self._log_lock:  # lines from concurrent calls must not interleave
                self.log_stream.write(f"[gmi-simulator] {line}\n")
                self.log_stream.flush()

    # --- control -------------------------------------------------------------------

    def set_fault(
        self,
        name: str,
        *,
        count: int | None = None,
        probability: float | None = None,
        endpoints: list[str] | tuple[str, ...] | str | None = None,
        **params: Any,
    ) -> None:
        """Activate fault ``name`` for the next ``count`` matching calls (default 1) or with
        a ``probability``; ``endpoints`` narrows the calls it applies to."""
        self.state.faults.add(make_rule(name, count=count, probability=probability, endpoints=endpoints, **params))

    def clear_faults(self, name: str | None = None) -> None:
        self.state.faults.clear(name)

    def active_faults(self) -> list[dict[str, Any]]:
        return self.state.faults.active()

    def journal(self, *, endpoint: str | None = None, api: str | None = None) -> list[dict[str, Any]]:
        """The calls received, oldest first: method, path, query, api, endpoint,
        auth_scheme (never the key), organization, content_type, body, body_bytes,
        status (None when the answer was dropped) and the fault applied."""
        return self.state.journal(endpoint=endpoint, api=api)

    def clear_journal(self) -> None:
        self.state.clear_journal()

    def jobs(self, *, model: str | None = None) -> list[dict[str, Any]]:
        """Every job, newest first, with its current phase."""
        now = self.state.now()
        return [job.summary(now) for job in self.state.jobs(model=model)]

    def advance(self, seconds: float) -> None:
        """Move the simulator's clock forward: jobs progress and URLs expire accordingly."""
        self.state.advance(seconds)

    def set_catalogue(self, *, extra_models: int = 0, guide_kb: float = 0) -> None:
        """List ``extra_models`` more models (``Synthetic-00001`` ..., copies of Luma-Ray2) whose guides
        are ``guide_kb`` KiB long: a catalogue of thousands, or oversized guides, for the client to cope with."""
        if extra_models < 0 or guide_kb < 0:
            raise ValueError("extra_models and guide_kb must not be negative")
        self.extra_models = int(extra_models)
        self.guide_bytes = int(guide_kb * 1024)

    def reset(self) -> None:
        """Forget jobs, uploads, journal and faults, rewind the clock and restore the start-up timings
        and catalogue."""
        self.extra_models, self.guide_bytes = self._catalogue_size
        self.state.reset()
        self.configure(**self._timings)
        self.latency_ms, self.storage_latency_ms = self._latencies

    def set_latency(self, *, latency_ms: float | None = None, storage_latency_ms: float | None = None) -> None:
        """Answer every API call ``latency_ms`` after it arrived, as a remote GMI does.

        Outcome and upload files under ``/storage/`` (GMI's are on a remote bucket) start
        after ``storage_latency_ms``, which follows ``latency_ms`` until set on its own;
        the control API is never delayed. Applies to calls arriving from now on.
        """
        for name, value in (("latency_ms", latency_ms), ("storage_latency_ms", storage_latency_ms)):
            if value is not None and float(value) < 0:
                raise ValueError(f"{name} must not be negative")
        if latency_ms is not None:
            self.latency_ms = float(latency_ms)
        if storage_latency_ms is not None:
            self.storage_latency_ms = float(storage_latency_ms)

    def latency(self) -> dict[str, float]:
        storage = self.latency_ms if self.storage_latency_ms is None else self.storage_latency_ms
        return {"latency_ms": self.latency_ms, "storage_latency_ms": storage}

    def delay_for(self, api: str | None) -> float:
        """Seconds a call to ``api`` (``storage``, an API, or None for unknown paths) waits."""
        if api == "storage" and self.storage_latency_ms is not None:
            return self.storage_latency_ms / 1000
        return self.latency_ms / 1000

    @property
    def job_seconds(self) -> float:
        return self.state.job_seconds

    @job_seconds.setter
    def job_seconds(self, value: float) -> None:
        self.state.job_seconds = float(value)

    def configure(self, *, job_seconds: float | None = None, url_ttl: float | None = None) -> None:
        """Change timings for jobs created from now on (``url_ttl`` for every outcome URL)."""
        if job_seconds is not None:
            self.job_seconds = job_seconds
        if url_ttl is not None:
            self.state.url_ttl = float(url_ttl)

    def config(self) -> dict[str, Any]:
        return {
            "job_seconds": self.state.job_seconds,
            "url_ttl": self.state.url_ttl,
            "key_required": self.key is not None,
        }

    def describe(self) -> dict[str, Any]:
        return {
            "simulator": "GMI Cloud",
            "request_queue_base_url": self.base_url,
            "legacy_base_url": self.legacy_base_url,
            "legacy_models_url": self.legacy_models_url,
            "faults": FAULTS,
            "prompt_triggers": PROMPT_TRIGGERS,
            "control": control.ENDPOINTS,
            "latency": self.latency(),
            "video_bytes": self.video_bytes,
            "storage_bytes_per_second": self.storage_bytes_per_second,
            **self.config(),
        }
