"""Mirroring into S3 (django-storages against a local moto server) and serving by signed redirect."""
from __future__ import annotations

import pytest
import requests
from django.core.files.storage import storages

from generations.models import Generation
from generations.services import submissions, tokens
from tests.helpers.factories import UserFactory
from tests.helpers.lifecycle import drive
from tests.helpers.s3 import moto_bucket

pytestmark = pytest.mark.django_db(transaction=True)

BUCKET = "portal-videos"


@pytest.fixture(scope="module")
def s3_server():
    with moto_bucket(BUCKET) as endpoint:
        yield endpoint


@pytest.fixture
def s3_storage(s3_server, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "generations": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET, "endpoint_url": s3_server, "access_key": "test", "secret_key": "test",
                "region_name": "us-east-1", "querystring_auth": True, "querystring_expire": 300,
                "signature_version": "s3v4", "addressing_style": "path", "default_acl": None,
                "file_overwrite": False,
            },
        },
    }
    storages._storages = {}
    yield storages["generations"]
    storages._storages = {}


def test_finished_video_is_mirrored_into_s3_and_served_by_signed_redirect(catalogue, s3_storage, client):
    user = UserFactory()
    generation = drive(submissions.submit_generation(user=user, model_id="Veo3", payload={"prompt": "tide pools"}))
    assert generation.status == Generation.Status.SUCCEEDED, generation.error
    upstream = requests.get(generation.outcome_video_url, timeout=5).content
    with s3_storage.open(generation.video_name, "rb") as handle:
        assert handle.read() == upstream
    _, key = tokens.create_token(user=user)
    response = client.get(f"/api/v1/generations/{generation.pk}/video/", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 302
    location = response["Location"]
    assert "X-Amz-Signature=" in location and "X-Amz-Expires=300" in location
    assert requests.get(location, timeout=5).content == upstream
    stranger = UserFactory()
    _, other_key = tokens.create_token(user=stranger)
    response = client.get(f"/api/v1/generations/{generation.pk}/video/", HTTP_AUTHORIZATION=f"Bearer {other_key}")
    assert response.status_code == 404
