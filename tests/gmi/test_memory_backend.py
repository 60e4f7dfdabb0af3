"""The in-memory backend a host site's tests select with GENERATIONS["API"] = "memory": no HTTP, no key."""
from __future__ import annotations

import io

import pytest

from generations import media
from generations.client import get_client
from generations.gmi.errors import UpstreamNotFound
from generations.gmi.objects import RemoteState
from generations.gmi.testing import MODEL_ID, InMemoryBackend
from tests.helpers.settings import override_generations


@pytest.fixture
def memory():
    InMemoryBackend.reset()
    with override_generations(API="memory", API_KEY="", BASE_URL=None):
        yield get_client()
    InMemoryBackend.reset()


def test_it_is_chosen_by_name_and_needs_no_key(memory):
    assert isinstance(memory, InMemoryBackend)
    assert memory.list_models() == [MODEL_ID]
    assert [p["name"] for p in memory.get_model(MODEL_ID).parameters] == ["prompt", "duration"]
    with pytest.raises(UpstreamNotFound):
        memory.get_model("Veo3")


def test_a_job_moves_one_step_per_poll_to_outcomes_whose_bytes_are_a_valid_video_and_image(memory):
    job = memory.create_request(MODEL_ID, {"prompt": "a lighthouse"})
    assert job.request_id and job.state is RemoteState.QUEUED and job.video_url is None
    states = [memory.get_request(job.request_id).state for _ in range(3)]
    assert states == [RemoteState.PROCESSING, RemoteState.SUCCEEDED, RemoteState.SUCCEEDED]
    done = memory.get_request(job.request_id)
    assert done.video_url and done.thumbnail_url
    video, thumbnail = memory.open_outcome(done.video_url), memory.open_outcome(done.thumbnail_url)
    media.verify(io.BytesIO(video), "mp4")
    media.verify(io.BytesIO(thumbnail), "jpeg")
    assert memory.open_outcome("https://example.com/video.mp4") is None  # anything else is downloaded
    assert [j.request_id for j in memory.list_requests(MODEL_ID)] == [job.request_id]


def test_a_prompt_asking_to_fail_fails_and_a_cancelled_job_stays_cancelled(memory):
    failing = memory.create_request(MODEL_ID, {"prompt": "FAIL now"})
    for _ in range(2):
        result = memory.get_request(failing.request_id)
    assert result.state is RemoteState.FAILED and result.error and result.error_code is not None
    cancelled = memory.create_request(MODEL_ID, {"prompt": "stop"})
    memory.cancel_request(cancelled.request_id)
    assert memory.get_request(cancelled.request_id).state is RemoteState.CANCELLED
    with pytest.raises(UpstreamNotFound):
        memory.get_request("mem-unknown")
