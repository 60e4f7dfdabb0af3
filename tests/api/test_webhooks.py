"""The webhooks API: create (secret once), list, delete, deliveries, resend; tenants kept apart; submission fields."""
from __future__ import annotations

import pytest

from generations.api.serializers import WEBHOOK_EVENTS
from generations.models import (
    Generation,
    Membership,
    VideoModel,
    WebhookDelivery,
    WebhookEndpoint,
)
from generations.services.webhooks import endpoints as webhook_endpoints
from generations.services.webhooks import recording as webhook_recording
from tests.helpers.factories import MembershipFactory, TeamFactory, UserFactory

ALLOWED = "127.0.0.1:9"  # never connected to: creation only checks the policy


@pytest.fixture
def local_hooks(settings):
    settings.GENERATIONS = {**getattr(settings, "GENERATIONS", {}), "WEBHOOK_ALLOWED_HOSTS": [ALLOWED]}


def create(client, user, **body):
    client.force_authenticate(user)
    return client.post("/api/v1/webhooks/", {"url": f"http://{ALLOWED}/in", "events": ["generation.failed"],
                                             **body}, format="json")


def test_event_types_agree_between_the_api_and_the_service():
    assert tuple(WEBHOOK_EVENTS) == webhook_endpoints.EVENTS


def test_create_answers_the_secret_once(db, api_client, user, local_hooks):
    answer = create(api_client, user)
    assert answer.status_code == 201
    assert set(answer.json()) == {"id", "url", "events", "secret"}
    assert answer.json()["secret"].startswith("whsec_")
    listed = api_client.get("/api/v1/webhooks/").json()
    assert [e["id"] for e in listed] == [answer.json()["id"]]
    assert "secret" not in listed[0]


@pytest.mark.parametrize("url", ["http://127.0.0.2/x", "http://[::ffff:127.0.0.1]/x", "http://localhost/x",
                                 "http://0.0.0.0/x"])
def test_loopback_target_answers_webhook_target_forbidden(db, api_client, user, local_hooks, url):
    answer = create(api_client, user, url=url)
    assert answer.status_code == 400 and answer.json()["code"] == "webhook_target_forbidden"


def test_unknown_event_type_is_refused(db, api_client, user, local_hooks):
    assert create(api_client, user, events=["generation.exploded"]).status_code == 400


def test_another_tenant_sees_no_endpoint_delivery_or_secret(db, api_client, user, other_user, local_hooks):
    endpoint_id = create(api_client, user).json()["id"]
    delivery = WebhookDelivery.objects.create(endpoint_id=endpoint_id, event_type="generation.failed",
                                              message_id="msg_1", payload={})
    api_client.force_authenticate(other_user)
    assert api_client.get("/api/v1/webhooks/").json() == []
    assert api_client.get(f"/api/v1/webhooks/{endpoint_id}/deliveries/").status_code == 404
    assert api_client.post(f"/api/v1/webhooks/{endpoint_id}/deliveries/{delivery.pk}/resend/").status_code == 404
    assert api_client.post(f"/api/v1/webhooks/{endpoint_id}/rotate/").status_code == 404
    assert api_client.delete(f"/api/v1/webhooks/{endpoint_id}/").status_code == 404
    assert WebhookEndpoint.objects.filter(pk=endpoint_id).exists()


def test_owner_lists_deliveries_resends_and_deletes(db, api_client, user, local_hooks):
    endpoint_id = create(api_client, user).json()["id"]
    delivery = WebhookDelivery.objects.create(endpoint_id=endpoint_id, event_type="generation.failed",
                                              message_id="msg_1", payload={"type": "generation.failed"},
                                              status="gave_up")
    page = api_client.get(f"/api/v1/webhooks/{endpoint_id}/deliveries/").json()
    assert [d["message_id"] for d in page["results"]] == ["msg_1"]
    answer = api_client.post(f"/api/v1/webhooks/{endpoint_id}/deliveries/{delivery.pk}/resend/")
    assert answer.status_code == 202 and answer.json()["status"] == "pending"
    assert api_client.delete(f"/api/v1/webhooks/{endpoint_id}/").status_code == 204
    assert not WebhookEndpoint.objects.exists()


def test_team_webhooks_are_for_owners_and_admins_only(db, api_client, local_hooks):
    team = TeamFactory()
    member = MembershipFactory(team=team, role=Membership.Role.MEMBER).user
    admin = MembershipFactory(team=team, role=Membership.Role.ADMIN).user
    assert create(api_client, member, team=team.slug).status_code == 403
    assert create(api_client, admin, team=team.slug).status_code == 201
    assert create(api_client, UserFactory(), team=team.slug).status_code == 400


