"""The in-memory backend a host site's tests select with GENERATIONS["BACKEND"]: no HTTP, no key."""
from __future__ import annotations

import io

import pytest

from generations import media
from generations.client import get_client
from generations.gmi.errors import UpstreamNotFound
from generations.gmi.objects import RemoteState
from generations.gmi.testing import MODEL_ID, InMemoryBackend
from tests.helpers.settings import override_generations

MEMORY = "generations.gmi.testing.InMemoryBackend"


@pytest.fixture
def memory():
    InMemoryBackend.reset()
    with override_generations(BACKEND=MEMORY, API_KEY="", BASE_URL=None):
        yield get_client()
    InMemoryBackend.reset()


def test_it_is_chosen_by_its_dotted_path_and_needs_no_key(memory):
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


def _backend_messages():
    from generations.checks import check_generations_settings

    return [m for m in check_generations_settings(None) if m.id in {"generations.E006", "generations.W006"}]


def test_without_backend_the_api_chooses_the_api_generation_and_backend_replaces_it():
    from generations.client import backend_class
    from generations.gmi.legacy import LegacyBackend
    from generations.gmi.requestqueue import RequestQueueBackend

    with override_generations(API="requestqueue", BACKEND=None):
        assert backend_class() is RequestQueueBackend and not _backend_messages()
    with override_generations(API="legacy"):
        assert backend_class() is LegacyBackend and not _backend_messages()
    with override_generations(API="legacy", BACKEND=MEMORY):
        assert backend_class() is InMemoryBackend and not _backend_messages()


def test_the_former_spelling_api_memory_still_works_and_the_check_names_backend():
    InMemoryBackend.reset()
    with override_generations(API="memory", API_KEY="", BASE_URL=None):
        assert isinstance(get_client(), InMemoryBackend)
        [warning] = _backend_messages()
    assert warning.id == "generations.W006" and MEMORY in warning.hint


@pytest.mark.parametrize("path, says", [
    ("generations.gmi.testing.NoSuchBackend", "cannot be imported"),
    ("no_such_package.Backend", "cannot be imported"),
    ("generations.models.Generation", "is not a GMIBackend subclass"),
])
def test_a_backend_path_that_names_no_backend_is_a_configuration_error(path, says):
    from generations.gmi.errors import GMIConfigurationError

    with override_generations(BACKEND=path):
        [error] = _backend_messages()
        with pytest.raises(GMIConfigurationError):
            get_client()
    assert error.id == "generations.E006"
    assert f"GENERATIONS['BACKEND'] = {path!r}" in error.msg and says in error.msg
    assert "dotted path" in error.hint


def test_the_catalogue_files_the_backends_models_under_its_name(memory, db):
    from generations.models import VideoModel
    from generations.services import catalogue

    catalogue.sync_models()
    assert VideoModel.objects.get(pk=MODEL_ID).api == "memory"
