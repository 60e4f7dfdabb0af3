"""The request-queue backend over real HTTP against the simulator, and the tolerant readers it uses."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
import requests

from generations.gmi.base import RemoteState
from generations.gmi.errors import (
    AuthenticationFailed,
    ErrorCode,
    GMIConfigurationError,
    GMIError,
    InvalidRequest,
    RateLimited,
    UpstreamNotFound,
    UpstreamRejected,
    UpstreamUnavailable,
)
from generations.gmi.http import parse_retry_after
from generations.gmi.readers import failure_code, list_in, normalize_status, outcome_media, parse_time
from generations.gmi.requestqueue import DEFAULT_BASE_URL, RequestQueueBackend
from tests.helpers.settings import TEST_API_KEY

KLING_I2V = "Kling-Image2Video-V2.1-Master"
CAT = {"prompt": "a cat surfing a wave at sunset"}


def test_default_base_url_is_gmi_production() -> None:
    assert RequestQueueBackend(api_key="k").base_url == DEFAULT_BASE_URL


def test_lists_models_in_gmi_order(backend, simulator) -> None:
    models = backend.list_models()

    assert models[:2] == ["Veo3", "Veo3-Fast"]
    assert {KLING_I2V, "Kling-Text2Video-V2.1-Master", "Luma-Ray2", "Wan2.1-I2V-14B-720P"} <= set(models)


def test_model_detail_keeps_the_raw_parameter_dialect(backend) -> None:
    veo = backend.get_model("Veo3")
    pixverse = backend.get_model("PixVerse-V4.5-Transition")

    assert veo.id == "Veo3"
    assert "Veo 3" in veo.detailed_description
    assert veo.modalities["output"] == ["video", "audio"]
    assert [p["name"] for p in veo.parameters][:3] == ["prompt", "negativePrompt", "durationSeconds"]
    by_name = {p["name"]: p for p in pixverse.parameters}
    assert by_name["camera_motion"]["type"] == "json_path"
    assert by_name["motion_strength"]["maximum"] == 1.0
    assert pixverse.raw["tags"] == ["experimental"]


def test_model_ids_are_case_sensitive(backend) -> None:
    with pytest.raises(UpstreamNotFound) as caught:
        backend.get_model("veo3")

    assert caught.value.status_code == 404


def test_full_job_lifecycle_reaches_success_with_video_and_thumbnail(backend, poll_until_done) -> None:
    submitted = backend.create_request("Veo3", {**CAT, "aspectRatio": "9:16"})
    seen = poll_until_done(backend, submitted.request_id)

    assert submitted.state is RemoteState.DISPATCHED  # Veo3 answers the API reference's word
    assert submitted.model == "Veo3"
    assert submitted.created_at is not None and submitted.created_at.tzinfo is not None
    states = [job.state for job in seen]
    assert RemoteState.PROCESSING in states
    done = seen[-1]
    assert done.state is RemoteState.SUCCEEDED
    assert done.raw_status == "success"
    assert done.payload == {**CAT, "aspectRatio": "9:16"}
    assert done.video_url and done.video_url.split("?")[0].endswith("/video.mp4")
    assert done.thumbnail_url and done.thumbnail_url.split("?")[0].endswith("/thumbnail.jpg")
    assert done.error is None
    video = requests.get(done.video_url, timeout=5)
    assert video.status_code == 200 and video.headers["Content-Type"] == "video/mp4"
    assert video.content[4:8] == b"ftyp"


def test_model_starting_queued_reports_queued_then_dispatched(backend, simulator) -> None:
    simulator.job_seconds = 10
    job = backend.create_request(KLING_I2V, {**CAT, "image_url": "https://example.com/cat.png"})

    assert job.state is RemoteState.QUEUED
    simulator.advance(3)  # 30% of the job's time: past the queue, not yet processing
    assert backend.get_request(job.request_id).state is RemoteState.DISPATCHED


@pytest.mark.parametrize("strings", [False, True], ids=["objects", "plain-strings"])
def test_envelope_outcome_is_read_in_both_entry_forms(backend, simulator, strings) -> None:
    simulator.set_fault("envelope", strings=strings)
    job = backend.create_request("Veo3", CAT)
    simulator.advance(5)

    done = backend.get_request(job.request_id)

    assert "media_urls" in done.raw["outcome"]
    assert isinstance(done.raw["outcome"]["media_urls"][0], str) is strings
    assert len(done.video_urls) == 1 and ".mp4" in done.video_urls[0]
    assert done.thumbnail_url and ".jpg" in done.thumbnail_url


@pytest.mark.parametrize(
    ("model", "payload", "raw_type"),
    [
        ("Veo3", CAT, int),
        ("Wan2.1-I2V-14B-720P", {**CAT, "image_url": "https://example.com/a.png"}, float),
        (
            "PixVerse-V4.5-Transition",
            {**CAT, "first_frame": "https://e.com/1.png", "last_frame": "https://e.com/2.png"},
            str,
        ),
    ],
    ids=["epoch-int", "epoch-float", "iso-8601"],
)
def test_times_are_read_as_aware_datetimes_in_every_dialect(backend, model, payload, raw_type) -> None:
    job = backend.create_request(model, payload)
    fetched = backend.get_request(job.request_id)

    assert isinstance(fetched.raw["created_at"], raw_type)
    assert fetched.created_at is not None
    assert abs(fetched.created_at - datetime.now(UTC)) < timedelta(seconds=30)
    assert fetched.updated_at is not None and fetched.updated_at >= fetched.created_at - timedelta(seconds=1)


def test_model_with_other_status_words_is_normalized(backend, simulator) -> None:
    job = backend.create_request(
        "PixVerse-V4.5-Transition", {**CAT, "first_frame": "https://e.com/1.png", "last_frame": "https://e.com/2.png"}
    )
    simulator.advance(5)
    done = backend.get_request(job.request_id)

    assert (job.raw_status, job.state) == ("pending", RemoteState.QUEUED)
    assert (done.raw_status, done.state) == ("succeeded", RemoteState.SUCCEEDED)
    assert done.video_url and done.thumbnail_url  # envelope of plain strings, sorted by extension


def test_fail_prompt_trigger_fails_the_job(backend, simulator) -> None:
    job = backend.create_request("Veo3", {"prompt": "a storm [fail]"})
    simulator.advance(5)

    failed = backend.get_request(job.request_id)

    assert failed.state is RemoteState.FAILED and failed.error


def test_rate_limit_retry_after_as_http_date_is_converted_to_seconds(backend, simulator) -> None:
    simulator.set_fault("rate_limit", retry_after=30, http_date=True)

    with pytest.raises(RateLimited) as caught:
        backend.get_model("Veo3")

    assert 25 <= caught.value.retry_after <= 31


def test_read_timeout_after_sending_is_maybe_sent_and_the_job_can_be_reconciled(simulator) -> None:
    impatient = RequestQueueBackend(api_key=TEST_API_KEY, base_url=simulator.base_url, read_timeout=0.3)
    simulator.set_fault("timeout", endpoints=["create"], seconds=3)

    with pytest.raises(UpstreamUnavailable) as caught:
        impatient.create_request("Luma-Ray2", {"prompt": "a lighthouse", "duration": "9s"})

    assert caught.value.maybe_sent is True
    assert "read timeout" in caught.value.message
    found = impatient.list_requests("Luma-Ray2")
    assert [job.payload for job in found] == [{"prompt": "a lighthouse", "duration": "9s"}]


def test_lost_response_is_maybe_sent_and_the_job_exists_at_gmi(backend, simulator) -> None:
    simulator.set_fault("lost_response", endpoints=["create"])

    with pytest.raises(UpstreamUnavailable) as caught:
        backend.create_request("Veo3", {"prompt": "reconcile me"})

    assert caught.value.maybe_sent is True
    assert len(simulator.journal(endpoint="create")) == 1
    [job] = backend.list_requests("Veo3")
    assert job.payload == {"prompt": "reconcile me"}
    assert job.state in (RemoteState.DISPATCHED, RemoteState.PROCESSING, RemoteState.SUCCEEDED)


def test_api_key_echoed_by_gmi_is_scrubbed_from_message_body_and_logs(backend, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="generations.gmi")
    # The simulator quotes invalid values back, as many APIs do.
    with pytest.raises(InvalidRequest) as caught:
        backend.create_request(KLING_I2V, {**CAT, "image_url": "https://e.com/a.png", "duration": TEST_API_KEY})

    error = caught.value
    assert "[redacted]" in error.message
    assert TEST_API_KEY not in f"{error} {error!r} {error.body} {error.args}"
    assert caplog.records and TEST_API_KEY not in caplog.text


def test_every_call_carries_bearer_auth_and_the_organization(simulator) -> None:
    backend = RequestQueueBackend(api_key=TEST_API_KEY, base_url=simulator.base_url, org_id="org-42")
    backend.list_models()
    job = backend.create_request("Veo3", CAT)
    backend.get_request(job.request_id)

    calls = simulator.journal(api="requestqueue")
    assert [call["endpoint"] for call in calls] == ["models", "create", "get"]
    assert {call["auth_scheme"] for call in calls} == {"Bearer"}
    assert {call["organization"] for call in calls} == {"org-42"}
    assert calls[1]["body"] == {"model": "Veo3", "payload": CAT}


def test_list_requests_returns_this_models_jobs_with_payloads(backend) -> None:
    first = backend.create_request("Veo3", {"prompt": "one"})
    second = backend.create_request("Veo3", {"prompt": "two"})
    backend.create_request("Luma-Ray2", {"prompt": "elsewhere"})

    listed = backend.list_requests("Veo3")

    assert [job.request_id for job in listed] == [second.request_id, first.request_id]
    assert [job.payload for job in listed] == [{"prompt": "two"}, {"prompt": "one"}]


def test_cancel_stops_a_running_job(backend, simulator) -> None:
    simulator.job_seconds = 30
    job = backend.create_request("Veo3", CAT)

    backend.cancel_request(job.request_id)

    assert backend.get_request(job.request_id).state is RemoteState.CANCELLED
    assert [call["method"] for call in simulator.journal(endpoint="cancel")] == ["DELETE"]


def test_upload_puts_the_bytes_with_the_matching_content_type_and_returns_the_public_url(backend, simulator) -> None:
    data = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

    public_url = backend.upload_file(data, file_type="png")

    [ask] = simulator.journal(endpoint="upload_url")
    [put] = simulator.journal(endpoint="upload")
    assert ask["body"] == {"file_type": "png"}
    assert (put["method"], put["content_type"], put["body_bytes"], put["status"]) == (
        "PUT",
        "image/png",
        len(data),
        200,
    )
    assert put["auth_scheme"] is None  # the key never travels to the storage host
    fetched = requests.get(public_url, timeout=5)
    assert fetched.content == data and fetched.headers["Content-Type"] == "image/png"


@pytest.mark.parametrize(
    ("file_type", "content_type"),
    [("jpg", "image/jpeg"), ("jpeg", "image/jpeg"), ("mp4", "video/mp4"), ("mp3", "audio/mpeg"), ("wav", "audio/wav")],
)
def test_upload_sends_the_content_type_of_each_file_type(backend, simulator, file_type, content_type) -> None:
    backend.upload_file(b"data", file_type=file_type)

    assert simulator.journal(endpoint="upload")[0]["content_type"] == content_type


def test_upload_of_an_unsupported_type_is_refused_before_sending(backend, simulator) -> None:
    with pytest.raises(InvalidRequest):
        backend.upload_file(b"GIF89a", file_type="gif")

    assert simulator.journal() == []


def test_expired_upload_url_is_refused_as_rejected_not_as_bad_key(backend, simulator) -> None:
    simulator.set_fault("expired_urls", endpoints=["upload_url"])

    with pytest.raises(UpstreamRejected) as caught:
        backend.upload_file(b"data", file_type="png")

    assert not isinstance(caught.value, AuthenticationFailed)
    assert caught.value.status_code == 403
    assert "storage refused the upload" in caught.value.message
    assert "sig=" not in caught.value.message  # a pre-signed URL's query is a credential too


def test_invalid_base_url_is_a_configuration_error_outside_gmi_errors() -> None:
    misconfigured = RequestQueueBackend(api_key=TEST_API_KEY, base_url="console.gmicloud.ai/api")

    with pytest.raises(GMIConfigurationError) as caught:
        misconfigured.list_models()

    assert not isinstance(caught.value, GMIError)
    assert TEST_API_KEY not in str(caught.value)


def test_backend_repr_shows_the_url_but_not_the_key(backend) -> None:
    assert "127.0.0.1" in repr(backend) and TEST_API_KEY not in repr(backend)
    assert TEST_API_KEY not in repr(backend.http)


# --- the readers, on shapes the simulator does not produce ------------------------------


@pytest.mark.parametrize(
    ("word", "state"),
    [
        ("queued", RemoteState.QUEUED),
        ("pending", RemoteState.QUEUED),
        ("IN_QUEUE", RemoteState.QUEUED),
        ("dispatched", RemoteState.DISPATCHED),
        ("processing", RemoteState.PROCESSING),
        ("Running", RemoteState.PROCESSING),
        ("in-progress", RemoteState.PROCESSING),
        ("success", RemoteState.SUCCEEDED),
        ("succeeded", RemoteState.SUCCEEDED),
        ("COMPLETED", RemoteState.SUCCEEDED),
        ("done", RemoteState.SUCCEEDED),
        ("failed", RemoteState.FAILED),
        ("error", RemoteState.FAILED),
        ("cancelled", RemoteState.CANCELLED),
        ("canceled", RemoteState.CANCELLED),
        ("warming_up", RemoteState.UNKNOWN),
        ("", RemoteState.UNKNOWN),
        (None, RemoteState.UNKNOWN),
    ],
)
def test_status_words_are_normalized(word, state) -> None:
    assert normalize_status(word) is state


@pytest.mark.parametrize(
    ("outcome", "videos", "thumbnail"),
    [
        (
            {"video_url": "https://g.com/v.mp4", "thumbnail_image_url": "https://g.com/t.jpg"},
            ("https://g.com/v.mp4",),
            "https://g.com/t.jpg",
        ),
        (
            {"video": {"url": "https://g.com/v.mp4"}, "thumbnail_url": "https://g.com/t.png", "seed": 3},
            ("https://g.com/v.mp4",),
            "https://g.com/t.png",
        ),
        ({"video": "https://g.com/v.mp4"}, ("https://g.com/v.mp4",), None),
        (
            {"media_urls": [{"id": "0", "url": "https://g.com/a.mp4"}, {"id": "1", "url": "https://g.com/b.mp4"}]},
            ("https://g.com/a.mp4", "https://g.com/b.mp4"),
            None,
        ),
        (
            {"media_urls": ["https://g.com/a.mp4?X-Goog-Signature=1", "https://g.com/t.jpeg?sig=2"]},
            ("https://g.com/a.mp4?X-Goog-Signature=1",),
            "https://g.com/t.jpeg?sig=2",
        ),
        (
            {"media_urls": [{"url": "https://g.com/x", "type": "image"}, {"url": "https://g.com/y"}]},
            ("https://g.com/y",),
            "https://g.com/x",
        ),
        ({"media_urls": [None, 3, {"id": "0"}, "not a url"]}, (), None),
        (["https://g.com/v.mp4"], ("https://g.com/v.mp4",), None),
        (None, (), None),
        ("garbage", (), None),
    ],
    ids=[
        "flat",
        "nested-video",
        "video-string",
        "envelope-objects",
        "envelope-strings",
        "type-hints",
        "junk-entries",
        "bare-list",
        "none",
        "string",
    ],
)
def test_outcome_shapes_are_read_tolerantly(outcome, videos, thumbnail) -> None:
    assert outcome_media(outcome) == (videos, thumbnail)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1735689600, datetime(2025, 1, 1, tzinfo=UTC)),
        (1735689600.5, datetime(2025, 1, 1, 0, 0, 0, 500000, tzinfo=UTC)),
        ("1735689600", datetime(2025, 1, 1, tzinfo=UTC)),
        (1735689600000, datetime(2025, 1, 1, tzinfo=UTC)),
        ("2025-01-01T00:00:00Z", datetime(2025, 1, 1, tzinfo=UTC)),
        ("2025-01-01T02:00:00+02:00", datetime(2025, 1, 1, tzinfo=UTC)),
        ("2025-01-01T00:00:00", datetime(2025, 1, 1, tzinfo=UTC)),
        ("yesterday", None),
        ("", None),
        (None, None),
        (True, None),
        ({"seconds": 1}, None),
    ],
)
def test_times_are_parsed_from_epoch_or_iso(value, expected) -> None:
    parsed = parse_time(value)

    assert parsed == expected
    assert parsed is None or parsed.tzinfo is not None


@pytest.mark.parametrize(
    ("header", "expected"),
    [("12", 12.0), ("1.5", 1.5), ("-3", 0.0), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0), ("soon", None), (None, None)],
)
def test_retry_after_is_read_as_seconds_or_http_date(header, expected) -> None:
    assert parse_retry_after(header) == expected


@pytest.mark.parametrize("key", ["requests", "data", "items"])
def test_list_answers_are_accepted_bare_or_wrapped(key) -> None:
    assert list_in([1, 2], "requests", "data", "items") == [1, 2]
    assert list_in({key: [1, 2], "total": 2}, "requests", "data", "items") == [1, 2]
    with pytest.raises(UpstreamUnavailable):
        list_in({"unexpected": []}, "requests", "data", "items")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("The request violates content policy", ErrorCode.CONTENT_POLICY),
        ("flagged by the SAFETY system", ErrorCode.CONTENT_POLICY),
        ("Video generation failed: out of memory", ErrorCode.GENERATION_FAILED),
        ("", ErrorCode.GENERATION_FAILED),
    ],
)
def test_failure_text_is_classified_once_for_every_caller(text, code) -> None:
    assert failure_code(text) is code


def test_every_error_class_has_its_own_code_and_an_instance_may_refine_it() -> None:
    from generations.gmi import errors

    classes = [errors.UpstreamUnavailable, errors.RateLimited, errors.UpstreamRejected, errors.InvalidRequest,
               errors.ContentPolicyRefused, errors.AuthenticationFailed, errors.UpstreamNotFound]
    assert len({cls.code for cls in classes}) == len(classes)
    refined = UpstreamUnavailable("cut-off JSON", code=ErrorCode.BAD_RESPONSE)
    assert (refined.code, UpstreamUnavailable("x").code, refined.reason) == (
        ErrorCode.BAD_RESPONSE, ErrorCode.UNAVAILABLE, ""
    )
