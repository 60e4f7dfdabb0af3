"""The legacy Video API backend over real HTTP against the simulator."""

from __future__ import annotations

import pytest
import requests

from generations.gmi.base import RemoteState
from generations.gmi.errors import ErrorCode, UpstreamRejected
from generations.gmi.legacy import DEFAULT_BASE_URL, DEFAULT_MODELS_URL, LegacyBackend
from gmi_simulator.testing import running_simulator
from tests.helpers.settings import TEST_API_KEY

WAN = "Wan2.1-I2V-14B-720P"
INPUT = {"prompt": "the cat turns its head", "image_url": "https://example.com/cat.png"}


def test_defaults_point_at_gmi_production() -> None:
    backend = LegacyBackend(api_key="k")

    assert (backend.base_url, backend.models_url) == (DEFAULT_BASE_URL, DEFAULT_MODELS_URL)


def test_lists_models_from_the_models_url_with_bearer_auth(legacy, simulator) -> None:
    models = legacy.list_models()

    assert models == ["Kling-Image2Video-V1.6-Pro", "Kling-Image2Video-V2.1-Master", WAN]
    [call] = simulator.journal()
    assert (call["endpoint"], call["auth_scheme"]) == ("legacy_models", "Bearer")


def test_model_detail_is_the_builtin_image_to_video_description(legacy) -> None:
    model = legacy.get_model(WAN)

    assert model.id == WAN
    by_name = {p["name"]: p for p in model.parameters}
    assert list(by_name) == ["prompt", "image_url", "duration", "aspect_ratio", "negative_prompt", "seed_value"]
    assert by_name["prompt"]["required"] and by_name["image_url"]["required"]
    assert (by_name["duration"]["options"], by_name["duration"]["default"]) == (["5", "10"], "5")
    assert (by_name["aspect_ratio"]["options"], by_name["aspect_ratio"]["default"]) == (["16:9", "9:16", "1:1"], "16:9")
    assert by_name["negative_prompt"]["default"] == "blur, distort, and low quality"
    assert by_name["seed_value"]["type"] == "string"
    assert all({"name", "display_name", "description", "type", "required"} <= set(p) for p in model.parameters)
    assert model.raw["owned_by"] == "gmi-serving"


def test_model_detail_is_a_copy_callers_may_change(legacy) -> None:
    legacy.get_model(WAN).parameters.clear()

    assert len(legacy.get_model(WAN).parameters) == 6


def test_full_job_lifecycle_with_key_auth_on_every_queue_call(legacy, simulator, poll_until_done) -> None:
    submitted = legacy.create_request(WAN, {**INPUT, "duration": "10", "aspect_ratio": "1:1"})
    seen = poll_until_done(legacy, submitted.request_id, model_id=WAN)

    assert (submitted.state, submitted.raw_status) == (RemoteState.QUEUED, "IN_QUEUE")
    assert submitted.payload == {**INPUT, "duration": "10", "aspect_ratio": "1:1"}
    assert RemoteState.PROCESSING in [job.state for job in seen]
    done = seen[-1]
    assert (done.state, done.raw_status, done.model) == (RemoteState.SUCCEEDED, "COMPLETED", WAN)
    assert done.video_url and requests.get(done.video_url, timeout=5).content[4:8] == b"ftyp"
    queue_calls = [call for call in simulator.journal(api="legacy")]
    assert queue_calls[0]["body"] == {**INPUT, "duration": "10", "aspect_ratio": "1:1"}
    assert queue_calls[0]["path"] == f"/video/{WAN}"
    assert {call["endpoint"] for call in queue_calls} == {"legacy_submit", "legacy_status", "legacy_result"}
    assert {call["auth_scheme"] for call in queue_calls} == {"Key"}


def test_result_is_fetched_only_once_the_job_completed(legacy, simulator) -> None:
    simulator.job_seconds = 30
    job = legacy.create_request(WAN, INPUT)

    legacy.get_request(job.request_id)

    assert simulator.journal(endpoint="legacy_result") == []


def test_failure_reported_fal_style_as_completed_with_an_error_result_is_failed(legacy, simulator) -> None:
    simulator.set_fault("failed_job", endpoints=["legacy_submit"], error="the image could not be read")
    job = legacy.create_request("Kling-Image2Video-V1.6-Pro", INPUT)
    simulator.advance(5)

    failed = legacy.get_request(job.request_id)

    assert (failed.state, failed.raw_status) == (RemoteState.FAILED, "COMPLETED")
    assert failed.error == "the image could not be read"
    assert failed.error_code is ErrorCode.GENERATION_FAILED
    assert [call["status"] for call in simulator.journal(endpoint="legacy_result")] == [422]


def test_fal_style_failure_blamed_on_content_policy_has_that_code(legacy, simulator) -> None:
    simulator.set_fault("failed_job", endpoints=["legacy_submit"], error="output blocked by the safety filter")
    job = legacy.create_request("Kling-Image2Video-V1.6-Pro", INPUT)
    simulator.advance(5)

    failed = legacy.get_request(job.request_id)

    assert (failed.state, failed.raw_status) == (RemoteState.FAILED, "COMPLETED")
    assert (failed.error, failed.error_code) == ("output blocked by the safety filter", ErrorCode.CONTENT_POLICY)


def test_cancel_is_best_effort_for_running_ended_and_unknown_jobs(legacy, simulator) -> None:
    simulator.job_seconds = 30
    running = legacy.create_request(WAN, INPUT)
    legacy.cancel_request(running.request_id)
    ended = legacy.create_request(WAN, INPUT)
    simulator.advance(60)

    legacy.cancel_request(ended.request_id)
    legacy.cancel_request("unknown")

    assert legacy.get_request(running.request_id).state is RemoteState.CANCELLED
    calls = simulator.journal(endpoint="legacy_cancel")
    assert [(call["method"], call["status"]) for call in calls] == [("PUT", 202), ("PUT", 400), ("PUT", 404)]


def test_upload_is_refused_without_sending_anything(legacy, simulator) -> None:
    with pytest.raises(UpstreamRejected) as caught:
        legacy.upload_file(b"\x89PNG", file_type="png")

    assert "no file upload" in caught.value.message
    assert caught.value.code is ErrorCode.UNSUPPORTED
    assert simulator.journal() == []


def test_right_key_is_accepted_in_both_header_forms() -> None:
    with running_simulator(key=TEST_API_KEY) as sim:
        right = LegacyBackend(api_key=TEST_API_KEY, base_url=sim.legacy_base_url, models_url=sim.legacy_models_url)

        assert right.list_models()
        assert right.create_request(WAN, INPUT).request_id
        assert [call["auth_scheme"] for call in sim.journal()] == ["Bearer", "Key"]