def test_submission_webhook_is_validated(db, catalogue, api_client, user, no_auto_dispatch):
    api_client.force_authenticate(user)
    body = {"model": "Veo3", "payload": {"prompt": "a fox"}}
    refused = api_client.post("/api/v1/generations/", {**body, "webhook": "http://10.0.0.5/x"}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "webhook_target_forbidden"
    bad = api_client.post("/api/v1/generations/", {**body, "webhook_events_filter": ["nope"]}, format="json")
    assert bad.status_code == 400


def test_submission_keeps_its_webhook_and_filter(db, catalogue, api_client, user, no_auto_dispatch, settings):
    settings.GENERATIONS = {**settings.GENERATIONS, "WEBHOOK_ALLOWED_HOSTS": [ALLOWED]}
    api_client.force_authenticate(user)
    model = VideoModel.objects.filter(enabled=True).values_list("pk", flat=True).first()
    answer = api_client.post("/api/v1/generations/", {
        "model": model, "payload": {"prompt": "a fox"}, "webhook": f"http://{ALLOWED}/job",
        "webhook_events_filter": ["generation.succeeded"]}, format="json")
    assert answer.status_code == 201, answer.json()
    generation = Generation.objects.get(pk=answer.json()["id"])
    assert (generation.webhook, generation.webhook_events_filter) == (f"http://{ALLOWED}/job",
                                                                      ["generation.succeeded"])


def test_deliveries_lists_carry_nothing_of_another_tenant(db, api_client, user, other_user, local_hooks):
    mine = create(api_client, user).json()
    theirs = create(api_client, other_user, url=f"http://{ALLOWED}/theirs").json()
    for endpoint, tag in ((mine, "mine"), (theirs, "theirs")):
        WebhookDelivery.objects.create(endpoint_id=endpoint["id"], event_type="generation.failed",
                                       message_id=f"msg_{tag}", payload={"data": {"prompt": f"prompt of {tag}"}},
                                       last_response=f"answer to {tag}", last_status_code=200)
    api_client.force_authenticate(user)
    answer = api_client.get(f"/api/v1/webhooks/{mine['id']}/deliveries/")
    assert [d["message_id"] for d in answer.json()["results"]] == ["msg_mine"]
    body = answer.content.decode()
    assert "theirs" not in body and theirs["secret"] not in body and mine["secret"] not in body
    assert "theirs" not in api_client.get("/api/v1/webhooks/").content.decode()


def test_a_teams_endpoints_are_managed_by_all_its_admins_and_hidden_from_its_members(db, api_client, local_hooks):
    team = TeamFactory()
    owner = MembershipFactory(team=team, role=Membership.Role.OWNER).user
    co_admin = MembershipFactory(team=team, role=Membership.Role.ADMIN).user
    member = MembershipFactory(team=team, role=Membership.Role.MEMBER).user
    endpoint_id = create(api_client, owner, team=team.slug).json()["id"]
    WebhookDelivery.objects.create(endpoint_id=endpoint_id, event_type="generation.failed", message_id="msg_t",
                                   payload={})
    api_client.force_authenticate(co_admin)
    assert [e["id"] for e in api_client.get("/api/v1/webhooks/").json()] == [endpoint_id]
    assert api_client.get(f"/api/v1/webhooks/{endpoint_id}/deliveries/").json()["count"] == 1
    api_client.force_authenticate(member)
    assert api_client.get("/api/v1/webhooks/").json() == []
    assert api_client.get(f"/api/v1/webhooks/{endpoint_id}/deliveries/").status_code == 404
    assert api_client.post(f"/api/v1/webhooks/{endpoint_id}/rotate/").status_code == 404


def test_an_account_waiting_for_approval_may_not_add_webhooks(db, api_client, local_hooks):
    waiting = UserFactory(awaiting_approval=True)
    answer = create(api_client, waiting)
    assert answer.status_code == 403 and answer.json()["code"] == "account_pending"
    assert not WebhookEndpoint.objects.exists()


def test_endpoints_per_member_are_capped(db, api_client, user, local_hooks, settings):
    settings.GENERATIONS = {**settings.GENERATIONS, "MAX_WEBHOOKS_PER_USER": 2}
    assert [create(api_client, user).status_code for _ in range(2)] == [201, 201]
    refused = create(api_client, user)
    assert refused.status_code == 409 and refused.json()["code"] == "limit_reached"
    assert WebhookEndpoint.objects.filter(owner=user).count() == 2


def _team_delivery(team, *, prompt: str):
    """A team video, a team endpoint's delivery recorded for it (through the service), the video then rejected."""
    from generations.services import moderation
    from tests.helpers.factories import GenerationFactory

    owner = MembershipFactory(team=team, role=Membership.Role.OWNER).user
    member = MembershipFactory(team=team, role=Membership.Role.MEMBER).user
    endpoint = webhook_endpoints.create_endpoint(user=owner, url=f"http://{ALLOWED}/team",
                                                 events=["generation.moderated"], team=team.slug)
    video = GenerationFactory(owner=member, team=team, visibility="team", prompt=prompt, payload={"prompt": prompt})
    webhook_recording.record_generation_event(generation=video, event_type="generation.moderated")
    moderation.moderate_generation(generation=video, moderator=UserFactory(staff=True), decision="reject",
                                   reason="not allowed here")
    return endpoint, video


def test_a_delivery_log_shows_a_message_only_to_who_may_see_its_video_now(db, api_client, local_hooks):
    team = TeamFactory()
    endpoint, video = _team_delivery(team, prompt="the secret storyboard")
    later_admin = MembershipFactory(team=team, role=Membership.Role.ADMIN).user
    api_client.force_authenticate(later_admin)
    assert api_client.get(f"/api/v1/generations/{video.pk}/").status_code == 404
    answer = api_client.get(f"/api/v1/webhooks/{endpoint.pk}/deliveries/")
    assert answer.status_code == 200 and answer.json()["count"] == 1
    row = answer.json()["results"][0]
    assert row["payload"] is None and row["event_type"] == "generation.moderated"
    assert "secret storyboard" not in answer.content.decode()
    resent = api_client.post(f"/api/v1/webhooks/{endpoint.pk}/deliveries/{row['id']}/resend/")
    assert "secret storyboard" not in resent.content.decode()

    # Staff who may open any video read it, as they read the video itself.
    api_client.force_authenticate(UserFactory(staff=True, username="staff-reader"))
    assert api_client.get(f"/api/v1/generations/{video.pk}/").status_code == 200


def test_a_delivery_log_shows_the_message_of_a_video_the_reader_may_see(db, api_client, user, local_hooks):
    from tests.helpers.factories import GenerationFactory

    endpoint = webhook_endpoints.create_endpoint(user=user, url=f"http://{ALLOWED}/in", events=["generation.cancelled"])
    video = GenerationFactory(owner=user, prompt="my own fox", payload={"prompt": "my own fox"})
    webhook_recording.record_generation_event(generation=video, event_type="generation.cancelled")
    WebhookDelivery.objects.create(endpoint=endpoint, owner=user, event_type="quota.threshold", message_id="msg_q",
                                   payload={"type": "quota.threshold", "data": {"team": None, "quota": {}}})
    api_client.force_authenticate(user)
    rows = api_client.get(f"/api/v1/webhooks/{endpoint.pk}/deliveries/").json()["results"]
    shown = {r["event_type"]: r["payload"] for r in rows}
    assert shown["generation.cancelled"]["data"]["prompt"] == "my own fox"
    assert shown["quota.threshold"]["data"]["quota"] == {}  # about no video: nothing to hide
    Generation.objects.filter(pk=video.pk).delete()  # the video is gone: so is its message
    rows = api_client.get(f"/api/v1/webhooks/{endpoint.pk}/deliveries/").json()["results"]
    assert {r["event_type"]: r["payload"] for r in rows}["generation.cancelled"] is None


REFUSED = ("This webhook URL is not allowed: it is not a public http(s) address that can be reached "
           "(private networks and names that do not resolve are refused alike).")


@pytest.mark.parametrize("url,resolves_to", [
    ("https://vm.internal.example/x", ["127.0.0.1"]),  # a name that resolves privately
    ("https://db.internal.example/x", ["10.0.0.5"]),
    ("https://nowhere.internal.example/x", None),  # a name that does not resolve
    ("https://10.0.0.5/x", None),  # a literal private address
    ("http://[::ffff:127.0.0.1]/x", None),
])
def test_a_refused_target_says_the_same_whatever_the_name_resolves_to(db, api_client, user, monkeypatch,
                                                                       url, resolves_to):
    from generations.net import policy

    def resolve(host, port):
        if resolves_to is None:
            raise OSError("no such name")
        return resolves_to

    monkeypatch.setattr(policy, "resolve_host", resolve)
    answer = create(api_client, user, url=url)
    assert answer.status_code == 400 and answer.json() == {"detail": REFUSED, "code": "webhook_target_forbidden"}
    api_client.force_authenticate(user)
    submitted = api_client.post("/api/v1/generations/", {"model": "Veo3", "payload": {"prompt": "a fox"},
                                                         "webhook": url}, format="json")
    assert submitted.json() == {"detail": REFUSED, "code": "webhook_target_forbidden"}


def test_an_account_waiting_for_approval_may_not_make_a_submission_secret(db, api_client):
    waiting = UserFactory(awaiting_approval=True)
    api_client.force_authenticate(waiting)
    answer = api_client.post("/api/v1/webhooks/submission-secret/")
    assert answer.status_code == 403 and answer.json()["code"] == "account_pending"
    assert api_client.get("/api/v1/webhooks/submission-secret/").json() == {"exists": False}


def test_the_schema_says_a_replaced_submission_secret_keeps_signing_for_a_day(db, api_client, user):
    api_client.force_authenticate(user)
    schema = api_client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").content.decode()
    assert "no overlap" not in schema
    assert "The previous one keeps signing beside it for 24 hours" in schema
