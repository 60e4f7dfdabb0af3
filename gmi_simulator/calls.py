"""What every endpoint works with: the call it answers (``Call``) and the answer it gives (``Answer``)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from email.message import Message
from typing import Any, Protocol

from .media import PaddedFile
from .state import SimulatorState


class Simulator(Protocol):
    """What the serving side needs of the simulator it serves (``server.GMISimulator``).

    A protocol rather than the class itself, so the layers below ``server`` never import it.
    """

    state: SimulatorState
    key: str | None
    quiet: bool
    stopping: threading.Event
    video_bytes: int
    job_jitter: float
    extra_models: int
    guide_bytes: int

    @property
    def authority(self) -> str: ...

    def log(self, line: str) -> None: ...

    def delay_for(self, api: str | None) -> float: ...

    # The Python control surface, which the control API mirrors over HTTP.
    def describe(self) -> dict[str, Any]: ...

    def journal(self, *, endpoint: str | None = None, api: str | None = None) -> list[dict[str, Any]]: ...

    def clear_journal(self) -> None: ...

    def active_faults(self) -> list[dict[str, Any]]: ...

    def clear_faults(self, name: str | None = None) -> None: ...

    def reset(self) -> None: ...

    def advance(self, seconds: float) -> None: ...

    def jobs(self, *, model: str | None = None) -> list[dict[str, Any]]: ...

    def set_latency(self, *, latency_ms: float | None = None, storage_latency_ms: float | None = None) -> None: ...

    def latency(self) -> dict[str, float]: ...

    def configure(self, *, job_seconds: float | None = None, url_ttl: float | None = None) -> None: ...

    def config(self) -> dict[str, Any]: ...


@dataclass
class Answer:
    """An HTTP answer, possibly spoiled afterwards by a post fault."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    spoil: tuple[str, dict[str, Any]] | None = None
    #: Set on answers that no post fault may spoil (refused credentials, pre faults).
    final: bool = False
    fault: str | None = None
    #: A body served in pieces instead of ``body`` (large outcomes): the file and the span sent.
    stream: PaddedFile | None = None
    span: tuple[int, int] = (0, 0)


@dataclass(frozen=True)
class Call:
    """One API or storage call, as its endpoint sees it."""

    simulator: Simulator
    method: str
    headers: Message
    query: dict[str, str]
    raw: bytes
    #: ``http://host:port`` as the client addressed us, for the absolute URLs in answers.
    origin: str

    @property
    def state(self) -> SimulatorState:
        return self.simulator.state

    def json(self) -> Any:
        return parse_json(self.raw)


def parse_json(raw: bytes) -> Any:
    """The JSON body, or None when there is none or it does not parse."""
    try:
        return json.loads(raw or b"null")
    except ValueError:
        return None


def json_answer(status: int, data: Any, headers: dict[str, str] | None = None) -> Answer:
    return Answer(status, json.dumps(data).encode(), "application/json", headers or {})


def api_error(api: str | None, status: int, message: str, headers: dict[str, str] | None = None) -> Answer:
    # The legacy queue speaks fal's dialect ("detail"); the request-queue API says "error".
    return json_answer(status, {"detail" if api == "legacy" else "error": message}, headers)
