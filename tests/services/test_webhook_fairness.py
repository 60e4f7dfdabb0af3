"""Webhook fairness under a hostile member: turns per owner, a share of the pool each, caps on waiting
messages, and endpoints that stop at once; real receivers on 127.0.0.1 and real runner threads."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from generations.exceptions import LimitReached
from generations.models import Generation, WebhookDelivery, WebhookEndpoint
from generations.services.lifecycle import transition
from generations.services.webhooks import delivery as webhook_delivery
from generations.services.webhooks import endpoints as webhook_endpoints
from tests.helpers.factories import GenerationFactory, UserFactory
from tests.helpers.migrations import migration_under_test
from tests.helpers.receiver import Receiver
from tests.helpers.waiting import wait_until

S = Generation.Status


@pytest.fixture
def slow_and_fast(gmi, settings):
    """A slow receiver (the flooder's) and a fast one (everyone else's), both allowed by setting."""
    slow, fast = Receiver(), Receiver()
    slow.delay = 0.5
    settings.GENERATIONS = {**settings.GENERATIONS, "WEBHOOK_CONCURRENCY": 4,
                            "WEBHOOK_ALLOWED_HOSTS": [f"127.0.0.1:{slow.port}", f"127.0.0.1:{fast.port}"]}
    yield slow, fast
    slow.close()
    fast.close()


def flood(owner, url: str, *, endpoints: int, events: int) -> None:
    for n in range(endpoints):
        webhook_endpoints.create_endpoint(user=owner, url=f"{url}/{n}", events=["generation.cancelled"])
    for _ in range(events):
        transition(GenerationFactory(owner=owner), S.CANCELLED)


class Runner:
    """What qcluster workers do: run the delivery task whenever there is due work, in a thread of its own."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while not self.stop.is_set():
                webhook_delivery.deliver_all_due()
                self.stop.wait(0.02)  # a pause between runs, as qcluster's workers have; cut short by close()
        finally:
            connections.close_all()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=60)


@pytest.mark.django_db(transaction=True)
def test_one_members_backlog_at_a_slow_receiver_does_not_delay_anothers_message(slow_and_fast):
    slow, fast = slow_and_fast
    flood(UserFactory(username="flooder"), slow.url, endpoints=3, events=10)  # 30 messages, 0.5 s each
    innocent = UserFactory(username="innocent")
    webhook_endpoints.create_endpoint(user=innocent, url=fast.url, events=["generation.cancelled"])
    runner = Runner()
    try:
        wait_until(lambda: slow.open_now >= 1)
        recorded = time.monotonic()
        transition(GenerationFactory(owner=innocent), S.CANCELLED)
        wait_until(lambda: len(fast.requests) == 1, timeout=30)
        waited = time.monotonic() - recorded
    finally:
        runner.close()
    # First come, first served sends the whole backlog first: 30 × 0.5 s ÷ 4 threads ≈ 4 s.
    assert waited < 1.5, f"the innocent member's message waited {waited:.1f} s"


@pytest.mark.django_db(transaction=True)
def test_an_owners_slow_receiver_holds_at_most_its_share_of_the_pool(slow_and_fast, settings):
    slow, _ = slow_and_fast
    settings.GENERATIONS = {**settings.GENERATIONS, "WEBHOOK_CONCURRENCY": 8, "WEBHOOK_OWNER_SHARE": 0.25}
    flood(UserFactory(username="hog"), slow.url, endpoints=4, events=4)
    assert webhook_delivery.deliver_due()["succeeded"] == 16
    assert slow.open_most == webhook_delivery.owner_share(8) == 2


@pytest.mark.django_db(transaction=True)
def test_anothers_first_message_goes_before_a_members_due_retries(slow_and_fast, settings):
    slow, fast = slow_and_fast
    settings.GENERATIONS = {**settings.GENERATIONS, "WEBHOOK_CONCURRENCY": 1}
    flooder = UserFactory(username="retrier")
    flood(flooder, slow.url, endpoints=2, events=3)
    earlier = timezone.now() - timedelta(minutes=10)
    WebhookDelivery.objects.update(status="failed", attempts=3, next_attempt_at=earlier)  # retries long due
    innocent = UserFactory(username="fresh")
    webhook_endpoints.create_endpoint(user=innocent, url=fast.url, events=["generation.cancelled"])
    transition(GenerationFactory(owner=innocent), S.CANCELLED)
    slow.delay = 0
    webhook_delivery.deliver_due()
    assert len(fast.requests) == 1 and len(slow.requests) == 6
    # The single thread's first send was the other member's new message, not the old retries.
    order = [r["headers"]["webhook-id"] for r in sorted(slow.requests + fast.requests, key=lambda r: r["at"])]
    assert order[0] == WebhookDelivery.objects.get(owner=innocent).message_id


@pytest.mark.parametrize("stop", ["delete", "pause", "disable"])
@pytest.mark.django_db(transaction=True)
def test_an_endpoint_deleted_or_paused_mid_run_gets_nothing_more(slow_and_fast, settings, stop):
    slow, _ = slow_and_fast
    settings.GENERATIONS = {**settings.GENERATIONS, "WEBHOOK_CONCURRENCY": 2, "WEBHOOK_OWNER_SHARE": 1.0}
    owner = UserFactory(username="quitter")
    endpoint = webhook_endpoints.create_endpoint(user=owner, url=slow.url, events=["generation.cancelled"])
    for _ in range(12):
        transition(GenerationFactory(owner=owner), S.CANCELLED)
    slow.delay = 0.3
    runner = threading.Thread(target=lambda: (webhook_delivery.deliver_due(), connections.close_all()))
    runner.start()
    try:
        wait_until(lambda: len(slow.requests) >= 2)
        if stop == "delete":
            webhook_endpoints.delete_endpoint(endpoint=endpoint)
        elif stop == "pause":
            webhook_endpoints.set_endpoint_enabled(endpoint=endpoint, enabled=False)
        else:
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(enabled=False, disabled_reason="410")
        begun = len(slow.requests)
    finally:
        runner.join(timeout=30)
    # The run waits for every send it started; the receiver counts a request as open until it has answered.
    wait_until(lambda: not runner.is_alive() and slow.open_now == 0, what="the sends under way to end")
    # At most the sends already under way when it stopped (one per thread) finish; nothing new starts.
    assert len(slow.requests) <= begun + 2, (len(slow.requests), begun)
    assert len(slow.requests) < 12


