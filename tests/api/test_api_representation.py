"""The generation's hand-written API representation says exactly what its declared serializer fields say."""
from __future__ import annotations

import json

import pytest
from rest_framework import serializers as drf
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient, APIRequestFactory

from generations.api.serializers import GenerationSerializer
from generations.models import Generation
from tests.helpers.factories import GenerationFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def as_json(data):
    return json.loads(JSONRenderer().render(data))


@pytest.mark.parametrize("kind", ["queued", "succeeded", "rejected", "team", "rerun"])
def test_the_fast_representation_equals_the_declared_fields(kind):
    owner = UserFactory()
    extra = {}
    if kind == "succeeded":
        extra = {"status": Generation.Status.SUCCEEDED, "video_name": "a/b.mp4", "video_size": 10,
                 "video_sha256": "0" * 64, "video_content_type": "video/mp4", "thumbnail_name": "a/b.jpg"}
    if kind == "rejected":
        extra = {"moderation": Generation.Moderation.REJECTED, "moderation_reason": "not allowed"}
    if kind == "team":
        extra = {"team": TeamFactory(), "visibility": Generation.Visibility.TEAM}
    if kind == "rerun":
        extra = {"rerun_of": GenerationFactory(owner=owner)}
    generation = GenerationFactory(owner=owner, **extra)
    request = APIRequestFactory().get("/api/v1/generations/")
    request.user = owner
    serializer = GenerationSerializer(generation, context={"request": request})
    declared = drf.ModelSerializer.to_representation(serializer, generation)
    if generation.moderation != Generation.Moderation.REJECTED:
        declared["moderation_reason"] = ""
    assert as_json(serializer.to_representation(generation)) == as_json(declared)


@pytest.mark.parametrize("kind", ["queued", "succeeded"])
def test_a_webhook_body_shows_the_generation_exactly_as_the_rest_api_answers_its_owner(kind, settings):
    from generations.services.webhooks.recording import payload_for

    settings.GENERATIONS = {**settings.GENERATIONS, "SITE_URL": "http://testserver"}
    owner = UserFactory()
    extra = {}
    if kind == "succeeded":
        extra = {"status": Generation.Status.SUCCEEDED, "video_name": "a/b.mp4", "video_size": 10,
                 "video_sha256": "0" * 64, "video_content_type": "video/mp4", "thumbnail_name": "a/b.jpg"}
    generation = GenerationFactory(owner=owner, **extra)
    client = APIClient()
    client.force_authenticate(owner)
    answer = client.get(f"/api/v1/generations/{generation.pk}/")
    assert answer.status_code == 200

    body = payload_for(Generation.objects.get(pk=generation.pk), event_type="generation.succeeded",
                       now=generation.created_at)

    assert body["data"] == answer.json()
    if kind == "succeeded":
        assert body["data"]["video_url"].startswith("http://testserver/")
