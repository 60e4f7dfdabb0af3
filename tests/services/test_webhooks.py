"""Webhooks end to end: events recorded from the lifecycle, signed sends to a local receiver, retries, refusals."""
from __future__ import annotations

import json
import logging
import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from generations.exceptions import WebhookTargetForbidden
from generations.models import Generation, Membership, WebhookDelivery, WebhookEndpoint
from generations.net import policy, transport
from generations.services import moderation, webhooks
from generations.services.lifecycle import transition
from generations.services.webhooks import delivery as webhook_delivery
from generations.services.webhooks import endpoints as webhook_endpoints
from generations.services.webhooks import recording as webhook_recording
from generations.services.webhooks import signing as webhook_signing
from tests.helpers.factories import GenerationFactory, MembershipFactory, TeamFactory, UserFactory
from tests.helpers.receiver import verify
from tests.helpers.settings import TEST_API_KEY
from tests.helpers.waiting import wait_until

S = Generation.Status


def walk_to_success(generation: Generation) -> None:
    for status in (S.DISPATCHED, S.PROCESSING, S.MIRRORING):
        assert transition(generation, status)
    assert transition(generation, S.SUCCEEDED)


@pytest.mark.django_db(transaction=True)
def test_each_event_reaches_the_receiver_once_and_verifies(receiver):
    owner = UserFactory(username="hooked")
    endpoint = webhook_endpoints.create_endpoint(user=owner, url=receiver.url, events=list(webhook_endpoints.EVENTS))
    done = GenerationFactory(owner=owner, video_name="v.mp4")
    walk_to_success(done)
    failed = GenerationFactory(owner=owner)
    transition(failed, S.FAILED, note="boom")
    cancelled = GenerationFactory(owner=owner)
    transition(cancelled, S.CANCELLED)
    moderation.moderate_generation(generation=done, moderator=UserFactory(staff=True), decision="approve")

    assert webhook_delivery.deliver_due()["succeeded"] == 5
    assert webhook_delivery.deliver_due()["sent"] == 0  # nothing twice
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
    webhook_delivery.deliver_due()
    assert len(receiver.requests) == 1
    assert verify(webhook_signing.submission_secret(owner), receiver.requests[0])["type"] == "generation.failed"


@pytest.mark.django_db(transaction=True)
def test_failing_receiver_gets_the_event_once_more_with_the_same_id(receiver):
    owner = UserFactory(username="flaky")
    endpoint = webhook_endpoints.create_endpoint(user=owner, url=receiver.url, events=["generation.cancelled"])
    transition(GenerationFactory(owner=owner), S.CANCELLED)
    receiver.script = [500, 502, 503, 500, 404]
    now = timezone.now()
    for _ in range(12):  # an attempt whenever one is due, the clock moved instead of sleeping
        webhook_delivery.deliver_due(now=now)
        now += timedelta(hours=2)
    assert len(receiver.requests) == 6
    assert len({r["headers"]["webhook-id"] for r in receiver.requests}) == 1
    # Every attempt verifies with standardwebhooks and carries the same message.
    assert len({json.dumps(verify(endpoint.secret, r), sort_keys=True) for r in receiver.requests}) == 1
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
        _, at = webhook_delivery._retry(delivery, now=created)
        waits.append((at - created).total_seconds())
    assert [round(w / b, 1) >= 0.9 for w, b in zip(waits, (5, 30, 120, 600, 3600, 14400), strict=True)] == [True] * 6
    delivery.attempts = 9
    assert webhook_delivery._retry(delivery, now=created + timedelta(hours=25)) == ("gave_up", None)


@pytest.mark.django_db(transaction=True)
def test_410_disables_the_endpoint(receiver):
    owner = UserFactory(username="gone")
    endpoint = webhook_endpoints.create_endpoint(user=owner, url=receiver.url, events=["generation.cancelled"])
    receiver.script = [410]
    transition(GenerationFactory(owner=owner), S.CANCELLED)
    webhook_delivery.deliver_due()
    endpoint.refresh_from_db()
    assert not endpoint.enabled and "410" in endpoint.disabled_reason
    transition(GenerationFactory(owner=owner), S.CANCELLED)
    assert webhook_delivery.deliver_due()["sent"] == 0 and len(receiver.requests) == 1


