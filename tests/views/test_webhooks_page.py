"""The webhooks page: endpoints kept to who manages them, secrets shown once, form errors that say what to change,
pause and enable, delete with confirmation, the paginated delivery log with "send again", the per-submission secret."""
from __future__ import annotations

from html import unescape

import pytest
from django.urls import reverse

from generations.models import Membership, WebhookDelivery, WebhookEndpoint
from generations.selectors import webhooks as webhook_reads
from generations.services.webhooks import endpoints as webhook_endpoints
from generations.services.webhooks import recording as webhook_recording
from generations.services.webhooks import signing as webhook_signing
from tests.helpers.csp import EVENT_HANDLER, INLINE_SCRIPT, INLINE_STYLE
from tests.helpers.factories import MembershipFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

Role = Membership.Role
ALLOWED = "127.0.0.1:9"  # never connected to: these tests only check the policy and the pages
URL = f"http://{ALLOWED}/in"


@pytest.fixture(autouse=True)
def local_hooks(settings):
    settings.GENERATIONS = {**getattr(settings, "GENERATIONS", {}), "WEBHOOK_ALLOWED_HOSTS": [ALLOWED]}


@pytest.fixture
def team(user):
    team = TeamFactory(name="Studio", slug="studio")
    MembershipFactory(team=team, user=user, role=Role.OWNER)
    return team


def page(client, name="generations:webhooks", *args) -> str:
    response = client.get(reverse(name, args=args))
    assert response.status_code == 200
    return text(response)


def text(response) -> str:
    """The page as a reader sees it: entities decoded, runs of white space as one space."""
    return " ".join(unescape(response.content.decode()).split())


def endpoint_for(user, **kwargs) -> WebhookEndpoint:
    return webhook_endpoints.create_endpoint(user=user, url=kwargs.pop("url", URL),
                                             events=kwargs.pop("events", ["generation.failed"]), **kwargs)


def delivery_for(endpoint, **kwargs) -> WebhookDelivery:
    return WebhookDelivery.objects.create(endpoint=endpoint, event_type="generation.failed",
                                          message_id=kwargs.pop("message_id", "msg_1"),
                                          payload={"type": "generation.failed"}, **kwargs)


