"""The simulator's HTTP server: GMI's request-queue and legacy APIs, signed storage, and a control API.

Everything is served on one port:

- ``/api/v1/ie/requestqueue/apikey/...`` the request-queue API (``Authorization: Bearer``)
- ``/video/models`` (Bearer) and ``/video/...`` the legacy queue (``Authorization: Key``)
- ``/storage/...`` outcome files and uploads, authorised by signed, expiring query strings
- ``/_simulator/...`` the control API (faults, journal, clock, reset), never journaled
"""

from __future__ import annotations

import email.utils
import hashlib
import hmac
import json
import math
import random
import socket
import socketserver
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import IO, Any, Callable
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from . import catalogue, media
from .catalogue import MODELS, MODELS_BY_ID, SimulatedModel
from .faults import (
    CALL_FAULTS,
    DEFAULT_PARAMS,
    FAULTS,
    FaultBoard,
    FaultRule,
    make_rule,
)
from .media import PaddedFile, aspect_of, padded_mp4, render_clip
from .state import (
    JOURNAL_SIZE,
    PROMPT_TRIGGERS,
    UPLOAD_CONTENT_TYPES,
    Job,
    SimulatorState,
    prompt_triggers,
)

REQUEST_QUEUE_PATH = "/api/v1/ie/requestqueue/apikey"
LEGACY_MODELS_PATH = "/video/models"
OUTPUTS = "gmi-outputs"
UPLOADS = "gmi-uploads"
CONTROL = "_simulator"
MAX_BODY = 64 * 1024 * 1024
MB = 1024 * 1024

#: Legacy queue endpoints authenticate with ``Key``; every other API call with ``Bearer``.
_KEY_AUTH_ENDPOINTS = frozenset({"legacy_submit", "legacy_status", "legacy_result", "legacy_cancel"})
_KNOWN_SCHEMES = {"bearer": "Bearer", "key": "Key", "basic": "Basic", "token": "Token"}
#: Call faults that answer instead of the API, and those that spoil its answer.
_PRE_FAULTS = CALL_FAULTS[:3]
_POST_FAULTS = CALL_FAULTS[3:]
_TRIGGERED_POST_FAULTS = {"[timeout]": "timeout", "[lost]": "lost_response", "[malformed]": "malformed_json"}


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


def _json(status: int, data: Any, headers: dict[str, str] | None = None) -> Answer:
    return Answer(status, json.dumps(data).encode(), "application/json", headers or {})


def _storage_error(status: int, code: str, message: str) -> Answer:
    # Shaped like Google Cloud Storage's XML errors, as GMI's outcome URLs are on GCS.
    body = f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
    return Answer(status, body.encode(), "application/xml; charset=UTF-8")


