"""Starting a simulated job, in either API: the faults and prompt triggers that decide how it behaves."""

from __future__ import annotations

import random
from typing import Any

from .calls import Call
from .catalogue import SimulatedModel
from .faults import DEFAULT_PARAMS
from .state import Job

#: Prompt markers that spoil the submit answer (the job is created all the same).
_TRIGGERED_POST_FAULTS = {"[timeout]": "timeout", "[lost]": "lost_response", "[malformed]": "malformed_json"}


def new_job(
    call: Call,
    api: str,
    model_id: str,
    payload: dict[str, Any],
    model: SimulatedModel | None,
    endpoint: str,
    triggers: set[str],
) -> Job:
    """Add a job for an accepted submission; faults switched on for ``endpoint`` and the
    prompt's ``triggers`` fix its outcome, its outcome's shape and its status words now."""
    state = call.state
    faults = state.faults
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
    jitter = call.simulator.job_jitter
    return state.add_job(
        Job(
            request_id=state.new_request_id(),
            api=api,
            model=model_id,
            payload=payload,
            created=state.now(),
            seconds=state.job_seconds * (1 + random.uniform(-jitter, jitter)),
            first_status=model.first_status if model else "queued",
            error=error,
            expired_urls=expired is not None or "[expired]" in triggers,
            outcome_shape=shape,
            unknown_word=word,
            stuck="[stuck]" in triggers,
            echo=str(echo["text"]) if echo else None,
        )
    )


def triggered_spoil(triggers: set[str]) -> tuple[str, dict[str, Any]] | None:
    """The post fault a prompt marker asks for on its own submit answer, if any."""
    for trigger, name in _TRIGGERED_POST_FAULTS.items():
        if trigger in triggers:
            return name, dict(DEFAULT_PARAMS[name])
    return None
