"""Fixtures of the operations tests: the generations storage on local disk and on S3 (a local moto server)."""
from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.utils import timezone

from generations.models import Generation
from tests.helpers.factories import GenerationFactory
from tests.helpers.s3 import moto_bucket

BUCKET = "portal-operations"


@pytest.fixture(scope="module")
def s3_server():
    with moto_bucket(BUCKET) as endpoint:
        yield endpoint


def s3_settings(endpoint: str) -> dict:
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": BUCKET, "endpoint_url": endpoint, "access_key": "test", "secret_key": "test",
            "region_name": "us-east-1", "querystring_auth": True, "querystring_expire": 300,
            "signature_version": "s3v4", "addressing_style": "path", "default_acl": None, "file_overwrite": False,
        },
    }


@pytest.fixture(params=["local", "s3"])
def any_storage(request, settings, isolated_storage):
    """The generations storage, once on local disk and once on S3."""
    if request.param == "s3":
        endpoint = request.getfixturevalue("s3_server")
        settings.STORAGES = {**settings.STORAGES, "generations": s3_settings(endpoint)}
    storages._storages = {}
    yield storages["generations"]
    storages._storages = {}


def stored_generation(*, finished_days_ago: float = 0, size: int = 2048, **fields) -> Generation:
    """A succeeded generation whose video and thumbnail really are in the generations storage."""
    storage = storages["generations"]
    video = bytes(range(256)) * (size // 256) + b"v" * (size % 256)
    video_name = storage.save(f"tests/{timezone.now().timestamp()}-video.mp4", ContentFile(video))
    thumbnail_name = storage.save(f"tests/{timezone.now().timestamp()}-thumb.jpg", ContentFile(b"\xff\xd8thumb"))
    finished = timezone.now() - timedelta(days=finished_days_ago)
    return GenerationFactory(
        succeeded=True, video_name=video_name, video_size=len(video), video_sha256=hashlib.sha256(video).hexdigest(),
        thumbnail_name=thumbnail_name, thumbnail_size=7, thumbnail_content_type="image/jpeg",
        finished_at=finished, created_at=finished - timedelta(minutes=2), **fields,
    )
