"""The control API under ``/_simulator/``: faults, journal, clock, timings and latency over HTTP."""

from __future__ import annotations

from .calls import Answer, Simulator, json_answer, parse_json
from .faults import make_rule

PREFIX = "_simulator"

#: What ``GET /_simulator/`` says about each control call.
ENDPOINTS: dict[str, str] = {
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
}


def answer(simulator: Simulator, method: str, segments: list[str], query: dict[str, str], raw: bytes) -> Answer:
    """The answer to a control call; ``segments`` is the path after ``/_simulator/``."""
    action = segments[0] if segments else ""
    data = parse_json(raw)
    try:
        if action == "" and method in ("GET", "HEAD"):
            return json_answer(200, simulator.describe())
        if action == "requests" and method == "GET":
            return json_answer(
                200, {"requests": simulator.journal(endpoint=query.get("endpoint"), api=query.get("api"))}
            )
        if action == "requests" and method == "DELETE":
            simulator.clear_journal()
            return json_answer(200, {"requests": []})
        if action == "faults" and method == "GET":
            return json_answer(200, {"faults": simulator.active_faults()})
        if action == "faults" and method == "POST":
            specs = data.get("faults", [data]) if isinstance(data, dict) else data
            if not isinstance(specs, list) or not all(isinstance(spec, dict) for spec in specs):
                raise ValueError('send {"name": ...}, a list of those, or {"faults": [...]}')
            rules = [make_rule(**spec) for spec in specs]
            for rule in rules:
                simulator.state.faults.add(rule)
            return json_answer(200, {"faults": simulator.active_faults()})
        if action == "faults" and method == "DELETE":
            simulator.clear_faults(query.get("name"))
            return json_answer(200, {"faults": simulator.active_faults()})
        if action == "reset" and method == "POST":
            simulator.reset()
            return json_answer(200, {"reset": True})
        if action == "advance" and method == "POST":
            simulator.advance(float((data or {}).get("seconds", 0)))
            return json_answer(200, {"now": simulator.state.now()})
        if action == "jobs" and method == "GET":
            return json_answer(200, {"jobs": simulator.jobs(model=query.get("model"))})
        if action == "latency" and method in ("GET", "POST"):
            if isinstance(data, dict):
                simulator.set_latency(**data)
            return json_answer(200, simulator.latency())
        if action == "config" and method in ("GET", "POST"):
            if isinstance(data, dict):
                simulator.configure(**data)
            return json_answer(200, simulator.config())
    except (TypeError, ValueError) as exc:
        return json_answer(400, {"error": str(exc)})
    return json_answer(404, {"error": f"unknown control call {method} /{PREFIX}/{action}"})