@pytest.mark.django_db(transaction=True)
def test_endpoint_failing_for_days_is_disabled_with_the_reason(receiver):
    owner = UserFactory(username="down")
    endpoint = webhook_endpoints.create_endpoint(user=owner, url=receiver.url, events=["generation.cancelled"])
    receiver.script = [500] * 50
    transition(GenerationFactory(owner=owner), S.CANCELLED)
    now = timezone.now()
    webhook_delivery.deliver_due(now=now)
    transition(GenerationFactory(owner=owner), S.CANCELLED)
    WebhookDelivery.objects.filter(attempts=0).update(created_at=now + timedelta(days=3), next_attempt_at=now)
    webhook_delivery.deliver_due(now=now + timedelta(days=3, seconds=1))
    endpoint.refresh_from_db()
    assert not endpoint.enabled and endpoint.disabled_reason.startswith("Failing since")


@pytest.mark.django_db(transaction=True)
def test_rotation_keeps_both_secrets_valid_for_a_day(receiver):
    owner = UserFactory(username="rotator")
    endpoint = webhook_endpoints.create_endpoint(user=owner, url=receiver.url, events=["generation.cancelled"])
    old = endpoint.secret
    webhook_signing.rotate_secret(endpoint=endpoint)
    transition(GenerationFactory(owner=owner), S.CANCELLED)
    webhook_delivery.deliver_due()
    request = receiver.requests[0]
    assert len(request["headers"]["webhook-signature"].split(" ")) == 2
    assert verify(old, request) and verify(endpoint.secret, request)
    later = timezone.now() + timedelta(hours=25)
    assert webhook_signing.signing_secrets(endpoint, now=later) == [endpoint.secret]


@pytest.mark.django_db(transaction=True)
def test_a_rotated_per_submission_secret_keeps_signing_beside_the_new_one_for_a_day(receiver):
    owner = UserFactory(username="own-rotator")
    old = webhook_signing.submission_secret(owner)
    new = webhook_signing.rotate_submission_secret(user=owner)
    transition(GenerationFactory(owner=owner, webhook=receiver.url), S.CANCELLED)
    webhook_delivery.deliver_due()
    request = receiver.requests[0]
    assert len(request["headers"]["webhook-signature"].split(" ")) == 2
    assert verify(old, request) and verify(new, request)
    later = timezone.now() + timedelta(hours=25)
    assert webhook_signing.submission_signing_secrets(owner, now=later) == [new]


@pytest.mark.django_db(transaction=True)
def test_send_again_waits_while_a_runner_is_sending_so_the_message_goes_once(receiver):
    from generations.exceptions import InvalidTransition

    owner = UserFactory(username="impatient")
    webhook_endpoints.create_endpoint(user=owner, url=receiver.url, events=["generation.cancelled"])
    transition(GenerationFactory(owner=owner), S.CANCELLED)
    receiver.delay = 1.0
    runner = threading.Thread(target=lambda: (webhook_delivery.deliver_due(), connections.close_all()))
    runner.start()
    try:
        wait_until(lambda: receiver.open_now == 1)
        delivery = WebhookDelivery.objects.get()
        with pytest.raises(InvalidTransition, match="being sent right now"):
            webhook_endpoints.resend_delivery(delivery=delivery)
        assert webhook_delivery.deliver_due()["sent"] == 0  # nor does another runner take it meanwhile
    finally:
        runner.join(10)
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and delivery.claimed_until is None and len(receiver.requests) == 1
    webhook_endpoints.resend_delivery(delivery=delivery)  # once the attempt is written, send again works
    webhook_delivery.deliver_due()
    assert len(receiver.requests) == 2


LOOPBACK_DISGUISES = ["http://127.0.0.2/hook", "http://[::ffff:127.0.0.1]/hook", "http://localhost/hook",
                      "http://0.0.0.0/hook", "ftp://example.com/hook", "http://127.0.0.1/hook"]


@pytest.mark.parametrize("url", LOOPBACK_DISGUISES)
def test_loopback_targets_are_refused_at_creation(db, url):
    with pytest.raises(WebhookTargetForbidden):
        webhook_endpoints.create_endpoint(user=UserFactory(), url=url, events=["generation.failed"])
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("address", ["10.0.0.5", "169.254.169.254"])
def test_names_resolving_to_private_addresses_are_refused(db, monkeypatch, address):
    monkeypatch.setattr(policy, "resolve_host", lambda host, port: [address])
    with pytest.raises(WebhookTargetForbidden):
        webhook_endpoints.create_endpoint(user=UserFactory(), url="https://hooks.example.net/x",
                                          events=["generation.failed"])