def test_the_page_is_in_the_navigation_and_asks_visitors_to_log_in(client, member):
    assert reverse("generations:webhooks") in page(member, "generations:gallery")
    client.logout()
    response = client.get(reverse("generations:webhooks"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_lists_my_endpoints_and_those_of_teams_i_manage_only(member, user, team, other_user):
    mine = endpoint_for(user, url=f"http://{ALLOWED}/mine")
    co_admin = MembershipFactory(team=team, role=Role.ADMIN).user
    teams = endpoint_for(co_admin, url=f"http://{ALLOWED}/team-by-co-admin", team=team.slug)
    endpoint_for(other_user, url=f"http://{ALLOWED}/someone-elses")
    elsewhere = TeamFactory(slug="elsewhere")
    MembershipFactory(team=elsewhere, user=user, role=Role.MEMBER)
    elsewhere_admin = MembershipFactory(team=elsewhere, role=Role.ADMIN).user
    endpoint_for(elsewhere_admin, url=f"http://{ALLOWED}/team-i-only-belong-to", team="elsewhere")

    html = page(member)

    assert mine.url in html and teams.url in html
    assert "someone-elses" not in html and "team-i-only-belong-to" not in html
    # The team choice offers only the team the member manages.
    assert "Team Studio (all its shared videos)" in html and html.count("(all its shared videos)") == 1


def test_another_members_endpoint_answers_404_everywhere(member, other_user):
    theirs = endpoint_for(other_user)
    delivery = delivery_for(theirs, status="gave_up")
    secret = theirs.secret
    for name, method in (("generations:webhook", "get"), ("generations:webhook-delete", "get"),
                         ("generations:webhook-delete", "post"), ("generations:webhook-rotate", "post"),
                         ("generations:webhook-enabled", "post")):
        assert getattr(member, method)(reverse(name, args=[theirs.pk])).status_code == 404, name
    resend = reverse("generations:webhook-resend", args=[theirs.pk, delivery.pk])
    assert member.post(resend).status_code == 404
    theirs.refresh_from_db()
    delivery.refresh_from_db()
    assert (theirs.secret, theirs.enabled, delivery.status) == (secret, True, "gave_up")


def test_a_team_member_who_is_not_admin_sees_no_secret_or_delivery_of_the_team(client, team, user):
    endpoint = endpoint_for(user, team=team.slug)
    delivery_for(endpoint, message_id="msg_team_secretive")
    plain = MembershipFactory(team=team, role=Role.MEMBER).user
    client.force_login(plain)

    assert endpoint.url not in page(client)
    assert client.get(reverse("generations:webhook", args=[endpoint.pk])).status_code == 404
    assert client.post(reverse("generations:webhook-rotate", args=[endpoint.pk])).status_code == 404
    answer = client.post(reverse("generations:webhooks"), {"url": URL, "events": ["generation.failed"],
                                                           "team": team.slug})
    assert answer.status_code == 400
    assert "only for teams you own or administer" in text(answer)
    assert WebhookEndpoint.objects.count() == 1
    # Demoted from admin: the endpoint they made is no longer theirs to see.
    Membership.objects.filter(team=team, user=user).update(role=Role.MEMBER)
    client.force_login(user)
    assert client.get(reverse("generations:webhook", args=[endpoint.pk])).status_code == 404


def test_the_secret_is_shown_once_after_creation(member, user):
    response = member.post(reverse("generations:webhooks"), {"url": URL, "events": ["generation.succeeded",
                                                                                   "generation.failed"]})
    endpoint = WebhookEndpoint.objects.get(owner=user)
    assert response.status_code == 302 and response["Location"] == reverse("generations:webhook", args=[endpoint.pk])
    assert endpoint.events == ["generation.succeeded", "generation.failed"] and endpoint.team is None

    first = member.get(response["Location"])
    assert endpoint.secret.startswith("whsec_") and endpoint.secret in first.content.decode()
    assert first["Cache-Control"] == "no-store"
    again = member.get(response["Location"])
    assert endpoint.secret not in again.content.decode()
    assert endpoint.secret not in page(member)


def test_rotating_shows_the_new_secret_once_and_explains_the_overlap(member, user):
    endpoint = endpoint_for(user)
    old = endpoint.secret
    response = member.post(reverse("generations:webhook-rotate", args=[endpoint.pk]), follow=True)
    endpoint.refresh_from_db()
    html = text(response)
    assert endpoint.secret != old and endpoint.secret in html and old not in html
    assert "24 hours" in html and "both the new and the previous secret" in html
    assert webhook_signing.signing_secrets(endpoint, now=endpoint.previous_secret_expires_at.replace(microsecond=0)
                                           ) == [endpoint.secret, old]
    assert endpoint.secret not in page(member, "generations:webhook", endpoint.pk)


@pytest.mark.parametrize(("body", "field_error"), [
    ({"url": "http://127.0.0.2/x", "events": ["generation.failed"]}, "not allowed"),
    ({"url": "http://[::ffff:127.0.0.1]/x", "events": ["generation.failed"]}, "not allowed"),
    ({"url": "ftp://example.com/x", "events": ["generation.failed"]}, "http"),
    ({"url": URL, "events": []}, "Choose at least one event to receive."),
    ({"url": URL, "events": ["generation.exploded"]}, "generation.exploded is not an event this site sends."),
    ({"url": "", "events": ["generation.failed"]}, "This field is required."),
])
def test_form_errors_say_what_to_change(member, body, field_error):
    response = member.post(reverse("generations:webhooks"), body)
    assert response.status_code == 400
    html = text(response)
    assert field_error in html and 'class="gmi-error"' in html
    assert not WebhookEndpoint.objects.exists()


def test_a_refused_target_names_the_reason(member):
    html = text(member.post(reverse("generations:webhooks"), {"url": "http://localhost/x",
                                                              "events": ["generation.failed"]}))
    assert "This webhook URL is not allowed: it is not a public http(s) address that can be reached" in html
    assert "127.0.0.1" not in html  # never what the name resolved to
    assert 'value="http://localhost/x"' in html  # the member edits what they typed


def test_team_admins_add_endpoints_for_their_team(client, team):
    admin = MembershipFactory(team=team, role=Role.ADMIN).user
    client.force_login(admin)
    response = client.post(reverse("generations:webhooks"), {"url": URL, "events": ["generation.failed"],
                                                             "team": team.slug})
    assert response.status_code == 302
    assert WebhookEndpoint.objects.get().team == team


def test_send_again_queues_the_same_message(member, user):
    endpoint = endpoint_for(user)
    delivery = delivery_for(endpoint, status="gave_up", attempts=9, last_status_code=500)
    response = member.post(reverse("generations:webhook-resend", args=[endpoint.pk, delivery.pk]), follow=True)
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.message_id == "msg_1"
    assert "will be sent again shortly" in text(response)


def test_send_again_on_a_disabled_endpoint_says_to_enable_it(member, user):
    endpoint = endpoint_for(user)
    delivery = delivery_for(endpoint, status="gave_up")
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(enabled=False,
                                                          disabled_reason="The receiver answered 410 Gone.")
    response = member.post(reverse("generations:webhook-resend", args=[endpoint.pk, delivery.pk]), follow=True)
    html = text(response)
    assert "enable it again first" in html and "410 Gone" in html
    delivery.refresh_from_db()
    assert delivery.status == "gave_up"


def test_pause_and_enable_again_checking_the_target(member, user, settings):
    endpoint = endpoint_for(user)
    member.post(reverse("generations:webhook-enabled", args=[endpoint.pk]), {"enabled": "0"})
    endpoint.refresh_from_db()
    assert not endpoint.enabled and endpoint.disabled_reason
    settings.GENERATIONS = {**settings.GENERATIONS, "WEBHOOK_ALLOWED_HOSTS": []}  # loopback no longer allowed
    response = member.post(reverse("generations:webhook-enabled", args=[endpoint.pk]), {"enabled": "1"}, follow=True)
    endpoint.refresh_from_db()
    assert not endpoint.enabled and "not allowed" in text(response)
    settings.GENERATIONS = {**settings.GENERATIONS, "WEBHOOK_ALLOWED_HOSTS": [ALLOWED]}
    member.post(reverse("generations:webhook-enabled", args=[endpoint.pk]), {"enabled": "1"})
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.disabled_reason == "" and endpoint.failing_since is None


def test_delete_asks_first(member, user):
    endpoint = endpoint_for(user)
    confirm = member.get(reverse("generations:webhook-delete", args=[endpoint.pk]))
    assert confirm.status_code == 200 and "Delete this webhook?" in confirm.content.decode()
    assert WebhookEndpoint.objects.exists()
    response = member.post(reverse("generations:webhook-delete", args=[endpoint.pk]))
    assert response["Location"] == reverse("generations:webhooks")
    assert not WebhookEndpoint.objects.exists()


def test_the_delivery_log_is_paginated_with_what_each_attempt_got(member, user, django_assert_max_num_queries):
    endpoint = endpoint_for(user)
    for n in range(30):
        delivery_for(endpoint, message_id=f"msg_{n:02}", attempts=2, status="failed", last_status_code=503,
                     last_latency_ms=1234, last_response=f"busy <b>{n}</b>")
    with django_assert_max_num_queries(12):
        first = page(member, "generations:webhook", endpoint.pk)
    assert first.count("Send again") == 25 and "HTTP 503" in first and "1234 ms" in first
    raw = member.get(reverse("generations:webhook", args=[endpoint.pk])).content.decode()
    assert "busy &lt;b&gt;29&lt;/b&gt;" in raw and "<b>29</b>" not in raw  # a receiver's answer is text, never markup
    second = member.get(reverse("generations:webhook", args=[endpoint.pk]) + "?page=2").content.decode()
    assert second.count("Send again") == 5


def test_a_team_endpoint_whose_creator_left_shows_as_paused(member, user, team):
    co_admin = MembershipFactory(team=team, role=Role.ADMIN).user
    endpoint = endpoint_for(co_admin, team=team.slug)
    Membership.objects.filter(team=team, user=co_admin).delete()
    assert "Its creator no longer manages the team." in page(member, "generations:webhook", endpoint.pk)


def test_the_per_submission_secret_is_shown_once_and_can_be_replaced(member, user):
    assert "You have no per-submission secret yet." in page(member)
    first = member.post(reverse("generations:webhook-submission-secret"), follow=True)
    secret = webhook_signing.submission_secret(user)
    assert secret.startswith("whsec_") and secret in first.content.decode()
    assert secret not in page(member)
    member.post(reverse("generations:webhook-submission-secret"))
    assert webhook_signing.submission_secret(user) != secret


def test_the_pages_keep_to_the_content_security_policy(member, user):
    endpoint = endpoint_for(user)
    delivery_for(endpoint, last_response="<script>alert(1)</script>", attempts=1, last_status_code=200)
    for html in (page(member), page(member, "generations:webhook", endpoint.pk),
                 page(member, "generations:webhook-delete", endpoint.pk)):
        html = html.replace("<script>alert(1)</script>", "")  # unescaped for reading; the page has it escaped
        for pattern in (INLINE_SCRIPT, INLINE_STYLE, EVENT_HANDLER):
            assert pattern.search(html) is None


def test_the_api_tells_whether_a_submission_secret_exists_and_makes_one(api_client, user):
    api_client.force_authenticate(user)
    assert api_client.get("/api/v1/webhooks/submission-secret/").json() == {"exists": False}
    made = api_client.post("/api/v1/webhooks/submission-secret/")
    assert made.status_code == 200 and made.json()["secret"] == webhook_signing.submission_secret(user)
    assert api_client.get("/api/v1/webhooks/submission-secret/").json() == {"exists": True}
    api_client.force_authenticate(UserFactory())
    assert api_client.get("/api/v1/webhooks/submission-secret/").json() == {"exists": False}


def test_an_account_waiting_for_approval_is_told_and_can_make_no_webhook_or_secret(client):
    waiting = UserFactory(awaiting_approval=True)
    client.force_login(waiting)
    html = page(client)
    assert "adding webhook endpoints and making a per-submission secret work once it is approved" in html
    assert "Add endpoint</button>" not in html and "Create and show it" not in html
    created = client.post(reverse("generations:webhooks"), {"url": URL, "events": ["generation.failed"]})
    assert created.status_code == 400 and "waiting for approval" in text(created)
    assert not WebhookEndpoint.objects.exists()
    answer = client.post(reverse("generations:webhook-submission-secret"), follow=True)
    assert "waiting for approval" in text(answer) and not webhook_reads.has_submission_secret(waiting)


def test_the_delivery_log_shows_a_message_only_to_who_may_see_its_video(client, team):
    from generations.services import moderation
    from tests.helpers.factories import GenerationFactory

    owner = MembershipFactory(team=team, role=Role.ADMIN).user
    member = MembershipFactory(team=team, role=Role.MEMBER).user
    endpoint = endpoint_for(owner, team=team.slug, events=["generation.moderated"])
    video = GenerationFactory(owner=member, team=team, visibility="team", prompt="the secret storyboard",
                              payload={"prompt": "the secret storyboard"})
    webhook_recording.record_generation_event(generation=video, event_type="generation.moderated")
    client.force_login(owner)
    assert "the secret storyboard" in page(client, "generations:webhook", endpoint.pk)
    moderation.moderate_generation(generation=video, moderator=UserFactory(staff=True), decision="reject",
                                   reason="not allowed here")
    later_admin = MembershipFactory(team=team, role=Role.ADMIN).user
    client.force_login(later_admin)
    html = page(client, "generations:webhook", endpoint.pk)
    assert "generation.moderated" in html and "the secret storyboard" not in html
    assert "Message not shown: you cannot see its video." in html