@pytest.mark.django_db(transaction=True)
def test_messages_past_the_waiting_caps_are_not_recorded(slow_and_fast, settings):
    slow, _ = slow_and_fast
    settings.GENERATIONS = {**settings.GENERATIONS, "WEBHOOK_MAX_PENDING_PER_OWNER": 5,
                            "WEBHOOK_MAX_PENDING_PER_TARGET": 3}
    owner = UserFactory(username="capped")
    one = webhook_endpoints.create_endpoint(user=owner, url=f"{slow.url}/1", events=["generation.cancelled"])
    for _ in range(4):
        transition(GenerationFactory(owner=owner), S.CANCELLED)
    assert WebhookDelivery.objects.filter(endpoint=one).count() == 3  # the target's cap
    two = webhook_endpoints.create_endpoint(user=owner, url=f"{slow.url}/2", events=["generation.cancelled"])
    for _ in range(3):
        transition(GenerationFactory(owner=owner), S.CANCELLED)
    assert WebhookDelivery.objects.filter(endpoint=two).count() == 2  # the owner's cap, over both
    assert WebhookDelivery.objects.filter(owner=owner).count() == 5
    transition(GenerationFactory(owner=owner, webhook=slow.url + "/own"), S.CANCELLED)
    assert not WebhookDelivery.objects.filter(endpoint__isnull=True).exists()  # a submission's URL counts too
    other = UserFactory(username="uncapped")
    webhook_endpoints.create_endpoint(user=other, url=slow.url, events=["generation.cancelled"])
    transition(GenerationFactory(owner=other), S.CANCELLED)
    assert WebhookDelivery.objects.filter(owner=other).count() == 1  # someone else's cap is their own
    slow.delay = 0
    webhook_delivery.deliver_due()  # once delivered, messages are recorded again
    transition(GenerationFactory(owner=owner), S.CANCELLED)
    assert WebhookDelivery.objects.filter(owner=owner, status="pending").count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_submissions_own_webhook_counts_against_the_members_caps(slow_and_fast, settings):
    slow, _ = slow_and_fast
    settings.GENERATIONS = {**settings.GENERATIONS, "MAX_WEBHOOKS_PER_USER": 2, "WEBHOOK_MAX_PENDING_PER_OWNER": 4}
    owner = UserFactory(username="many-urls")
    webhook_endpoints.create_endpoint(user=owner, url=slow.url + "/endpoint", events=["generation.cancelled"])
    transition(GenerationFactory(owner=owner, webhook=slow.url + "/a"), S.CANCELLED)
    # /a has messages waiting: it is one target, the endpoint the other; a third URL is refused.
    assert webhook_endpoints.check_submission_webhook(url=slow.url + "/a", events_filter=[], user=owner)
    with pytest.raises(LimitReached) as refused:
        webhook_endpoints.check_submission_webhook(url=slow.url + "/b", events_filter=[], user=owner)
    assert refused.value.limit == "MAX_WEBHOOKS_PER_USER"
    for _ in range(2):
        transition(GenerationFactory(owner=owner, webhook=slow.url + "/a"), S.CANCELLED)
    assert WebhookDelivery.objects.filter(owner=owner, status="pending").count() == 4
    with pytest.raises(LimitReached) as refused:
        webhook_endpoints.check_submission_webhook(url=slow.url + "/a", events_filter=[], user=owner)
    assert refused.value.limit == "WEBHOOK_MAX_PENDING_PER_OWNER"
    slow.delay = 0
    webhook_delivery.deliver_due()
    assert webhook_endpoints.check_submission_webhook(url=slow.url + "/b", events_filter=[], user=owner)


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_deliveries_recorded_before_their_owner():
    with migration_under_test("generations", before="0015_invitations_by_username_catalogue_notice",
                              after="0016_webhook_delivery_owner") as migration:
        old = migration.apps
        User = old.get_model("auth", "User")
        Endpoint = old.get_model("generations", "WebhookEndpoint")
        Delivery = old.get_model("generations", "WebhookDelivery")
        Generation_, VideoModel = old.get_model("generations", "Generation"), old.get_model("generations", "VideoModel")
        creator, submitter = User.objects.create(username="creator"), User.objects.create(username="submitter")
        endpoint = Endpoint.objects.create(owner=creator, url="https://hooks.example.com/x", events=[],
                                           secret="whsec_x")
        job = Generation_.objects.create(owner=submitter, model=VideoModel.objects.create(id="Old"), payload={})
        Delivery.objects.create(endpoint=endpoint, generation=job, event_type="e", message_id="msg_e", payload={})
        Delivery.objects.create(url="https://own.example.com/x", generation=job, event_type="e", message_id="msg_o",
                                payload={})
        migration.forward()
        owners = dict(WebhookDelivery.objects.values_list("message_id", "owner__username"))
        assert owners == {"msg_e": "creator", "msg_o": "submitter"}
