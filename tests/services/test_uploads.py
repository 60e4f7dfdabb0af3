"""Reference uploads: the type is decided by content, size caps hold, bytes reach GMI's upload URL."""
from __future__ import annotations

import io

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from generations.models import Generation, Upload
from generations.services import submissions, tokens
from tests.helpers.factories import UserFactory
from tests.helpers.lifecycle import drive
from tests.helpers.settings import override_generations

pytestmark = pytest.mark.django_db(transaction=True)


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 18), (200, 40, 90)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def client_with_token(client):
    user = UserFactory()
    _, key = tokens.create_token(user=user)
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    client.user = user
    return client


def upload(client, name, data, content_type):
    return client.post("/api/v1/uploads/", {"file": SimpleUploadedFile(name, data, content_type=content_type)})


def test_png_named_like_a_text_file_is_accepted_by_content_and_reaches_gmi(gmi, client_with_token):
    data = png_bytes()
    response = upload(client_with_token, "notes.txt", data, "text/plain")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["file_type"] == "png" and body["size"] == len(data)
    [put] = gmi.journal(endpoint="upload")
    assert put["method"] == "PUT" and put["content_type"] == "image/png" and put["body_bytes"] == len(data)
    assert requests.get(body["url"], timeout=5).content == data  # the public URL serves the same bytes
    assert Upload.objects.get(user=client_with_token.user).sha256


@pytest.mark.parametrize("name, data, content_type", [
    ("photo.png", b"#!/bin/sh\necho not an image\n", "image/png"),
    ("clip.mp4", b"\x00\x00\x00\x18notftypatall" + b"\x00" * 40, "video/mp4"),
    ("doc.pdf", b"%PDF-1.7\n" + b"x" * 100, "application/pdf"),
    ("truncated.png", png_bytes()[:40], "image/png"),
])
def test_files_that_are_not_an_allowed_type_are_refused_and_nothing_is_sent(gmi, client_with_token, name, data,
                                                                               content_type):
    response = upload(client_with_token, name, data, content_type)
    assert response.status_code == 400
    assert response.json()["code"] == "upload_rejected" and response.json()["detail"]
    assert gmi.journal(endpoint="upload_url") == [] and gmi.journal(endpoint="upload") == []


def test_size_cap_per_kind_is_enforced(gmi, client_with_token):
    with override_generations(UPLOAD_MAX_BYTES={"image": 100}):
        response = upload(client_with_token, "big.png", png_bytes() + b"\x00" * 200, "image/png")
    assert response.status_code == 413, response.content
    assert response.json()["code"] == "file_too_large" and "at most" in response.json()["detail"]
    assert gmi.journal(endpoint="upload_url") == []


def test_uploaded_public_url_is_used_in_a_job(catalogue, client_with_token):
    url = upload(client_with_token, "frame.png", png_bytes(), "image/png").json()["url"]
    generation = submissions.submit_generation(
        user=client_with_token.user, model_id="Kling-Image2Video-V2.1-Master",
        payload={"prompt": "the frame comes alive", "image_url": url},
    )
    generation = drive(generation)
    assert generation.status == Generation.Status.SUCCEEDED, generation.error
    [create] = catalogue.journal(endpoint="create")
    assert create["body"]["payload"]["image_url"] == url


def test_legacy_api_has_no_uploads_and_says_to_paste_a_url(gmi_legacy, client_with_token):
    response = upload(client_with_token, "frame.png", png_bytes(), "image/png")
    assert response.status_code == 400 and response.json()["code"] == "upload_not_supported"
    assert gmi_legacy.journal() == []
