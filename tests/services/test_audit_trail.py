"""Each audited action leaves one row saying who, what, where from, and never a secret."""
from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from generations.models import AuditEvent, Membership, Team, TeamInvitation, UserProfile, WebhookEndpoint
from generations.services import staff, teams, tokens
from tests.helpers.factories import GenerationFactory, MembershipFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db
A = AuditEvent.Action
ALLOWED = "127.0.0.1:9"  # never connected to: creation only checks the policy
ADDRESS = "198.51.100.23"


@pytest.fixture
def local_hooks(settings):
    settings.GENERATIONS = {**settings.GENERATIONS, "WEBHOOK_ALLOWED_HOSTS": [ALLOWED]}


def bearer_client(user) -> tuple[APIClient, str]:
    _, key = tokens.create_token(user=user, name="audit")
    client = APIClient(REMOTE_ADDR=ADDRESS)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_X_REQUEST_ID="audit-req")
    return client, key


def only(action) -> AuditEvent:
    events = list(AuditEvent.objects.filter(action=action))
    assert len(events) == 1, [str(e) for e in AuditEvent.objects.all()]
    return events[0]


def stored_text() -> str:
    return json.dumps(list(AuditEvent.objects.values()), default=str)


def test_webhook_endpoint_created_rotated_and_deleted_are_recorded_without_secrets(local_hooks):
    alice = UserFactory(username="alice")
    client, key = bearer_client(alice)
    created = client.post("/api/v1/webhooks/", {"url": f"http://{ALLOWED}/in?token=abc123",
                                                "events": ["generation.failed"]}, format="json")
    assert created.status_code == 201
    endpoint_id, first_secret = created.json()["id"], created.json()["secret"]
    rotated = client.post(f"/api/v1/webhooks/{endpoint_id}/rotate/")
    assert rotated.status_code == 200
    assert client.delete(f"/api/v1/webhooks/{endpoint_id}/").status_code == 204
    for action in (A.WEBHOOK_CREATED, A.WEBHOOK_ROTATED, A.WEBHOOK_DELETED):
        event = only(action)
        assert (event.actor, event.target_id) == (alice, endpoint_id)
        assert (event.client_ip, event.request_id) == (ADDRESS, "audit-req")
    assert only(A.WEBHOOK_CREATED).data == {"events": ["generation.failed"]}
    text = stored_text()
    for secret in (first_secret, rotated.json().get("secret", "whsec_"), key, "abc123"):
        assert secret not in text
    assert not WebhookEndpoint.objects.exists()


def test_submission_secret_rotation_is_recorded_without_the_secret():
    bob = UserFactory(username="bob")
    client, _ = bearer_client(bob)
    answer = client.post("/api/v1/webhooks/submission-secret/")
    assert answer.status_code in (200, 201)
    event = only(A.SUBMISSION_SECRET_ROTATED)
    assert event.actor == bob and event.target_type == "generations.userprofile"
    assert answer.json()["secret"] not in stored_text()


def test_member_invited_by_name_accepting_role_changed_and_removed_are_recorded_with_the_team():
    owner = UserFactory(username="owner")
    MembershipFactory(user=UserFactory(username="carol"), team=(team := TeamFactory(slug="crew")),
                      role=Membership.Role.MEMBER)
    Membership.objects.create(team=team, user=owner, role=Membership.Role.OWNER)
    dave = UserFactory(username="dave")
    client, _ = bearer_client(owner)
    assert client.post("/api/v1/teams/crew/members/", {"username": "dave", "role": "member"},
                       format="json").status_code == 202
    invitation = TeamInvitation.objects.get(team=team, username="dave")
    teams.accept_named_invitation(invitation_id=invitation.pk, user=dave)
    assert client.post("/api/v1/teams/crew/members/", {"username": "carol", "role": "admin"},
                       format="json").status_code == 200
    assert client.delete("/api/v1/teams/crew/members/dave/").status_code == 204
    invited, accepted = only(A.MEMBER_INVITED), only(A.MEMBER_ACCEPTED)
    changed, removed = only(A.ROLE_CHANGED), only(A.MEMBER_REMOVED)
    assert all(e.actor == owner and e.team == team and e.client_ip == ADDRESS for e in (invited, changed, removed))
    assert invited.data == {"role": "member", "username": "dave"}
    assert accepted.actor == dave and accepted.team == team
    assert changed.data == {"from": "member", "to": "admin"} and "carol" in changed.target_label
    assert "dave" in removed.target_label
    assert invitation.token not in stored_text()