def format_time(value: float, dialect: str) -> int | float | str:
    if dialect == "iso":
        return datetime.fromtimestamp(value, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if dialect == "epoch_float":
        return round(value, 3)
    return int(value)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # The listen backlog: hundreds of clients opening keep-alive connections at once
    # must all be accepted, not reset (socketserver's default is 5).
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], simulator: GMISimulator) -> None:
        self.simulator = simulator
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, a DNS round trip we do not need.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as clients expect from GMI
    # Without it, an answer written as headers then body waits for the client's delayed
    # ACK on a keep-alive connection: about 40 ms per call, 25 calls/s per connection.
    disable_nagle_algorithm = True
    server_version = "GMISimulator/1.0"
    timeout = 120  # idle keep-alive connections do not hold a thread forever
    server: _HTTPServer

    # --- plumbing ------------------------------------------------------------------

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass  # the client went away; nothing left to flush to

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # each call is logged once, with its fault, in _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        self.simulator.log(format % args)

    @property
    def simulator(self) -> GMISimulator:
        return self.server.simulator

    @property
    def state(self) -> SimulatorState:
        return self.server.simulator.state

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _origin(self) -> str:
        # Absolute URLs use the host the client used, so they work from wherever it is.
        return f"http://{self.headers.get('Host') or self.simulator.authority}"

    def _send(self, answer: Answer, *, head: bool = False, body: bytes | None = None) -> None:
        payload = answer.body if body is None else body
        start, stop = answer.span
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(stop - start if answer.stream is not None else len(payload)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        if answer.stream is None and not head:
            # Headers and body in one write: one system call, one packet for a poll answer.
            self._headers_buffer.append(b"\r\n" + payload)
            self.flush_headers()
            return
        self.end_headers()
        if head:
            return
        for chunk in answer.stream.chunks(start, stop):
            self.wfile.write(chunk)

    def _read_body(self) -> bytes | None:
        """The request body; None when it cannot be read (too large, or chunked)."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return None  # GMI's clients send a Content-Length; so do ours
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            return None
        return self.rfile.read(length) if length else b""

    def _json_body(self, raw: bytes) -> Any:
        try:
            return json.loads(raw or b"null")
        except ValueError:
            return None

    # --- dispatch ------------------------------------------------------------------

    def _dispatch(self, method: str) -> None:
        received = time.monotonic()
        parts = urlsplit(self.path)
        segments = [unquote(segment) for segment in parts.path.strip("/").split("/") if segment]
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        raw = self._read_body()
        if raw is None:
            self.close_connection = True  # the unread body would garble the next request
            self._send(_json(413, {"error": f"send a Content-Length of at most {MAX_BODY} bytes"}))
            return
        if segments[:1] == [CONTROL] or not segments:
            self._send(self._control(method, segments[1:], query, raw), head=method == "HEAD")
            return

        route = _route(method, segments)
        api, endpoint = route.api, route.endpoint
        content_type = self.headers.get("Content-Type", "")
        entry = self.state.record(
            {
                "time": time.time(),
                "method": method,
                "path": parts.path,
                "query": query,
                "api": api,
                "endpoint": endpoint,
                "auth_scheme": _auth_scheme(self.headers.get("Authorization")),
                "organization": self.headers.get("X-Organization-ID"),
                "content_type": content_type or None,
                "body": self._json_body(raw) if "json" in content_type else None,
                "body_bytes": len(raw),
                "status": None,
                "fault": None,
            }
        )
        answer = self._answer(method, route, query, raw)
        spoil = answer.spoil
        if spoil is None and endpoint is not None and not answer.final:
            spoil = next(
                (
                    (name, params)
                    for name in _POST_FAULTS
                    if (params := self.state.faults.draw(name, endpoint)) is not None
                ),
                None,
            )
        fault = spoil[0] if spoil else answer.fault
        self.state.update_entry(entry, status=None if fault == "lost_response" else answer.status, fault=fault)
        if not self.simulator.quiet:
            self.simulator.log(f"{method} {parts.path} -> {answer.status}" + (f" [{fault}]" if fault else ""))
        if not self._hold(received, self.simulator.delay_for(api)):
            return
        self._deliver(answer, spoil, head=method == "HEAD")

    def _hold(self, received: float, seconds: float) -> bool:
        """Wait until ``seconds`` after the call arrived, as a remote GMI's round trip does;
        False when the simulator stops meanwhile.

        Each call waits in its own thread holding no lock, so concurrent calls overlap:
        200 calls at 100 ms all end after about 100 ms.
        """
        remaining = received + seconds - time.monotonic()
        if remaining > 0 and self.simulator.stopping.wait(remaining):
            self.close_connection = True
            return False
        return True

    def _deliver(self, answer: Answer, spoil: tuple[str, dict[str, Any]] | None, *, head: bool) -> None:
        name, params = spoil or ("", {})
        try:
            if name == "lost_response":
                # The call took effect; the client sees the connection close without an answer.
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if name == "timeout":
                if self.simulator.stopping.wait(float(params["seconds"])):
                    self.close_connection = True
                    return
            if name == "malformed_json" and answer.stream is None:
                self._send(answer, head=head, body=answer.body[: max(1, len(answer.body) // 2)])
                return
            self._send(answer, head=head)
        except OSError:
            self.close_connection = True  # the client gave up (typically after its read timeout)

    def _answer(self, method: str, route: Route, query: dict[str, str], raw: bytes) -> Answer:
        api, endpoint = route.api, route.endpoint
        if endpoint is None:
            if route.path_known:
                return _json(405, {"error": f"{method} is not allowed here"})
            return _json(404, {"error": "not found"})
        if api in ("requestqueue", "legacy"):
            refusal = self._authenticate(api, endpoint)
            if refusal is not None:
                refusal.final = True
                return refusal
        for name in _PRE_FAULTS:
            params = self.state.faults.draw(name, endpoint)
            if params is not None:
                answer = self._fault_answer(api, name, params)
                answer.final, answer.fault = True, name
                return answer
        handler: Callable[..., Answer] = getattr(self, f"_ep_{endpoint}")
        return handler(*route.args, query=query, raw=raw, method=method)

    def _error(self, api: str | None, status: int, message: str, headers: dict[str, str] | None = None) -> Answer:
        # The legacy queue speaks fal's dialect ("detail"); the request-queue API says "error".
        return _json(status, {"detail" if api == "legacy" else "error": message}, headers)

    def _authenticate(self, api: str, endpoint: str) -> Answer | None:
        expected = "Key" if endpoint in _KEY_AUTH_ENDPOINTS else "Bearer"
        scheme, _, token = (self.headers.get("Authorization") or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != expected.lower() or not token:
            return self._error(
                api, 401, f"missing or malformed credentials: expected 'Authorization: {expected} <api key>'"
            )
        key = self.simulator.key
        if key is not None and not hmac.compare_digest(token.encode(), key.encode()):
            return self._error(api, 401, "invalid API key")
        return None

    def _fault_answer(self, api: str | None, name: str, params: dict[str, Any]) -> Answer:
        if name == "rate_limit":
            seconds = float(params["retry_after"])
            retry_after = (
                email.utils.formatdate(time.time() + seconds, usegmt=True)
                if params["http_date"]
                else str(math.ceil(seconds))
            )
            return self._error(api, 429, "rate limit exceeded, slow down", {"Retry-After": retry_after})
        if name == "server_error":
            status = int(params["status"])
            if status in (502, 504):
                page = f"<html><head><title>{status}</title></head><body><h1>{status} Gateway error</h1></body></html>"
                return Answer(status, page.encode(), "text/html; charset=utf-8")
            return self._error(api, status, "internal server error, please retry later")
        return self._error(api, 400, str(params["message"]))

    # --- control API ---------------------------------------------------------------

    def _control(self, method: str, segments: list[str], query: dict[str, str], raw: bytes) -> Answer:
        simulator = self.simulator
        action = segments[0] if segments else ""
        data = self._json_body(raw)
        try:
            if action == "" and method in ("GET", "HEAD"):
                return _json(200, simulator.describe())
            if action == "requests" and method == "GET":
                return _json(200, {"requests": simulator.journal(endpoint=query.get("endpoint"), api=query.get("api"))})
            if action == "requests" and method == "DELETE":
                simulator.clear_journal()
                return _json(200, {"requests": []})
            if action == "faults" and method == "GET":
                return _json(200, {"faults": simulator.active_faults()})
            if action == "faults" and method == "POST":
                specs = data.get("faults", [data]) if isinstance(data, dict) else data
                if not isinstance(specs, list) or not all(isinstance(spec, dict) for spec in specs):
                    raise ValueError('send {"name": ...}, a list of those, or {"faults": [...]}')
                rules = [make_rule(**spec) for spec in specs]
                for rule in rules:
                    simulator.state.faults.add(rule)
                return _json(200, {"faults": simulator.active_faults()})
            if action == "faults" and method == "DELETE":
                simulator.clear_faults(query.get("name"))
                return _json(200, {"faults": simulator.active_faults()})
            if action == "reset" and method == "POST":
                simulator.reset()
                return _json(200, {"reset": True})
            if action == "advance" and method == "POST":
                simulator.advance(float((data or {}).get("seconds", 0)))
                return _json(200, {"now": simulator.state.now()})
            if action == "jobs" and method == "GET":
                return _json(200, {"jobs": simulator.jobs(model=query.get("model"))})
            if action == "latency" and method in ("GET", "POST"):
                if isinstance(data, dict):
                    simulator.set_latency(**data)
                return _json(200, simulator.latency())
            if action == "config" and method in ("GET", "POST"):
                if isinstance(data, dict):
                    simulator.configure(**data)
                return _json(200, simulator.config())
        except (TypeError, ValueError) as exc:
            return _json(400, {"error": str(exc)})
        return _json(404, {"error": f"unknown control call {method} /{CONTROL}/{action}"})

    # --- request-queue API ---------------------------------------------------------

    def _ep_models(self, **_: Any) -> Answer:
        return _json(200, {"model_ids": [model.id for model in MODELS]})

    def _ep_model(self, model_id: str, **_: Any) -> Answer:
        model = MODELS_BY_ID.get(model_id)
        if model is None:
            return self._error("requestqueue", 404, f"model {model_id!r} not found")
        return _json(200, model.public_detail())

    def _ep_create(self, *, raw: bytes, **_: Any) -> Answer:
        data = self._json_body(raw)
        if not isinstance(data, dict) or not isinstance(data.get("model"), str):
            return self._error("requestqueue", 400, 'body must be {"model": "<model id>", "payload": {...}}')
        model = MODELS_BY_ID.get(data["model"])
        if model is None:
            return self._error("requestqueue", 404, f"model {data['model']!r} not found")
        payload = data.get("payload")
        if not isinstance(payload, dict):
            return self._error("requestqueue", 400, "payload must be a JSON object")
        triggers = prompt_triggers(payload)
        problem = _validate(model, payload) or (
            "prompt asks for an invalid request" if "[invalid]" in triggers else None
        )
        if problem:
            return self._error("requestqueue", 400, problem)
        if "[policy]" in triggers:
            return self._error("requestqueue", 400, DEFAULT_PARAMS["content_policy"]["message"])
        job = self._new_job("requestqueue", model.id, payload, model, "create", triggers)
        created = format_time(job.created, model.time_format)
        answer = _json(
            200,
            {
                "request_id": job.request_id,
                "model": model.id,
                "status": model.status_word(job.first_status),
                "created_at": created,
                "updated_at": created,
                "queued_at": created,
            },
        )
        answer.spoil = _triggered_spoil(triggers)
        return answer

    def _ep_get(self, request_id: str, **_: Any) -> Answer:
        job = self.state.job("requestqueue", request_id)
        if job is None:
            return self._error("requestqueue", 404, f"request {request_id!r} not found")
        return _json(200, self._request_queue_job(job))

    def _ep_list(self, *, query: dict[str, str], **_: Any) -> Answer:
        jobs = self.state.jobs("requestqueue", query.get("model_id") or None)
        return _json(200, {"requests": [self._request_queue_job(job) for job in jobs], "total": len(jobs)})

    def _ep_cancel(self, request_id: str, **_: Any) -> Answer:
        job = self.state.job("requestqueue", request_id)
        if job is None:
            return self._error("requestqueue", 404, f"request {request_id!r} not found")
        if not self.state.cancel(job):
            return self._error("requestqueue", 409, "request already finished and cannot be cancelled")
        return _json(200, {"request_id": job.request_id, "status": "cancelled"})

    def _ep_upload_url(self, *, raw: bytes, **_: Any) -> Answer:
        data = self._json_body(raw)
        file_type = str(data.get("file_type", "")).lower() if isinstance(data, dict) else ""
        if file_type not in UPLOAD_CONTENT_TYPES:
            return self._error("requestqueue", 400, f"file_type must be one of {', '.join(UPLOAD_CONTENT_TYPES)}")
        upload = self.state.new_upload(file_type)
        if self.state.faults.draw("expired_urls", "upload_url") is not None:
            upload.expires = int(self.state.now()) - 60
        path = f"/storage/{UPLOADS}/{upload.token}.{file_type}"
        signature = self.state.sign(path, upload.expires)
        target = self.state.faults.draw("upload_target", "upload_url")
        return _json(
            200,
            {
                "upload_url": target["url"] if target else f"{self._origin()}{path}?expires={upload.expires}&sig={signature}",
                "public_url": f"{self._origin()}{path}",
            },
        )

    def _request_queue_job(self, job: Job) -> dict[str, Any]:
        model = MODELS_BY_ID[job.model]
        phase, since = job.phase(self.state.now())
        word = job.unknown_word if phase == "processing" and job.unknown_word else model.status_word(phase)
        created = format_time(job.created, model.time_format)
        body: dict[str, Any] = {
            "request_id": job.request_id,
            "org_id": self.headers.get("X-Organization-ID") or catalogue.ORG_ID,
            "model": job.model,
            "status": word,
            "payload": job.payload,
            "outcome": self._outcome(job) if phase == "success" else None,
            "created_at": created,
            "updated_at": format_time(since, model.time_format),
            "queued_at": created,
        }
        if phase == "failed":
            body["error"] = job.error
        if job.echo:
            # Where a careless upstream would repeat a header: a value, a key and a list item.
            body["diagnostics"] = {"worker": {"note": job.echo, job.echo: [job.echo]}}
        return body

    def _outcome(self, job: Job) -> dict[str, Any]:
        video, thumbnail = self._media_urls(job)
        if job.outcome_shape == "envelope_strings":
            return {"media_urls": [video, thumbnail]}
        if job.outcome_shape == "envelope":
            return {
                "media_urls": [
                    {"id": "0", "url": video, "mime_type": "video/mp4"},
                    {"id": "1", "url": thumbnail, "mime_type": "image/jpeg"},
                ],
                "usage": {"video_seconds": media.SECONDS},
            }
        return {"video_url": video, "thumbnail_image_url": thumbnail, "video_duration": float(media.SECONDS)}

    def _media_urls(self, job: Job) -> tuple[str, str]:
        # Signed afresh on every answer, valid for url_ttl: a client holding an expired link
        # gets a working one by asking for the job again. The expired-URLs fault signs
        # every link in the past, so asking again never helps.
        now = self.state.now()
        expires = int(job.ends_at) - 60 if job.expired_urls else int(max(now, job.ends_at) + self.state.url_ttl)
        urls = []
        for name in ("video.mp4", "thumbnail.jpg"):
            path = f"/storage/{OUTPUTS}/{quote(job.request_id)}/{name}"
            urls.append(f"{self._origin()}{path}?expires={expires}&sig={self.state.sign(path, expires)}")
        return urls[0], urls[1]

    def _new_job(
        self,
        api: str,
        model_id: str,
        payload: dict[str, Any],
        model: SimulatedModel | None,
        endpoint: str,
        triggers: set[str],
    ) -> Job:
        faults = self.state.faults
        failed = faults.draw("failed_job", endpoint)
        expired = faults.draw("expired_urls", endpoint)
        envelope = faults.draw("envelope", endpoint)
        unknown = faults.draw("unknown_status", endpoint)
        echo = faults.draw("echo", endpoint)
        shape = model.outcome_shape if model else "flat"
        if envelope is not None:
            shape = "envelope_strings" if envelope["strings"] else "envelope"
        if "[envelope]" in triggers:
            shape = "envelope"
        if "[envelope-strings]" in triggers:
            shape = "envelope_strings"
        error = failed["error"] if failed else None
        if "[fail]" in triggers:
            error = DEFAULT_PARAMS["failed_job"]["error"]
        if echo and echo["fail"]:
            error = f"Video generation failed: worker said {echo['text']}"
        word = unknown["word"] if unknown else None
        if "[unknown-status]" in triggers:
            word = DEFAULT_PARAMS["unknown_status"]["word"]
        return self.state.add_job(
            Job(
                request_id=self.state.new_request_id(),
                api=api,
                model=model_id,
                payload=payload,
                created=self.state.now(),
                seconds=self.state.job_seconds * (1 + random.uniform(-self.simulator.job_jitter, self.simulator.job_jitter)),
                first_status=model.first_status if model else "queued",
                error=error,
                expired_urls=expired is not None or "[expired]" in triggers,
                outcome_shape=shape,
                unknown_word=word,
                stuck="[stuck]" in triggers,
                echo=str(echo["text"]) if echo else None,
            )
        )

    # --- legacy API ----------------------------------------------------------------

    def _ep_legacy_models(self, **_: Any) -> Answer:
        return _json(
            200,
            {
                "object": "list",
                "data": [
                    {
                        "id": model_id,
                        "object": "model",
                        "created": catalogue.LEGACY_MODEL_CREATED,
                        "owned_by": "gmi-serving",
                    }
                    for model_id in catalogue.LEGACY_MODEL_IDS
                ],
            },
        )

    def _ep_legacy_submit(self, model_id: str, *, raw: bytes, **_: Any) -> Answer:
        if model_id not in catalogue.LEGACY_MODEL_IDS:
            return self._error("legacy", 404, f"Model '{model_id}' not found")
        payload = self._json_body(raw)
        if not isinstance(payload, dict):
            return self._error("legacy", 422, "Body must be a JSON object with the model's input")
        triggers = prompt_triggers(payload)
        problem = _validate_legacy(payload) or (
            "Invalid input requested by the prompt" if "[invalid]" in triggers else None
        )
        if problem:
            return self._error("legacy", 422, problem)
        if "[policy]" in triggers:
            return self._error("legacy", 400, DEFAULT_PARAMS["content_policy"]["message"])
        job = self._new_job("legacy", model_id, payload, MODELS_BY_ID.get(model_id), "legacy_submit", triggers)
        answer = _json(
            200, {"status": "IN_QUEUE", **self._legacy_links(job), "queue_position": self.state.queue_position(job)}
        )
        answer.spoil = _triggered_spoil(triggers)
        return answer

    def _ep_legacy_status(self, request_id: str, **_: Any) -> Answer:
        job = self.state.job("legacy", request_id)
        if job is None:
            return self._error("legacy", 404, "Request not found")
        phase, _since = job.phase(self.state.now())
        status = {
            "queued": "IN_QUEUE",
            "dispatched": "IN_QUEUE",
            "processing": job.unknown_word.upper() if job.unknown_word else "IN_PROGRESS",
            "success": "COMPLETED",
            "failed": "COMPLETED" if job.model in catalogue.LEGACY_FAL_STYLE_FAILURES else "FAILED",
            "cancelled": "CANCELLED",
        }[phase]
        body: dict[str, Any] = {"status": status, **self._legacy_links(job), "logs": None}
        if status == "IN_QUEUE":
            body["queue_position"] = self.state.queue_position(job)
        if status == "FAILED":
            body["error"] = job.error
        return _json(200, body)

    def _ep_legacy_result(self, request_id: str, **_: Any) -> Answer:
        job = self.state.job("legacy", request_id)
        if job is None:
            return self._error("legacy", 404, "Request not found")
        phase, _since = job.phase(self.state.now())
        if phase == "failed":
            return self._error("legacy", 422, job.error or "failed")
        if phase == "cancelled":
            return self._error("legacy", 400, "Request was cancelled")
        if phase != "success":
            return self._error("legacy", 400, "Request is still in progress")
        video, _thumbnail = self._media_urls(job)
        clip = render_clip(job.variant, _aspect(job))
        return _json(
            200,
            {
                "video": {
                    "url": video,
                    "content_type": "video/mp4",
                    "file_name": "video.mp4",
                    "file_size": padded_mp4(clip.video, self.simulator.video_bytes).size,
                },
                "seed": job.variant,
            },
        )

    def _ep_legacy_cancel(self, request_id: str, **_: Any) -> Answer:
        job = self.state.job("legacy", request_id)
        if job is None:
            return self._error("legacy", 404, "Request not found")
        if not self.state.cancel(job):
            return _json(400, {"status": "ALREADY_COMPLETED", "detail": "Request already completed"})
        return _json(202, {"status": "CANCELLATION_REQUESTED"})

    def _legacy_links(self, job: Job) -> dict[str, str]:
        base = f"{self._origin()}/video/requests/{quote(job.request_id)}"
        return {
            "request_id": job.request_id,
            "response_url": base,
            "status_url": f"{base}/status",
            "cancel_url": f"{base}/cancel",
        }

    # --- storage -------------------------------------------------------------------

    def _signed(self, path: str, query: dict[str, str]) -> Answer | None:
        """None when the query string signs ``path`` and has not expired, else the 403 to send."""
        if not self.state.signature_valid(path, query.get("expires", ""), query.get("sig", "")):
            return _storage_error(403, "SignatureDoesNotMatch", "The request signature does not match.")
        if int(query["expires"]) < self.state.now():
            return _storage_error(403, "AccessDenied", f"Request has expired: {query['expires']}")
        return None

    def _ep_media(self, request_id: str, name: str, *, query: dict[str, str], method: str, **_: Any) -> Answer:
        refusal = self._signed(f"/storage/{OUTPUTS}/{quote(request_id)}/{name}", query)
        if refusal is not None:
            return refusal
        job = self.state.job(None, request_id)
        if job is None or job.phase(self.state.now())[0] != "success" or name not in ("video.mp4", "thumbnail.jpg"):
            return _storage_error(404, "NoSuchKey", "The specified key does not exist.")
        clip = render_clip(job.variant, _aspect(job))
        if name == "thumbnail.jpg":
            return self._file(clip.thumbnail, "image/jpeg")
        return self._file(clip.video, "video/mp4", size=self.simulator.video_bytes)

    def _ep_upload(self, name: str, *, query: dict[str, str], raw: bytes, **_: Any) -> Answer:
        upload = self.state.upload(name.partition(".")[0])
        if upload is None or name != f"{upload.token}.{upload.file_type}":
            return _storage_error(404, "NoSuchUpload", "The upload URL is unknown.")
        refusal = self._signed(f"/storage/{UPLOADS}/{name}", query)
        if refusal is not None:
            return refusal
        sent_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if sent_type != upload.content_type:
            # Pre-signed URLs sign the content type: another one breaks the signature.
            return _storage_error(
                403, "SignatureDoesNotMatch", f"Content-Type must be {upload.content_type}, got {sent_type or 'none'}."
            )
        upload.data = raw
        return Answer(200, b"", "text/plain", {"ETag": f'"{hashlib.md5(raw).hexdigest()}"'})

    def _ep_uploaded_file(self, name: str, **_: Any) -> Answer:
        upload = self.state.upload(name.partition(".")[0])
        if upload is None or upload.data is None or name != f"{upload.token}.{upload.file_type}":
            return _storage_error(404, "NoSuchKey", "The specified key does not exist.")
        return self._file(upload.data, upload.content_type)

    def _file(self, data: bytes, content_type: str, *, size: int = 0) -> Answer:
        """Serve ``data`` (an MP4 grown to ``size`` bytes when that is larger: streamed,
        never built in memory) with single-range support."""
        headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, max-age=3600"}
        padded = padded_mp4(data, size) if size > len(data) else None
        size = padded.size if padded else len(data)

        def whole(status: int = 200, start: int = 0, stop: int = size, extra: dict[str, str] | None = None) -> Answer:
            answer = Answer(status, b"" if padded else data[start:stop], content_type, {**headers, **(extra or {})})
            if padded:
                answer.stream, answer.span = padded, (start, stop)
            return answer

        wanted = self.headers.get("Range", "")
        if not wanted.startswith("bytes=") or "," in wanted:
            return whole()
        first, _, last = wanted[6:].partition("-")
        try:
            start, end = (size - int(last), size - 1) if not first else (int(first), int(last) if last else size - 1)
        except ValueError:
            return whole()
        start, end = max(start, 0), min(end, size - 1)
        if start > end:
            return Answer(416, b"", content_type, {**headers, "Content-Range": f"bytes */{size}"})
        return whole(206, start, end + 1, {"Content-Range": f"bytes {start}-{end}/{size}"})


def _aspect(job: Job) -> str:
    return aspect_of(job.payload.get("aspect_ratio") or job.payload.get("aspectRatio"))


def _triggered_spoil(triggers: set[str]) -> tuple[str, dict[str, Any]] | None:
    for trigger, name in _TRIGGERED_POST_FAULTS.items():
        if trigger in triggers:
            return name, dict(DEFAULT_PARAMS[name])
    return None


def _auth_scheme(header: str | None) -> str | None:
    """The scheme word of an Authorization header; never anything that could be the key."""
    if not header:
        return None
    scheme, _, rest = header.strip().partition(" ")
    return _KNOWN_SCHEMES.get(scheme.lower(), "other") if rest.strip() else "other"


@dataclass(frozen=True)
class Route:
    """Where a call goes: its API, endpoint name (None if none matched) and path arguments."""

    api: str | None
    endpoint: str | None = None
    args: tuple[str, ...] = ()
    #: The path exists, with another method (405 rather than 404).
    path_known: bool = False


#: (method, endpoint, path pattern after the API's prefix; None matches any segment).
_ROUTES: dict[str, list[tuple[str, str, tuple[str | None, ...]]]] = {
    "requestqueue": [
        ("GET", "models", ("models",)),
        ("GET", "model", ("models", None)),
        ("POST", "create", ("requests",)),
        ("GET", "list", ("requests",)),
        ("GET", "get", ("requests", None)),
        ("DELETE", "cancel", ("requests", None)),
        ("POST", "upload_url", ("upload-url",)),
    ],
    "legacy": [
        ("GET", "legacy_models", ("models",)),
        ("GET", "legacy_status", ("requests", None, "status")),
        ("GET", "legacy_result", ("requests", None)),
        ("PUT", "legacy_cancel", ("requests", None, "cancel")),
        ("DELETE", "legacy_cancel", ("requests", None, "cancel")),
        ("POST", "legacy_submit", (None,)),
    ],
    "storage": [
        ("GET", "media", (OUTPUTS, None, None)),
        ("HEAD", "media", (OUTPUTS, None, None)),
        ("PUT", "upload", (UPLOADS, None)),
        ("GET", "uploaded_file", (UPLOADS, None)),
        ("HEAD", "uploaded_file", (UPLOADS, None)),
    ],
}


def _route(method: str, segments: list[str]) -> Route:
    prefix = REQUEST_QUEUE_PATH.strip("/").split("/")
    if segments[: len(prefix)] == prefix:
        api, rest = "requestqueue", segments[len(prefix) :]
    elif segments[:1] in (["video"], ["storage"]):
        api, rest = ("legacy" if segments[0] == "video" else "storage"), segments[1:]
    else:
        return Route(None)
    path_known = False
    for route_method, endpoint, pattern in _ROUTES[api]:
        if len(pattern) != len(rest) or any(p is not None and p != s for p, s in zip(pattern, rest)):
            continue
        if endpoint == "legacy_submit" and rest[0] in ("models", "requests"):
            continue  # model ids share the path level with these words
        path_known = True
        if route_method == method:
            return Route(api, endpoint, tuple(s for p, s in zip(pattern, rest) if p is None))
    return Route(api, path_known=path_known)


def _validate(model: SimulatedModel, payload: dict[str, Any]) -> str | None:
    """The first problem GMI would report for this payload, if any."""
    for parameter in model.detail["parameters"]:
        name = parameter["name"]
        value = payload.get(name)
        if value is None or value == "":
            if parameter.get("required"):
                return f"missing required parameter '{name}'"
            continue
        options = catalogue.parameter_options(parameter)
        if options is not None and str(value) not in {str(option) for option in options}:
            return f"invalid value for '{name}': {value!r} is not one of {', '.join(map(str, options))}"
        low, high = catalogue.parameter_bounds(parameter)
        if low is None and high is None:
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            return f"invalid value for '{name}': {value!r} is not a number"
        if (low is not None and number < low) or (high is not None and number > high):
            return f"invalid value for '{name}': {value!r} is out of range"
    return None


def _validate_legacy(payload: dict[str, Any]) -> str | None:
    for name in ("prompt", "image_url"):
        if not isinstance(payload.get(name), str) or not payload[name].strip():
            return f"Field required: {name}"
    if "duration" in payload and str(payload["duration"]) not in catalogue.LEGACY_DURATIONS:
        return "duration must be '5' or '10'"
    if "aspect_ratio" in payload and payload["aspect_ratio"] not in catalogue.LEGACY_ASPECT_RATIOS:
        return f"aspect_ratio must be one of {', '.join(catalogue.LEGACY_ASPECT_RATIOS)}"
    return None


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
        journal_size: int = JOURNAL_SIZE,
        job_jitter: float = 0.0,
    ) -> None:
        self.key = key or None
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
        for rule in faults:
            self.state.faults.add(rule)
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._serving = False
        self._closed = False
        self.httpd = _HTTPServer((host, port), self)

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
        with self.httpd.connections_lock:
            connections = list(self.httpd.connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
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

    def reset(self) -> None:
        """Forget jobs, uploads, journal and faults, rewind the clock and restore the start-up timings."""
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
            "control": {
                "GET /_simulator/requests[?endpoint=&api=]": "the journal of received calls",
                "DELETE /_simulator/requests": "clear the journal",
                "GET|POST|DELETE /_simulator/faults": (
                    'list / add {"name", "count"|"probability", "endpoints", params} / clear (?name=)'
                ),
                "POST /_simulator/reset": "forget jobs, uploads, journal, faults; restore clock and timings",
                "POST /_simulator/advance": 'move the clock: {"seconds": N}',
                "GET /_simulator/jobs": "jobs with their phase",
                "GET|POST /_simulator/config": '{"job_seconds", "url_ttl"}',
                "GET|POST /_simulator/latency": (
                    '{"latency_ms", "storage_latency_ms"}: how long each API call / storage answer waits'
                ),
            },
            "latency": self.latency(),
            "video_bytes": self.video_bytes,
            **self.config(),
        }
