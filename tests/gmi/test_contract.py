"""The contract every GMI backend keeps, run against both API generations over real HTTP against the simulator.

Only what differs by API (model ids, payloads, the simulator's endpoint names, the
status words and status codes each API answers) is spelled out per backend; every
assertion below holds for both.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from generations.gmi.base import GMIBackend, RemoteJob, RemoteState
from generations.gmi.errors import (
    AuthenticationFailed,
    ContentPolicyRefused,
    ErrorCode,
    InvalidRequest,
    RateLimited,
    UpstreamNotFound,
    UpstreamRejected,
    UpstreamUnavailable,
)
from generations.gmi.legacy import LegacyBackend
from generations.gmi.requestqueue import RequestQueueBackend
from gmi_simulator import GMISimulator
from gmi_simulator.faults import DEFAULT_PARAMS
from gmi_simulator.testing import running_simulator
from tests.helpers.settings import TEST_API_KEY


@dataclass(frozen=True)
class Flavor:
    """One API generation as the contract needs to know it."""

    name: str
    make: Callable[[GMISimulator], GMIBackend]
    make_at: Callable[[str], GMIBackend]  # a backend whose every URL is under this base
    model: str
    payload: dict[str, Any]
    invalid_payload: dict[str, Any]
    invalid_reason: str  # GMI's own words for invalid_payload
    invalid_status: int
    endpoints: dict[str, str]  # contract name -> the simulator's endpoint name
    ended_cancel_statuses: list[int]  # how this API refuses to cancel an ended, then an unknown job
    extra: dict[str, Any] = field(default_factory=dict)


FLAVORS = {
    "requestqueue": Flavor(
        name="requestqueue",
        make=lambda sim: RequestQueueBackend(api_key=TEST_API_KEY, base_url=sim.base_url, connect_timeout=2,
                                             read_timeout=2),
        make_at=lambda url: RequestQueueBackend(api_key=TEST_API_KEY, base_url=url, connect_timeout=1, read_timeout=1),
        model="Veo3",
        payload={"prompt": "a cat surfing a wave at sunset"},
        invalid_payload={"prompt": "no image given"},
        invalid_reason="missing required parameter 'image_url'",
        invalid_status=400,
        endpoints={"models": "models", "submit": "create", "status": "get", "cancel": "cancel"},
        ended_cancel_statuses=[409, 404],
        extra={"invalid_model": "Kling-Image2Video-V2.1-Master"},
    ),
    "legacy": Flavor(
        name="legacy",
        make=lambda sim: LegacyBackend(
            api_key=TEST_API_KEY,
            base_url=sim.legacy_base_url,
            models_url=sim.legacy_models_url,
            connect_timeout=2,
            read_timeout=2,
        ),
        make_at=lambda url: LegacyBackend(
            api_key=TEST_API_KEY, base_url=url, models_url=f"{url}/video/models", connect_timeout=1, read_timeout=1
        ),
        model="Wan2.1-I2V-14B-720P",
        payload={"prompt": "the cat turns its head", "image_url": "https://example.com/cat.png"},
        invalid_payload={"prompt": "no image"},
        invalid_reason="Field required: image_url",
        invalid_status=422,
        endpoints={
            "models": "legacy_models",
            "submit": "legacy_submit",
            "status": "legacy_status",
            "cancel": "legacy_cancel",
        },
        ended_cancel_statuses=[400, 404],
        extra={"invalid_model": "Wan2.1-I2V-14B-720P"},
    ),
}


@dataclass(frozen=True)
class Contract:
    flavor: Flavor
    backend: GMIBackend
    simulator: GMISimulator

    def endpoint(self, name: str) -> str:
        return self.flavor.endpoints[name]

    def submit(self, **payload: Any) -> RemoteJob:
        return self.backend.create_request(self.flavor.model, {**self.flavor.payload, **payload})


@pytest.fixture(params=list(FLAVORS))
def api(request: pytest.FixtureRequest, simulator: GMISimulator) -> Contract:
    flavor = FLAVORS[request.param]
    return Contract(flavor=flavor, backend=flavor.make(simulator), simulator=simulator)


def assert_key_absent(error: BaseException | None = None, *texts: Any) -> None:
    parts = [str(text) for text in texts]
    if error is not None:
        parts += [str(error), repr(error), str(error.args)]
        parts += [str(getattr(error, name, "")) for name in ("body", "reason", "message")]
    haystack = " ".join(parts)
    assert TEST_API_KEY not in haystack and TEST_API_KEY.lower() not in haystack.lower()


# --- the catalogue -----------------------------------------------------------------------


def test_lists_models_and_reads_one(api: Contract) -> None:
    models = api.backend.list_models()
    model = api.backend.get_model(api.flavor.model)

    assert api.flavor.model in models and all(isinstance(model_id, str) and model_id for model_id in models)
    assert model.id == api.flavor.model
    names = [parameter["name"] for parameter in model.parameters]
    assert "prompt" in names
    assert model.raw


def test_unknown_model_or_request_is_not_found(api: Contract) -> None:
    for call in (
        lambda: api.backend.get_model("Sora-9000"),
        lambda: api.backend.create_request("Sora-9000", api.flavor.payload),
        lambda: api.backend.get_request("no-such-request", model_id=api.flavor.model),
    ):
        with pytest.raises(UpstreamNotFound) as caught:
            call()
        assert caught.value.code is ErrorCode.NOT_FOUND
        assert caught.value.status_code == 404


# --- a job's life --------------------------------------------------------------------------


def test_create_then_get_reaches_success_with_outcome_urls(api: Contract, poll_until_done) -> None:
    submitted = api.submit()
    seen = poll_until_done(api.backend, submitted.request_id, model_id=api.flavor.model)

    assert submitted.request_id and not submitted.state.is_terminal
    assert submitted.state in (RemoteState.QUEUED, RemoteState.DISPATCHED)
    assert submitted.payload == api.flavor.payload
    assert RemoteState.PROCESSING in [job.state for job in seen]
    done = seen[-1]
    assert done.state is RemoteState.SUCCEEDED
    assert (done.request_id, done.model) == (submitted.request_id, api.flavor.model)
    assert (done.error, done.error_code) == (None, None)
    video = requests.get(done.video_url, timeout=5)
    assert video.status_code == 200 and video.headers["Content-Type"] == "video/mp4"
    assert video.content[4:8] == b"ftyp"


def test_failed_job_carries_gmis_reason_and_a_code(api: Contract) -> None:
    api.simulator.set_fault("failed_job", error="GPU ran out of memory")
    job = api.submit()
    api.simulator.advance(5)

    failed = api.backend.get_request(job.request_id, model_id=api.flavor.model)

    assert failed.state is RemoteState.FAILED
    assert failed.raw_status.lower() == "failed"
    assert failed.error == "GPU ran out of memory"
    assert failed.error_code is ErrorCode.GENERATION_FAILED
    assert failed.video_urls == ()


@pytest.mark.parametrize(
    "reason", ["The output was blocked by our safety system", "Rejected under the content policy"]
)
def test_failed_job_blamed_on_content_policy_has_the_content_policy_code(api: Contract, reason: str) -> None:
    api.simulator.set_fault("failed_job", error=reason)
    job = api.submit()
    api.simulator.advance(5)

    failed = api.backend.get_request(job.request_id, model_id=api.flavor.model)

    assert (failed.state, failed.error, failed.error_code) == (RemoteState.FAILED, reason, ErrorCode.CONTENT_POLICY)


@pytest.mark.parametrize("how", ["fault", "prompt"])
def test_content_policy_refusal_has_its_code_and_gmis_reason(api: Contract, how: str) -> None:
    if how == "fault":
        api.simulator.set_fault("content_policy")
    prompt = {"prompt": "something nasty [policy]"} if how == "prompt" else {}

    with pytest.raises(ContentPolicyRefused) as caught:
        api.submit(**prompt)

    error = caught.value
    assert isinstance(error, InvalidRequest) and isinstance(error, UpstreamRejected)
    assert error.code is ErrorCode.CONTENT_POLICY
    assert error.status_code == 400
    assert error.reason == DEFAULT_PARAMS["content_policy"]["message"]
    assert "content policy" in error.message
    assert api.simulator.jobs() == []


def test_invalid_payload_has_its_code_and_gmis_reason_without_our_request_line(api: Contract) -> None:
    with pytest.raises(InvalidRequest) as caught:
        api.backend.create_request(api.flavor.extra["invalid_model"], api.flavor.invalid_payload)

    error = caught.value
    assert not isinstance(error, ContentPolicyRefused)
    assert error.code is ErrorCode.INVALID_REQUEST
    assert error.status_code == api.flavor.invalid_status
    assert api.flavor.invalid_reason in error.reason and api.flavor.invalid_reason in error.message
    assert "HTTP" not in error.reason and "127.0.0.1" not in error.reason


def test_unknown_status_word_is_unknown_and_not_terminal(api: Contract) -> None:
    api.simulator.set_fault("unknown_status", word="warming_up")
    job = api.submit()
    api.simulator.advance(0.3)

    running = api.backend.get_request(job.request_id, model_id=api.flavor.model)

    assert running.raw_status.lower() == "warming_up"
    assert running.state is RemoteState.UNKNOWN and not running.state.is_terminal
    assert (running.error, running.error_code) == (None, None)


def test_cancel_of_an_ended_or_unknown_job_does_not_raise(api: Contract) -> None:
    job = api.submit()
    api.simulator.advance(60)

    api.backend.cancel_request(job.request_id, model_id=api.flavor.model)
    api.backend.cancel_request("gone", model_id=api.flavor.model)

    statuses = [call["status"] for call in api.simulator.journal(endpoint=api.endpoint("cancel"))]
    assert statuses == api.flavor.ended_cancel_statuses
    assert api.backend.get_request(job.request_id, model_id=api.flavor.model).state is RemoteState.SUCCEEDED


def test_list_requests_finds_a_job_or_is_declared_impossible_and_sends_nothing(api: Contract) -> None:
    job = api.submit()
    api.simulator.clear_journal()

    listed = api.backend.list_requests(api.flavor.model)

    if api.backend.can_list_requests:
        assert [found.request_id for found in listed] == [job.request_id]
        assert listed[0].payload == api.flavor.payload
    else:
        assert listed == [] and api.simulator.journal() == []


# --- transient failures --------------------------------------------------------------------


def test_429_is_rate_limited_with_retry_after_for_that_call_only(api: Contract) -> None:
    job = api.submit()
    api.simulator.set_fault("rate_limit", endpoints=[api.endpoint("status")], retry_after=7)

    with pytest.raises(RateLimited) as caught:
        api.backend.get_request(job.request_id, model_id=api.flavor.model)

    error = caught.value
    assert isinstance(error, UpstreamUnavailable)
    assert (error.status_code, error.retry_after, error.code) == (429, 7, ErrorCode.RATE_LIMITED)
    assert error.reason == "rate limit exceeded, slow down"
    assert api.backend.get_request(job.request_id, model_id=api.flavor.model).request_id == job.request_id


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_on_submit_is_unavailable_and_may_have_been_sent(api: Contract, status: int) -> None:
    api.simulator.set_fault("server_error", status=status, endpoints=[api.endpoint("submit")])

    with pytest.raises(UpstreamUnavailable) as caught:
        api.submit()

    error = caught.value
    assert not isinstance(error, RateLimited)
    assert (error.maybe_sent, error.status_code, error.code) == (True, status, ErrorCode.UNAVAILABLE)
    if status == 502:
        assert "Gateway error" in error.message and "<h1>" not in error.reason  # HTML reduced to its text
    else:
        assert error.reason == "internal server error, please retry later"


def test_lost_submit_answer_may_have_been_sent_and_the_job_exists_at_gmi(api: Contract) -> None:
    api.simulator.set_fault("lost_response", endpoints=[api.endpoint("submit")])

    with pytest.raises(UpstreamUnavailable) as caught:
        api.submit()

    assert caught.value.maybe_sent is True
    assert len(api.simulator.jobs()) == 1


def test_connection_refused_is_provably_not_sent(api: Contract) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed when the block ends: nothing listens there
    unreachable = api.flavor.make_at(f"http://127.0.0.1:{port}")

    with pytest.raises(UpstreamUnavailable) as caught:
        unreachable.create_request(api.flavor.model, api.flavor.payload)

    assert (caught.value.maybe_sent, caught.value.code) == (False, ErrorCode.UNAVAILABLE)


def test_malformed_json_is_a_bad_response_worth_retrying(api: Contract) -> None:
    job = api.submit()
    api.simulator.set_fault("malformed_json", endpoints=[api.endpoint("status")])

    with pytest.raises(UpstreamUnavailable) as caught:
        api.backend.get_request(job.request_id, model_id=api.flavor.model)

    error = caught.value
    assert "malformed" in error.message
    assert (error.status_code, error.code) == (200, ErrorCode.BAD_RESPONSE)


# --- the key -------------------------------------------------------------------------------


def test_wrong_key_is_auth_failed_and_the_key_is_in_no_error() -> None:
    with running_simulator(key="the-right-key") as sim:
        for flavor in FLAVORS.values():
            wrong = flavor.make(sim)
            # Each lambda is called within its own iteration, so late binding is harmless.
            for call in (wrong.list_models, lambda: wrong.create_request(flavor.model, flavor.payload)):  # noqa: B023
                with pytest.raises(AuthenticationFailed) as caught:
                    call()
                assert (caught.value.status_code, caught.value.code) == (401, ErrorCode.AUTH_FAILED)
                assert caught.value.reason == "invalid API key"
                assert_key_absent(caught.value, repr(wrong), repr(wrong.http))


def test_key_echoed_by_gmi_is_in_no_job_error_or_raw_answer(api: Contract) -> None:
    api.simulator.set_fault("echo", text=f"the key was {TEST_API_KEY.upper()}")
    job = api.submit()
    api.simulator.advance(5)

    failed = api.backend.get_request(job.request_id, model_id=api.flavor.model)

    assert failed.state is RemoteState.FAILED and "[redacted]" in (failed.error or "")
    assert_key_absent(None, failed.error, failed.raw, failed)


# --- one backend, many threads -------------------------------------------------------------


def test_one_backend_serves_many_threads_and_keeps_no_state_per_call(api: Contract) -> None:
    before = dict(vars(api.backend))
    results: dict[int, tuple[RemoteJob, RemoteJob]] = {}
    failures: list[BaseException] = []

    def work(n: int) -> None:
        try:
            submitted = api.submit(prompt=f"thread {n}")
            results[n] = (submitted, api.backend.get_request(submitted.request_id, model_id=api.flavor.model))
        except BaseException as exc:  # every failure, reported below with the thread's number
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert failures == []
    assert len({submitted.request_id for submitted, _ in results.values()}) == 8
    assert all(fetched.request_id == submitted.request_id for submitted, fetched in results.values())
    by_id = {job["request_id"]: job["payload"]["prompt"] for job in api.simulator.jobs()}
    assert all(by_id[submitted.request_id] == f"thread {n}" for n, (submitted, _) in results.items())
    assert vars(api.backend) == before  # nothing about a call is left on the shared object