def test_invitation_sent_and_accepted_are_recorded_without_the_link_token():
    owner, erin = UserFactory(username="owner2"), UserFactory(username="erin")
    team = TeamFactory(slug="band")
    Membership.objects.create(team=team, user=owner, role=Membership.Role.OWNER)
    invitation = teams.invite(team=team, actor=owner, email="erin@example.com", role=Membership.Role.ADMIN)
    teams.accept_invitation(token=invitation.token, user=erin)
    invited, accepted = only(A.MEMBER_INVITED), only(A.MEMBER_ACCEPTED)
    assert invited.actor == owner and invited.team == team and invited.data == {"role": "admin"}
    assert accepted.actor == erin and accepted.team == team and accepted.data["role"] == "admin"
    assert invitation.token not in stored_text()


def test_quota_changes_by_command_and_service_are_recorded_with_before_and_after():
    frank, team = UserFactory(username="frank"), TeamFactory(slug="pool")
    call_command("gmi_quota", "frank", "--daily-jobs", "7", stdout=open("/dev/null", "w"))  # noqa: SIM115
    staff.set_team_limits(team=team, limits={"monthly_credits": 500})
    staff.set_team_limits(team=team, limits={"monthly_credits": 500})  # unchanged: no second row
    events = list(AuditEvent.objects.filter(action=A.QUOTA_CHANGED).order_by("id"))
    assert len(events) == 2
    assert events[0].target_type == "generations.userprofile" and "frank" in events[0].target_label
    assert events[0].data == {"limits": {"daily_jobs": {"from": None, "to": 7}}}
    assert events[1].team == team and events[1].data == {"limits": {"monthly_credits": {"from": None, "to": 500}}}
    assert UserProfile.objects.get(user=frank).daily_jobs == 7


def test_quota_changes_in_the_admin_are_recorded_with_the_staff_member(client):
    staff = UserFactory(username="root", is_staff=True, is_superuser=True)
    team = TeamFactory(name="Pool", slug="pool2")
    client.force_login(staff)
    form = {"name": "Pool", "slug": "pool2", "monthly_video_seconds": "120", "monthly_credits": "",
            "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0",
            "memberships-MIN_NUM_FORMS": "0", "memberships-MAX_NUM_FORMS": "1000"}
    response = client.post(f"/admin/generations/team/{team.pk}/change/", form, REMOTE_ADDR=ADDRESS)
    assert response.status_code == 302, response.content[:2000]
    event = only(A.QUOTA_CHANGED)
    assert event.actor == staff and event.team == team and event.client_ip == ADDRESS
    assert event.data == {"limits": {"monthly_video_seconds": {"from": None, "to": 120}}}
    assert Team.objects.get(pk=team.pk).monthly_video_seconds == 120


def test_moderation_decision_is_recorded_with_the_moderator_and_reason():
    staff = UserFactory(username="mod", is_staff=True, is_superuser=True)
    generation = GenerationFactory(succeeded=True)
    client, _ = bearer_client(staff)
    response = client.post(f"/api/v1/generations/{generation.pk}/moderate/",
                           {"decision": "reject", "reason": "Violates the rules"}, format="json")
    assert response.status_code == 200
    event = only(A.MODERATION_DECIDED)
    assert event.actor == staff and event.target_id == str(generation.pk)
    assert event.data == {"decision": "reject", "reason": "Violates the rules"}