PRIVATE_ADDRESSES = ["10.0.0.5", "172.16.3.4", "192.168.1.10", "169.254.169.254", "fd00::1", "fe80::1"]


@pytest.mark.parametrize("address", PRIVATE_ADDRESSES)
@pytest.mark.django_db(transaction=True)
def test_a_name_that_turns_private_later_is_refused_at_delivery(gmi, monkeypatch, address):
    owner = UserFactory(username="rebound")
    monkeypatch.setattr(policy, "resolve_host", lambda host, port: ["93.184.215.14"])
    webhook_endpoints.create_endpoint(user=owner, url="https://hooks.example.net/x", events=["generation.cancelled"])
    transition(GenerationFactory(owner=owner), S.CANCELLED)
    monkeypatch.setattr(policy, "resolve_host", lambda host, port: [address])
    sent = []
    monkeypatch.setattr(transport, "connect", lambda *a, **k: sent.append(a) or (_ for _ in ()).throw(OSError))
    webhook_delivery.deliver_due()
    delivery = WebhookDelivery.objects.get()
    assert sent == [] and delivery.status == "failed" and delivery.last_error.startswith("refused")
    # The log says it was refused, never what the name resolved to.
    assert delivery.last_error == f"refused: the target is {webhooks.TARGET_REFUSED}"


@pytest.mark.django_db(transaction=True)
def test_a_name_that_stops_resolving_reads_in_the_log_as_any_refusal(gmi, monkeypatch):
    owner = UserFactory(username="vanished")
    monkeypatch.setattr(policy, "resolve_host", lambda host, port: ["93.184.215.14"])
    webhook_endpoints.create_endpoint(user=owner, url="https://hooks.example.net/x", events=["generation.cancelled"])
    transition(GenerationFactory(owner=owner), S.CANCELLED)

    def gone(host, port):
        raise OSError("Name or service not known")

    monkeypatch.setattr(policy, "resolve_host", gone)
    webhook_delivery.deliver_due()
    delivery = WebhookDelivery.objects.get()
    assert delivery.last_error == f"refused: the target is {webhooks.TARGET_REFUSED}"


def test_an_internal_name_is_allowed_by_setting(db, monkeypatch, settings):
    monkeypatch.setattr(policy, "resolve_host", lambda host, port: ["10.0.0.5"])
    settings.GENERATIONS = {**settings.GENERATIONS, "WEBHOOK_ALLOWED_HOSTS": ["hooks.internal.example:8443"]}
    endpoint = webhook_endpoints.create_endpoint(user=UserFactory(), url="https://hooks.internal.example:8443/x",
                                                 events=["generation.failed"])
    assert endpoint.pk
    with pytest.raises(WebhookTargetForbidden):  # the entry names its port: no other port of that host
        webhook_endpoints.create_endpoint(user=UserFactory(), url="https://hooks.internal.example/x",
                                          events=["generation.failed"])


@pytest.mark.parametrize("host", ["127.0.0.2", "[::ffff:127.0.0.1]", "localhost", "0.0.0.0", "127.0.0.1"])
@pytest.mark.parametrize("kind", ["endpoint", "submission"])
@pytest.mark.django_db(transaction=True)
def test_loopback_disguises_are_refused_again_at_delivery(receiver, settings, monkeypatch, host, kind):
    # Registered while staff allowed the host; the setting was withdrawn before the event.
    url = f"http://{host}:{receiver.port}/hook"
    settings.GENERATIONS = {**settings.GENERATIONS, "WEBHOOK_ALLOWED_HOSTS": [f"{host}:{receiver.port}"]}
    owner = UserFactory(username="disguised")
    if kind == "endpoint":
        webhook_endpoints.create_endpoint(user=owner, url=url, events=["generation.cancelled"])
        generation = GenerationFactory(owner=owner)
    else:
        webhook_endpoints.check_submission_webhook(url=url, events_filter=[])
        generation = GenerationFactory(owner=owner, webhook=url)
    settings.GENERATIONS = {**settings.GENERATIONS, "WEBHOOK_ALLOWED_HOSTS": []}
    connects = []
    real_connect = transport.connect
    monkeypatch.setattr(transport, "connect", lambda *a, **k: connects.append(a) or real_connect(*a, **k))
    transition(generation, S.CANCELLED)

    assert webhook_delivery.deliver_due()["sent"] == 1
    delivery = WebhookDelivery.objects.get()
    assert connects == [] and receiver.requests == []
    assert delivery.status == "failed" and delivery.last_error.startswith("refused")


