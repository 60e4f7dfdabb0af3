"""The staff's system page: engines, shards, the upstream pause, the queue, webhooks and storage, for a person."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from generations.models import DispatchLock, EngineBeat, EngineShard
from tests.helpers.factories import GenerationFactory

pytestmark = pytest.mark.django_db


def test_system_page_shows_engines_shards_pause_queue_and_storage(staff_client):
    now = timezone.now()
    EngineBeat.objects.create(owner="engine-7f3a", cluster="web-1:42", beat_at=now, started_at=now)
    EngineBeat.objects.create(owner="engine-gone", cluster="web-2:9", beat_at=now - timedelta(minutes=3),
                              started_at=now - timedelta(hours=1))
    EngineShard.objects.bulk_create([EngineShard(shard=i, owner="engine-7f3a", beat_at=now) for i in range(12)])
    DispatchLock.objects.create(name="dispatch", paused_until=now + timedelta(seconds=45))
    GenerationFactory(created_at=now - timedelta(seconds=90))
    GenerationFactory(succeeded=True, video_size=5 * 1024 * 1024)

    response = staff_client.get(reverse("admin:generations_system"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "engine-7f3a" in html and "web-1:42" in html
    assert re.search(r"engine-7f3a.*?<td class=\"num\">12</td>", html, re.S)
    assert "silent" in html  # the engine that stopped beating
    assert "Paused until" in html and "429" in html
    assert "5.0\xa0MB" in html
    assert response.context["figures"]["queue_depth"] == 1
    body = html.split('id="content"', 1)[1]
    assert "<script" not in body and "style=" not in body and "<style" not in body


def test_system_page_is_linked_from_the_admin_index(staff_client):
    assert reverse("admin:generations_system") in staff_client.get(reverse("admin:index")).content.decode()


def test_members_cannot_open_the_system_page(client, user):
    client.force_login(user)
    response = client.get(reverse("admin:generations_system"))
    assert response.status_code == 302  # to the admin's log-in, as every admin page
