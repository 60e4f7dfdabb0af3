"""Fixtures of the operations tests: the generations storage on local disk and on S3 (a local moto server)."""
from __future__ import annotations

import pytest
from django.core.files.storage import storages

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