@pytest.mark.django_db(transaction=True)
def test_deliveries_never_have_more_requests_open_than_the_bound(receiver, settings):
    # One owner may take the whole pool here: the bound of the pool is what is checked.
    settings.GENERATIONS = {**settings.GENERATIONS, "WEBHOOK_CONCURRENCY": 3, "WEBHOOK_OWNER_SHARE": 1.0}
    receiver.delay = 0.2
    owner = UserFactory(username="busy")
    webhook_endpoints.create_endpoint(user=owner, url=receiver.url, events=["generation.cancelled"])
    webhook_endpoints.create_endpoint(user=owner, url=receiver.url + "/2", events=["generation.cancelled"])
    for _ in range(7):
        transition(GenerationFactory(owner=owner), S.CANCELLED)
    # Two runners in one process share its pool: the bound holds for the process, not per call.
    results: list[dict] = []
    runners = [threading.Thread(target=lambda: results.append(webhook_delivery.deliver_due())) for _ in range(2)]
    for runner in runners:
        runner.start()
    for runner in runners:
        runner.join(timeout=60)
    assert sum(r["sent"] for r in results) == 14 and len(receiver.requests) == 14
    assert receiver.open_most == 3


@pytest.mark.django_db(transaction=True)
def test_nothing_is_claimed_to_wait_for_a_thread_so_a_later_runner_sends_each_message_once(receiver, settings):
    # One thread, 0.5 s per answer. A runner claims only what starts at once: a second runner
    # looking long after the first began (the clock moved past any claim of a send waiting for
    # a thread) takes the messages still unclaimed, and no message goes twice.
    settings.GENERATIONS = {**settings.GENERATIONS, "WEBHOOK_CONCURRENCY": 1}
    receiver.delay = 0.5
    owner = UserFactory(username="patient")
    webhook_endpoints.create_endpoint(user=owner, url=receiver.url, events=["generation.cancelled"])
    for _ in range(4):
        transition(GenerationFactory(owner=owner), S.CANCELLED)
    now = timezone.now()
    first = threading.Thread(target=lambda: (webhook_delivery.deliver_due(now=now), connections.close_all()))
    first.start()
    wait_until(lambda: receiver.open_now == 1)
    assert WebhookDelivery.objects.filter(claimed_until__isnull=False).count() == 1
    webhook_delivery.deliver_due(now=now + timedelta(seconds=65))
    first.join(timeout=30)
    assert len(receiver.requests) == 4 and len({r["headers"]["webhook-id"] for r in receiver.requests}) == 4
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"succeeded"}


@pytest.mark.django_db(transaction=True)
def test_a_backlog_drains_in_one_task_run(receiver):
    owner = UserFactory(username="backlog")
    webhook_endpoints.create_endpoint(user=owner, url=receiver.url, events=["generation.cancelled"])
    for _ in range(5):
        transition(GenerationFactory(owner=owner), S.CANCELLED)
    totals = webhook_delivery.deliver_all_due(limit=2)
    assert (totals["sent"], totals["succeeded"], len(receiver.requests)) == (5, 5, 5)


def team_with_admin_and_member(slug):
    team = TeamFactory(slug=slug)
    admin = MembershipFactory(team=team, role=Membership.Role.ADMIN).user
    member = MembershipFactory(team=team, role=Membership.Role.MEMBER).user
    return team, admin, member


@pytest.mark.django_db(transaction=True)
def test_team_endpoints_get_only_what_the_team_may_see_and_only_while_their_creator_manages_it(receiver):
    team, admin, member = team_with_admin_and_member("crew")
    endpoint = webhook_endpoints.create_endpoint(user=admin, url=receiver.url, events=["generation.cancelled"],
                                                 team="crew")
    shared = GenerationFactory(owner=member, team=team, visibility="team")
    private = GenerationFactory(owner=member, team=team, visibility="private")
    transition(shared, S.CANCELLED)
    transition(private, S.CANCELLED)
    webhook_delivery.deliver_due()
    assert [verify(endpoint.secret, r)["data"]["id"] for r in receiver.requests] == [str(shared.pk)]

    Membership.objects.filter(team=team, user=admin).update(role=Membership.Role.MEMBER)
    transition(GenerationFactory(owner=member, team=team, visibility="team"), S.CANCELLED)
    assert webhook_delivery.deliver_due()["sent"] == 0 and len(receiver.requests) == 1