def test_sign_in_failed_sign_in_and_sign_out_are_recorded_without_the_password(client):
    UserFactory(username="gina")  # password "pass-word-123"
    # django-allauth's log-in form names the field "login" (SPEC §3.5).
    failed = client.post("/accounts/login/", {"login": "gina", "password": "wrong-horse-9"},
                         REMOTE_ADDR=ADDRESS)
    assert failed.status_code == 200
    signed_in = client.post("/accounts/login/", {"login": "gina", "password": "pass-word-123"},
                            REMOTE_ADDR=ADDRESS)
    assert signed_in.status_code == 302
    assert client.post("/accounts/logout/", REMOTE_ADDR=ADDRESS).status_code in (200, 302)
    miss = only(A.LOGIN_FAILED)
    assert miss.actor is None and miss.actor_name == "gina" and miss.client_ip == ADDRESS
    login, logout = only(A.LOGIN), only(A.LOGOUT)
    assert login.actor.username == "gina" and login.client_ip == ADDRESS and login.request_id
    assert logout.actor.username == "gina"
    text = stored_text()
    assert "wrong-horse-9" not in text and "pass-word-123" not in text


def test_quota_override_edited_on_a_profile_in_the_admin_is_recorded(client):
    staff = UserFactory(username="root2", is_staff=True, is_superuser=True)
    hank = UserFactory(username="hank")
    profile, _ = UserProfile.objects.get_or_create(user=hank)
    client.force_login(staff)
    form = {"user": hank.pk, "approved": "on", "daily_jobs": "3", "concurrent_jobs": "", "monthly_video_seconds": "",
            "monthly_credits": "", "current_team": ""}
    response = client.post(f"/admin/generations/userprofile/{profile.pk}/change/", form)
    assert response.status_code == 302, _form_errors(response)
    event = only(A.QUOTA_CHANGED)
    assert event.actor == staff and "hank" in event.target_label
    assert event.data == {"limits": {"daily_jobs": {"from": None, "to": 3}}}


def test_members_added_and_roles_changed_in_the_team_admin_are_recorded(client):
    staff = UserFactory(username="root3", is_staff=True, is_superuser=True)
    team = TeamFactory(name="Film", slug="film")
    ivy, jack = UserFactory(username="ivy"), UserFactory(username="jack")
    owner = Membership.objects.create(team=team, user=UserFactory(username="own"), role=Membership.Role.OWNER)
    kept = Membership.objects.create(team=team, user=ivy, role=Membership.Role.MEMBER)
    client.force_login(staff)
    form = {"name": "Film", "slug": "film", "monthly_video_seconds": "", "monthly_credits": "",
            "memberships-TOTAL_FORMS": "3", "memberships-INITIAL_FORMS": "2",
            "memberships-MIN_NUM_FORMS": "0", "memberships-MAX_NUM_FORMS": "1000"}
    rows = [(owner.pk, owner.user_id, "owner"), (kept.pk, ivy.pk, "admin"), ("", jack.pk, "member")]
    for n, (pk, user_id, role) in enumerate(rows):
        form.update({f"memberships-{n}-id": pk, f"memberships-{n}-team": team.pk,
                     f"memberships-{n}-user": user_id, f"memberships-{n}-role": role})
    response = client.post(f"/admin/generations/team/{team.pk}/change/", form)
    assert response.status_code == 302, _form_errors(response)
    changed, added = only(A.ROLE_CHANGED), only(A.MEMBER_ADDED)
    assert changed.actor == staff and changed.data == {"from": "member", "to": "admin"} and changed.team == team
    assert added.actor == staff and "jack" in added.target_label and added.data == {"role": "member"}
    assert not AuditEvent.objects.filter(action=A.QUOTA_CHANGED).exists()


def _form_errors(response) -> str:
    context = response.context
    found = [str(context["errors"])] if "errors" in context else []
    found += [f"{fs.formset.errors} {fs.formset.non_form_errors()}" for fs in context.get("inline_admin_formsets", [])]
    return " | ".join(found)
