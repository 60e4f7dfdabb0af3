"""Fixtures for tests that call the REST API as a member: a token-bearing client and the model they submit to."""
from __future__ import annotations

import pytest

from generations.services import tokens
from tests.helpers.factories import VideoModelFactory


@pytest.fixture
def member(api_client, user):
    """``user``, with ``api_client`` carrying a bearer token of theirs."""
    _, key = tokens.create_token(user=user, name="tests")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return user


@pytest.fixture
def veo(db):
    """The model "Veo3" (no catalogue sync: the API tests need no simulator for it)."""
    return VideoModelFactory(id="Veo3")
