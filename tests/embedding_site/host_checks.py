"""Checks run inside the host site (tests/embedding_site/settings.py); started by tests/test_embedding.py."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core import checks
from django.test import Client, override_settings

from generations import signals
from generations.models import VideoModel
from generations.services import tokens

pytestmark = pytest.mark.django_db


@pytest.fixture
def member():
    return get_user_model().objects.create_user("ada@example.com", "pw-12345678")


@pytest.fixture
def model():
    return VideoModel.objects.create(id="Veo3", parameters=[{"name": "prompt", "type": "string", "required": True}])


def test_system_checks_pass_for_the_host():
    errors = [m for m in checks.run_checks() if m.level >= checks.ERROR]
    assert errors == []


def test_unknown_generations_key_is_a_system_check_error():
    with override_settings(GENERATIONS={"API_KEY": "x", "POLL_INTERVALL": 3}):
        ids = [m.id for m in checks.run_checks()]
    assert "generations.E002" in ids


def test_anonymous_visitor_is_sent_to_the_hosts_login_url():
    response = Client().get("/studio/")
    assert response.status_code == 302 and response["Location"].startswith("/signin/?next=/studio/")


def test_pages_render_inside_the_hosts_base_template(member, model):
    client = Client()
    client.force_login(member)
    for url in ("/studio/", "/studio/generations/new/?model=Veo3", "/studio/usage/", "/studio/tokens/",
                "/studio/teams/"):
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert "HOST-SITE-FRAME" in html, url
        assert 'href="/studio/' in html


def test_api_works_under_the_prefix_with_a_custom_user_model(member, model, monkeypatch,
                                                             django_capture_on_commit_callbacks):
    from generations import queue

    monkeypatch.setattr(queue, "enqueue_dispatch", lambda: None)  # this host has no GMI to talk to
    received = []
    signals.generation_submitted.connect(lambda sender, generation, **kw: received.append(generation),
                                         dispatch_uid="host-test", weak=False)
    _, key = tokens.create_token(user=member)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/studio/api/v1/generations/", {"model": "Veo3", "payload": {"prompt": "hi"}},
                               content_type="application/json")
    assert response.status_code == 201, response.content
    assert [str(g.pk) for g in received] == [response.json()["id"]]  # the host's receiver heard it
    body = response.json()
    assert body["owner"] == "ada@example.com"
    assert client.get(f"/studio/api/v1/generations/{body['id']}/").status_code == 200
    other = get_user_model().objects.create_user("bo@example.com", "pw-12345678")
    created = client.post("/studio/api/v1/teams/", {"name": "Lab"}, content_type="application/json").json()
    added = client.post(f"/studio/api/v1/teams/{created['slug']}/members/",
                        {"username": other.email, "role": "member"}, content_type="application/json")
    assert added.status_code == 202 and added.json()["username"] == "bo@example.com"
    bo = Client(HTTP_AUTHORIZATION=f"Bearer {tokens.create_token(user=other)[1]}")
    invitation = bo.get("/studio/api/v1/invitations/").json()[0]
    joined = bo.post(f"/studio/api/v1/invitations/{invitation['id']}/accept/")
    assert joined.status_code == 200 and joined.json()["slug"] == created["slug"]


def test_notifications_reach_a_member_of_the_host_with_its_own_user_model(member, model):
    from django.core import mail

    from generations.models import Notification
    from generations.services.notifications import delivery as notification_delivery

    Notification.objects.create(recipient=member, kind="generation_succeeded", title="Your video is ready",
                                link="/studio/usage/", email_status="pending", email_due_at="2020-01-01T00:00:00Z")
    client = Client()
    client.force_login(member)
    html = client.get("/studio/").content.decode()
    assert 'href="/studio/notifications/"' in html and "data-bell-count>1<" in html
    assert client.get("/studio/api/v1/notifications/").json()["unread"] == 1
    assert notification_delivery.send_pending_emails()["emails"] == 1
    assert mail.outbox[0].to == ["ada@example.com"]
    assert "/studio/notifications/unsubscribe/" in mail.outbox[0].body


def test_a_host_runs_a_job_to_a_mirrored_video_with_the_in_memory_backend_and_no_http(member):
    from generations import testing
    from generations.gmi.testing import MODEL_ID, InMemoryBackend
    from generations.models import Generation
    from generations.services import catalogue, submissions

    InMemoryBackend.reset()
    # No API key, no base URL, no simulator: the backend sends nothing.
    with override_settings(GENERATIONS={"BACKEND": "generations.gmi.testing.InMemoryBackend",
                                        "BASE_TEMPLATE": "host/base.html"}):
        catalogue.sync_models()
        generation = submissions.submit_generation(user=member, model_id=MODEL_ID,
                                                   payload={"prompt": "a lighthouse in a storm"})
        counts = testing.run_jobs()
        generation.refresh_from_db()
        assert generation.status == Generation.Status.SUCCEEDED, (generation.status, generation.error)
        assert generation.upstream_request_id in InMemoryBackend.jobs
        assert counts["sent"] == 1 and counts["mirrored"] == 1
        assert generation.video_size > 0 and generation.video_content_type == "video/mp4"
        assert generation.thumbnail_name
        client = Client()
        client.force_login(member)
        video = client.get(f"/studio/api/v1/generations/{generation.pk}/video")
        assert video.status_code == 200
        assert b"ftyp" in b"".join(video.streaming_content)[:16]

        failing = submissions.submit_generation(user=member, model_id=MODEL_ID, payload={"prompt": "FAIL please"})
        testing.run_jobs()
        failing.refresh_from_db()
        assert failing.status == Generation.Status.FAILED
