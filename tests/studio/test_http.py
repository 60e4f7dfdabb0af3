"""The studio's API over real HTTP (a live server, the simulator as GMI): batches whole or not at all, at once."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db import connection

from generations.models import Batch, Generation, UsageCounter, UserProfile
from generations.services import tokens
from tests.helpers.factories import UserFactory
from tests.helpers.lifecycle import drive

pytestmark = pytest.mark.django_db(transaction=True)


def session_for(user) -> requests.Session:
    _, key = tokens.create_token(user=user)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"
    return session


def items(n):
    return [{"model": "Veo3", "payload": {"prompt": f"take {i}"}} for i in range(n)]


def test_batches_over_http_are_whole_idempotent_and_run_to_the_end(live_server, catalogue):
    user = UserFactory(username="studio-http")
    UserProfile.objects.create(user=user, daily_jobs=2)
    http = session_for(user)
    url = f"{live_server.url}/api/v1/generations/batch/"

    refused = http.post(url, json={"items": items(3)}, timeout=30)
    assert refused.status_code == 429 and refused.json()["code"] == "quota_exceeded"
    assert not Generation.objects.exists() and not Batch.objects.exists()

    first = http.post(url, json={"items": items(2)}, headers={"Idempotency-Key": "http-1"}, timeout=30)
    again = http.post(url, json={"items": items(2)}, headers={"Idempotency-Key": "http-1"}, timeout=30)
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"] and Generation.objects.count() == 2

    for generation in Generation.objects.filter(batch_id=first.json()["id"]):
        drive(generation)
    progress = http.get(f"{live_server.url}/api/v1/batches/{first.json()['id']}/", timeout=30).json()
    assert progress["counts"]["succeeded"] == 2
    video = http.get(progress["generations"][0]["video_url"], headers={"Range": "bytes=0-7"}, timeout=30)
    assert video.status_code == 206 and video.content[4:8] == b"ftyp"


@pytest.mark.postgres
def test_twenty_concurrent_batches_over_http_accept_exactly_what_fits(live_server, no_auto_dispatch):
    if connection.vendor != "postgresql":
        pytest.skip("the live server's threads share one SQLite test database connection")
    from tests.helpers.factories import VideoModelFactory

    VideoModelFactory(id="Veo3")
    user = UserFactory(username="studio-racer")
    UserProfile.objects.create(user=user, daily_jobs=10)
    http = session_for(user)
    url = f"{live_server.url}/api/v1/generations/batch/"
    with ThreadPoolExecutor(max_workers=20) as pool:
        # One connection each (a Session is not meant to be shared by threads).
        answers = list(pool.map(lambda _: requests.post(url, json={"items": items(3)}, headers=dict(http.headers),
                                                        timeout=60), range(20)))
    codes = sorted(a.status_code for a in answers)
    assert codes == [201] * 3 + [429] * 17, codes
    assert Generation.objects.filter(owner=user).count() == 9
    assert UsageCounter.objects.get(user=user, metric="daily_jobs").used == 9
