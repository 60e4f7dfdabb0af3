"""Frames: a frame of a real mirrored MP4, decoded with PyAV, uploaded as PNG, accepted as the next job's image."""
from __future__ import annotations

import io

import av
import pytest
import requests
from PIL import Image

from generations.models import Generation, Upload
from generations.services.mirroring import generation_storage
from tests.helpers.factories import GenerationFactory, UserFactory
from tests.helpers.lifecycle import drive
from tests.helpers.media import mirrored_generation

API = "/api/v1"


def frame(client, generation, **body):
    return client.post(f"{API}/generations/{generation.pk}/frames/", body, format="json")


def video_size(generation) -> tuple[int, int]:
    with generation_storage().open(generation.video_name, "rb") as handle, av.open(handle) as container:
        stream = container.streams.video[0]
        return stream.codec_context.width, stream.codec_context.height


@pytest.mark.django_db(transaction=True)  # mirroring starts after commit
def test_the_last_frame_of_a_real_video_is_a_png_of_its_size_and_starts_the_next_job(api_client, member, catalogue):
    created = api_client.post(f"{API}/generations/", {"model": "Veo3", "payload": {
        "prompt": "a paper boat drifting", "aspectRatio": "9:16"}}, format="json")
    assert created.status_code == 201, created.json()
    generation = drive(Generation.objects.get(pk=created.json()["id"]))
    assert generation.status == "succeeded", generation.error
    width, height = video_size(generation)

    response = frame(api_client, generation, at="last")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["file_type"] == "png" and (body["width"], body["height"]) == (width, height)
    png = requests.get(body["url"], timeout=5).content  # GMI's public URL serves what was uploaded
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (width, height)
    [put] = catalogue.journal(endpoint="upload")
    assert put["content_type"] == "image/png" and put["body_bytes"] == len(png)
    assert Upload.objects.get(user=member).public_url == body["url"]

    follow = api_client.post(f"{API}/generations/", {"model": "Kling-Image2Video-V2.1-Master", "payload": {
        "prompt": "the boat sails on", "image_url": body["url"]}}, format="json")
    assert follow.status_code == 201, follow.json()
    assert drive(Generation.objects.get(pk=follow.json()["id"])).status == "succeeded"


@pytest.mark.django_db
def test_a_frame_at_a_time_is_the_one_shown_then_and_times_past_the_end_are_refused(api_client, member, gmi):
    generation = mirrored_generation(owner=member, aspect="1:1")
    first = frame(api_client, generation, at=0)
    assert first.status_code == 201 and (first.json()["width"], first.json()["height"]) == (240, 240)
    assert first.json()["at"] == 0
    middle = frame(api_client, generation, at=1.5).json()
    assert middle["at"] == pytest.approx(1.5, abs=1 / 12)
    assert requests.get(middle["url"], timeout=5).content != requests.get(first.json()["url"], timeout=5).content
    past = frame(api_client, generation, at=60)
    assert past.status_code == 400 and "at" in past.json()["errors"]
    for bad in (-1, "soon", True):
        assert frame(api_client, generation, at=bad).status_code == 400


@pytest.mark.django_db
def test_no_frame_before_the_video_is_mirrored(api_client, member, gmi):
    running = GenerationFactory(owner=member, processing=True)
    response = frame(api_client, running, at="last")
    assert response.status_code == 400 and response.json()["code"] == "no_video"
    assert gmi.journal(endpoint="upload_url") == []


@pytest.mark.django_db
def test_someone_who_cannot_see_the_video_gets_404(api_client, member, gmi):
    theirs = mirrored_generation(owner=UserFactory())
    assert frame(api_client, theirs).status_code == 404
