"""Webhooks end to end: events recorded from the lifecycle, signed sends to a local receiver, retries, refusals."""
from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone
from standardwebhooks import Webhook

from generations import downloads
from generations.exceptions import WebhookTargetForbidden
from generations.models import Generation, WebhookDelivery, WebhookEndpoint
from generations.services import moderation, webhooks
from generations.services.lifecycle import transition
from tests.conftest import TEST_API_KEY
from tests.factories import GenerationFactory, UserFactory

S = Generation.Status


class Receiver:
    """A local HTTP receiver on 127.0.0.1: records each request, answers the scripted statuses then 200."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.script: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                code = receiver.script.pop(0) if receiver.script else 200
                self.send_response(code)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(gmi, settings):
    server = Receiver()
    settings.GENERATIONS = {**settings.GENERATIONS, "WEBHOOK_ALLOWED_HOSTS": [f"127.0.0.1:{server.port}"],
                            "SITE_URL": "https://portal.example.com"}
    yield server
    server.close()


def verify(secret: str, request: dict) -> dict:
    headers = {k.lower(): v for k, v in request["headers"].items()}
    return Webhook(secret).verify(request["body"], headers)


def walk_to_success(generation: Generation) -> None:
    for status in (S.DISPATCHED, S.PROCESSING, S.MIRRORING):
        assert transition(generation, status)
    assert transition(generation, S.SUCCEEDED)


@pytest.mark.django_db(transaction=True)
def test_each_event_reaches_the_receiver_once_and_verifies(receiver):
    owner = UserFactory(username="hooked")
    endpoint = webhooks.create_endpoint(user=owner, url=receiver.url, events=list(webhooks.EVENTS))
    done = GenerationFactory(owner=owner, video_name="v.mp4")
    walk_to_success(done)
    failed = GenerationFactory(owner=owner)
    transition(failed, S.FAILED, note="boom")
    cancelled = GenerationFactory(owner=owner)
    transition(cancelled, S.CANCELLED)
    moderation.moderate_generation(generation=done, moderator=UserFactory(staff=True), decision="approve")

    assert webhooks.deliver_due()["succeeded"] == 5
    assert webhooks.deliver_due()["sent"] == 0  # nothing twice
    messages = [verify(endpoint.secret, r) for r in receiver.requests]
    assert sorted((m["type"], m["data"]["id"]) for m in messages) == sorted([
        ("generation.dispatched", str(done.pk)), ("generation.succeeded", str(done.pk)),
        ("generation.failed", str(failed.pk)), ("generation.cancelled", str(cancelled.pk)),
        ("generation.moderated", str(done.pk)),
    ])
    succeeded = next(m["data"] for m in messages if m["type"] == "generation.succeeded")
    assert succeeded["status"] == "succeeded"
    assert succeeded["video_url"] == f"https://portal.example.com/api/v1/generations/{done.pk}/video/"
    assert all(TEST_API_KEY not in r["body"].decode() + json.dumps(r["headers"]) for r in receiver.requests)


@pytest.mark.django_db(transaction=True)
def test_per_submission_webhook_gets_only_the_filtered_events(receiver):
    owner = UserFactory(username="own-hook")
    generation = GenerationFactory(owner=owner, webhook=receiver.url, webhook_events_filter=["generation.failed"])
    transition(generation, S.DISPATCHED)
    transition(generation, S.FAILED)
    webhooks.deliver_due()
    assert len(receiver.requests) == 1
    assert verify(webhooks.submission_secret(owner), receiver.requests[0])["type"] == "generation.failed"


@pytest.mark.django_db(transaction=True)
def test_failing_receiver_gets_the_event_once_more_with_the_same_id(receiver):
    owner = UserFactory(username="flaky")
    endpoint = webhooks.create_endpoint(user=owner, url=receiver.url, events=["generation.cancelled"])
    transition(GenerationFactory(owner=owner), S.CANCELLED)
    receiver.script = [500, 502, 503, 500, 404]
    now = timezone.now()
    for _ in range(12):  # an attempt whenever one is due, the clock moved instead of sleeping
        webhooks.deliver_due(now=now)
        now += timedelta(hours=2)
    assert len(receiver.requests) == 6
    assert len({r["headers"]["webhook-id"] for r in receiver.requests}) == 1
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 6, 200)
    assert delivery.last_response == "ok"
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.failing_since is None


def test_backoff_grows_and_gives_up_after_the_retry_window(db):
    created = timezone.now()
    delivery = WebhookDelivery(event_type="x", message_id="msg_x", payload={}, created_at=created)
    waits = []
    for attempts in range(1, 7):
        delivery.attempts = attempts
        _, at = webhooks._retry(delivery, now=created)
        waits.append((at - created).total_seconds())
    assert [round(w / b, 1) >= 0.9 for w, b in zip(waits, (5, 30, 120, 600, 3600, 14400), strict=True)] == [True] * 6
    delivery.attempts = 9
    assert webhooks._retry(delivery, now=created + timedelta(hours=25)) == ("gave_up", None)


@pytest.mark.django_db(transaction=True)
def test_410_disables_the_endpoint(receiver):
    owner = UserFactory(username="gone")
    endpoint = webhooks.create_endpoint(user=owner, url=receiver.url, events=["generation.cancelled"])
    receiver.script = [410]
    transition(GenerationFactory(owner=owner), S.CANCELLED)
    webhooks.deliver_due()
    endpoint.refresh_from_db()
    assert not endpoint.enabled and "410" in endpoint.disabled_reason
    transition(GenerationFactory(owner=owner), S.CANCELLED)
    assert webhooks.deliver_due()["sent"] == 0 and len(receiver.requests) == 1


@pytest.mark.django_db(transaction=True)
def test_endpoint_failing_for_days_is_disabled_with_the_reason(receiver):
    owner = UserFactory(username="down")
    endpoint = webhooks.create_endpoint(user=owner, url=receiver.url, events=["generation.cancelled"])
    receiver.script = [500] * 50
    transition(GenerationFactory(owner=owner), S.CANCELLED)
    now = timezone.now()
    webhooks.deliver_due(now=now)
    transition(GenerationFactory(owner=owner), S.CANCELLED)
    WebhookDelivery.objects.filter(attempts=0).update(created_at=now + timedelta(days=3), next_attempt_at=now)
    webhooks.deliver_due(now=now + timedelta(days=3, seconds=1))
    endpoint.refresh_from_db()
    assert not endpoint.enabled and endpoint.disabled_reason.startswith("Failing since")


@pytest.mark.django_db(transaction=True)
def test_rotation_keeps_both_secrets_valid_for_a_day(receiver):
    owner = UserFactory(username="rotator")
    endpoint = webhooks.create_endpoint(user=owner, url=receiver.url, events=["generation.cancelled"])
    old = endpoint.secret
    webhooks.rotate_secret(endpoint=endpoint)
    transition(GenerationFactory(owner=owner), S.CANCELLED)
    webhooks.deliver_due()
    request = receiver.requests[0]
    assert len(request["headers"]["webhook-signature"].split(" ")) == 2
    assert verify(old, request) and verify(endpoint.secret, request)
    later = timezone.now() + timedelta(hours=25)
    assert webhooks.signing_secrets(endpoint, now=later) == [endpoint.secret]


LOOPBACK_DISGUISES = ["http://127.0.0.2/hook", "http://[::ffff:127.0.0.1]/hook", "http://localhost/hook",
                      "http://0.0.0.0/hook", "ftp://example.com/hook", "http://127.0.0.1/hook"]


@pytest.mark.parametrize("url", LOOPBACK_DISGUISES)
def test_loopback_targets_are_refused_at_creation(db, url):
    with pytest.raises(WebhookTargetForbidden):
        webhooks.create_endpoint(user=UserFactory(), url=url, events=["generation.failed"])
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("address", ["10.0.0.5", "169.254.169.254"])
def test_names_resolving_to_private_addresses_are_refused(db, monkeypatch, address):
    monkeypatch.setattr(downloads, "resolve_host", lambda host, port: [address])
    with pytest.raises(WebhookTargetForbidden):
        webhooks.create_endpoint(user=UserFactory(), url="https://hooks.example.net/x", events=["generation.failed"])


@pytest.mark.django_db(transaction=True)
def test_a_name_that_turns_private_later_is_refused_at_delivery(gmi, monkeypatch):
    owner = UserFactory(username="rebound")
    monkeypatch.setattr(downloads, "resolve_host", lambda host, port: ["93.184.215.14"])
    webhooks.create_endpoint(user=owner, url="https://hooks.example.net/x", events=["generation.cancelled"])
    transition(GenerationFactory(owner=owner), S.CANCELLED)
    monkeypatch.setattr(downloads, "resolve_host", lambda host, port: ["169.254.169.254"])
    sent = []
    monkeypatch.setattr(downloads, "_connect", lambda *a, **k: sent.append(a) or (_ for _ in ()).throw(OSError))
    webhooks.deliver_due()
    delivery = WebhookDelivery.objects.get()
    assert sent == [] and delivery.status == "failed" and delivery.last_error.startswith("refused")
