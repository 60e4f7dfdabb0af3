"""File and URL parameters (an image to animate, frames, reference lists) that point at addresses GMI must
never be sent to: private, loopback, link-local, metadata, carrier-grade NAT, or not http(s). Refused at
validation, per field, before GMI sees anything."""
from __future__ import annotations

import pytest

from generations.exceptions import PayloadInvalid
from generations.models import Generation
from generations.services import submissions
from tests.helpers.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("public_dns")]

I2V = "Kling-Image2Video-V2.1-Master"
TRANSITION = "PixVerse-V4.5-Transition"

NOT_PUBLIC = [
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://127.0.0.1:8000/admin/",
    "http://localhost/x.png",
    "http://10.1.2.3/x.png",
    "http://192.168.0.10/x.png",
    "http://100.64.0.1/x.png",
    "http://[::1]/x.png",
    "http://[::ffff:127.0.0.1]/x.png",
    "http://0.0.0.0/x.png",
    "https://files.internal.example/x.png",  # a name that resolves to a private address
    "https://no-such-name.invalid/x.png",  # resolves nowhere here: GMI might resolve it inward
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_FLUSHALL",
    "ftp://example.com/x.png",
]


@pytest.mark.parametrize("url", NOT_PUBLIC)
def test_a_non_public_image_url_is_a_field_error_and_never_reaches_gmi(catalogue, url):
    catalogue.clear_journal()
    with pytest.raises(PayloadInvalid) as refused:
        submissions.submit_generation(user=UserFactory(), model_id=I2V,
                                      payload={"prompt": "the frame comes alive", "image_url": url})
    assert set(refused.value.errors) == {"image_url"}
    assert catalogue.journal(endpoint="create") == [] and Generation.objects.count() == 0


def test_each_frame_and_each_item_of_a_list_is_checked_and_named(catalogue):
    with pytest.raises(PayloadInvalid) as refused:
        submissions.submit_generation(user=UserFactory(), model_id=TRANSITION, payload={
            "prompt": "morph", "first_frame": "https://cdn.example.com/1.png",
            "last_frame": "http://169.254.169.254/latest/meta-data/",
            "reference_images": ["https://cdn.example.com/a.png", "http://10.0.0.1/b.png"]})
    errors = refused.value.errors
    assert set(errors) == {"last_frame", "reference_images"}
    assert "public" in errors["last_frame"][0]
    assert errors["reference_images"][0].startswith("Item 2:") and len(errors["reference_images"]) == 1


def test_the_api_answers_400_by_field_and_quotes_nothing(catalogue, api_client):
    user = UserFactory()
    api_client.force_authenticate(user)
    body = {"model": I2V, "payload": {"prompt": "x", "image_url": "http://169.254.169.254/latest/meta-data/"}}
    for path in ("/api/v1/generations/", "/api/v1/generations/quote/"):
        response = api_client.post(path, body, format="json")
        assert response.status_code == 400 and response.json()["code"] == "invalid_payload"
        assert "image_url" in response.json()["errors"]["payload"]
    assert catalogue.journal(endpoint="create") == []


def test_public_urls_and_gmis_own_storage_are_accepted(catalogue):
    for url in ("https://cdn.example.com/cat.png", "https://93.184.215.14/cat.png",
                f"http://127.0.0.1:{catalogue.port}/files/cat.png"):  # the simulator stands for GMI's storage
        generation = submissions.submit_generation(user=UserFactory(), model_id=I2V,
                                                   payload={"prompt": "cat", "image_url": url})
        assert generation.payload["image_url"] == url