@pytest.mark.django_db(transaction=True)
def test_recording_an_event_asks_for_the_teams_audience_once_however_many_team_endpoints(receiver):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    team, admin, member = team_with_admin_and_member("crew3")

    def queries_to_record() -> int:
        generation = GenerationFactory(owner=member, team=team, visibility="team")
        with CaptureQueriesContext(connection) as queries:
            webhook_recording.record_generation_event(generation=generation, event_type="generation.cancelled")
        return len(queries)

    webhook_endpoints.create_endpoint(user=admin, url=receiver.url, events=["generation.cancelled"], team="crew3")
    one = queries_to_record()
    for n in range(3):
        webhook_endpoints.create_endpoint(user=admin, url=f"{receiver.url}?{n}", events=["generation.cancelled"],
                                          team="crew3")
    assert queries_to_record() == one


@pytest.mark.django_db(transaction=True)
def test_pending_team_messages_are_withheld_once_what_allowed_them_stops_holding(receiver):
    from generations.exceptions import InvalidTransition

    team, admin, member = team_with_admin_and_member("crew2")
    endpoint = webhook_endpoints.create_endpoint(user=admin, url=receiver.url, events=["generation.cancelled"],
                                                 team="crew2")
    made_private, demoted_for = (GenerationFactory(owner=member, team=team, visibility="team") for _ in range(2))
    transition(made_private, S.CANCELLED)
    Generation.objects.filter(pk=made_private.pk).update(visibility="private")  # after the message was recorded
    assert webhook_delivery.deliver_due()["gave_up"] == 1 and receiver.requests == []
    withheld = WebhookDelivery.objects.get(generation=made_private)
    assert withheld.status == "gave_up" and "no longer see" in withheld.last_error
    with pytest.raises(InvalidTransition):
        webhook_endpoints.resend_delivery(delivery=withheld)

    transition(demoted_for, S.CANCELLED)
    Membership.objects.filter(team=team, user=admin).update(role=Membership.Role.MEMBER)  # retries pending
    assert webhook_delivery.deliver_due()["sent"] == 0 and receiver.requests == []
    assert "no longer manages" in WebhookDelivery.objects.get(generation=demoted_for).last_error
    assert endpoint.pk == WebhookDelivery.objects.get(generation=demoted_for).endpoint_id


@pytest.mark.django_db(transaction=True)
def test_the_gmi_key_is_in_no_delivery_answer_row_or_log(receiver, caplog):
    caplog.set_level(logging.DEBUG)
    receiver.echo = True  # the kept answer shows everything that was sent
    owner = UserFactory(username="keyless")
    endpoint = webhook_endpoints.create_endpoint(user=owner, url=receiver.url,
                                                 events=list(webhook_endpoints.EVENTS[:5]))
    walk_to_success(GenerationFactory(owner=owner, video_name="v.mp4", payload={"prompt": "a fox"}))
    failed = GenerationFactory(owner=owner)
    transition(failed, S.FAILED, note="upstream said no", error="GMI refused the job")
    receiver.script = [500]
    webhook_delivery.deliver_due()
    webhook_delivery.deliver_due(now=timezone.now() + timedelta(minutes=1))
    receiver.script = [410]
    transition(GenerationFactory(owner=owner), S.CANCELLED)
    webhook_delivery.deliver_due()  # disables the endpoint: a warning in the log

    endpoint.refresh_from_db()
    assert not endpoint.enabled and len(receiver.requests) >= 4
    stored = json.dumps(list(WebhookDelivery.objects.values("payload", "last_response", "last_error")))
    assert "webhook-signature" in stored.lower()  # the echo was kept: the check below sees what was sent
    for text in (stored, caplog.text, *(r["body"].decode() + json.dumps(r["headers"]) for r in receiver.requests)):
        assert TEST_API_KEY not in text
