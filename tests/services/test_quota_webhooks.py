"""The quota.threshold webhook event: sent signed to the member's endpoints (user quotas) or the team's (pools),
once per threshold and period, with the generation that crossed it and a quota object."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from generations.models import Membership, UserProfile, WebhookDelivery
from generations.services import submissions
from generations.services.webhooks import delivery as webhook_delivery
from generations.services.webhooks import endpoints as webhook_endpoints
from tests.helpers.factories import MembershipFactory, TeamFactory, UserFactory, VideoModelFactory
from tests.helpers.receiver import verify

PAYLOAD = {"prompt": "a lighthouse in a storm", "durationSeconds": 4}


def submit(user, **kwargs):
    return submissions.submit_generation(user=user, model_id="Veo3", payload=dict(PAYLOAD), **kwargs)


def team_pool_with_endpoint(url):
    """A team with a 50-credit pool (jobs of 10), its owner, a member, and the owner's team endpoint."""
    VideoModelFactory(id="Veo3", price_credits=Decimal("10"))
    team = TeamFactory(monthly_credits=50)
    owner = MembershipFactory(team=team, role=Membership.Role.OWNER).user
    member = MembershipFactory(team=team, role=Membership.Role.MEMBER).user
    team_hook = webhook_endpoints.create_endpoint(user=owner, url=url, events=["quota.threshold"], team=team.slug)
    return team, owner, member, team_hook


@pytest.mark.django_db(transaction=True)
def test_a_user_quota_crossing_reaches_the_members_endpoints_once_per_threshold(receiver, no_auto_dispatch):
    VideoModelFactory(id="Veo3", price_credits=Decimal("10"))
    owner = UserFactory(username="metered")
    UserProfile.objects.create(user=owner, daily_jobs=5)
    mine = webhook_endpoints.create_endpoint(user=owner, url=receiver.url, events=["quota.threshold"])
    bystander = UserFactory(username="bystander")
    webhook_endpoints.create_endpoint(user=bystander, url=receiver.url + "?other", events=["quota.threshold"])
    jobs = [submit(owner) for _ in range(5)]
    submissions.cancel_generation(generation=jobs[-1], actor=owner)
    submit(owner)  # 100 % again in the same day: not announced twice

    assert webhook_delivery.deliver_due()["succeeded"] == 2
    events = [verify(mine.secret, r) for r in receiver.requests]
    assert [e["type"] for e in events] == ["quota.threshold", "quota.threshold"]
    first, second = sorted(events, key=lambda e: e["data"]["quota"]["threshold"])
    assert first["data"]["id"] == str(jobs[3].pk) and second["data"]["id"] == str(jobs[4].pk)
    assert first["data"]["status"] == "queued" and first["data"]["model"] == "Veo3"
    quota = first["data"]["quota"]
    assert {k: quota[k] for k in ("metric", "limit", "used", "percent", "threshold", "scope")} == {
        "metric": "daily_jobs", "limit": 5, "used": 4, "percent": 80, "threshold": 80, "scope": "user"}
    assert quota["period"] == timezone.localdate().isoformat()
    assert quota["resets_at"].startswith((timezone.localdate() + timedelta(days=1)).isoformat())
    assert set(first) == {"type", "timestamp", "data"}


@pytest.mark.django_db(transaction=True)
def test_a_team_pool_crossing_reaches_the_teams_endpoints_not_the_members_own(receiver, no_auto_dispatch):
    team, _, member, team_hook = team_pool_with_endpoint(receiver.url)
    webhook_endpoints.create_endpoint(user=member, url=receiver.url + "?own", events=["quota.threshold"])
    for _ in range(4):  # 40 of 50 credits
        submit(member, team=team.slug)

    assert webhook_delivery.deliver_due()["succeeded"] == 1
    [event] = [verify(team_hook.secret, r) for r in receiver.requests]
    assert event["data"]["quota"]["scope"] == "team" and event["data"]["quota"]["metric"] == "monthly_credits"
    assert event["data"]["quota"]["threshold"] == 80 and event["data"]["team"] == team.slug
    assert WebhookDelivery.objects.get().endpoint_id == team_hook.pk


@pytest.mark.django_db(transaction=True)
def test_endpoints_that_did_not_ask_for_quota_events_get_none(receiver, no_auto_dispatch):
    VideoModelFactory(id="Veo3")
    owner = UserFactory(username="unsubscribed-hook")
    UserProfile.objects.create(user=owner, daily_jobs=2)
    webhook_endpoints.create_endpoint(user=owner, url=receiver.url, events=["generation.failed"])
    submit(owner)
    submit(owner)
    assert not WebhookDelivery.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_private_job_that_crosses_a_team_pool_is_not_shown_to_the_team(receiver, no_auto_dispatch):
    from generations.models import Notification

    team, owner, member, team_hook = team_pool_with_endpoint(receiver.url)
    jobs = [submissions.submit_generation(user=member, model_id="Veo3", team=team.slug, visibility="private",
                                          payload={**PAYLOAD, "prompt": f"a private idea {i}"}) for i in range(4)]

    assert webhook_delivery.deliver_due()["succeeded"] == 1
    [event] = [verify(team_hook.secret, r) for r in receiver.requests]
    assert event["data"] == {"team": team.slug, "quota": event["data"]["quota"]}  # the pool, not the job
    assert "a private idea" not in receiver.requests[0]["body"].decode()
    delivery = WebhookDelivery.objects.get()
    assert delivery.generation_id is None and "a private idea" not in str(delivery.payload)
    alert = Notification.objects.get(recipient=owner, kind="quota_threshold")
    assert alert.generation_id is None and str(jobs[3].pk) not in str(alert.data)
