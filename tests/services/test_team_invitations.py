"""Team membership only by consent: inviting by username, accepting or declining, and nothing reaching
anyone who has not accepted (no e-mail, bell, quota alert or webhook notice), whatever the team is named."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from generations.exceptions import AccountPending, InvalidTransition, NotFound
from generations.models import Membership, Notification, NotificationPreference, TeamInvitation, WebhookEndpoint
from generations.selectors import teams as team_reads
from generations.services import accounts, teams
from generations.services.notifications import delivery as notification_delivery
from generations.services.notifications import recording as notification_recording
from generations.services.webhooks import delivery as webhook_delivery
from generations.services.webhooks import signing as webhook_signing
from tests.helpers.factories import MembershipFactory, TeamFactory, UserFactory
from tests.helpers.settings import override_generations

pytestmark = pytest.mark.django_db

API = "/api/v1"
K = Notification.Kind
PHISHING = "URGENT account locked: verify at https://evil.example/login"


@pytest.fixture
def attacker():
    return UserFactory(username="mallory")


@pytest.fixture
def phishing_team(attacker):
    return teams.create_team(user=attacker, name=PHISHING)


@pytest.fixture
def victim():
    victim = UserFactory(username="victim", email="victim@example.com")
    for kind in (K.WEBHOOK_DISABLED, K.QUOTA_THRESHOLD):
        NotificationPreference.objects.create(user=victim, kind=kind, channel="email")
    return victim


def _api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def _disable_team_webhook(team, owner):
    hook = WebhookEndpoint.objects.create(owner=owner, team=team, url="https://hooks.example.com/in",
                                          events=["generation.failed"], secret=webhook_signing.new_secret())
    webhook_delivery._disable(hook, reason="The receiver answered 410 Gone.")


def _pool_alert(team):
    notification_recording.announce_quota_threshold(generation=None, team=team, quota={
        "metric": "monthly_credits", "limit": 100, "used": 100, "percent": 100, "threshold": 100,
        "period": "2026-12", "scope": "team", "resets_at": "2027-01-01T00:00:00+00:00"})


def test_adding_by_username_makes_nobody_a_member_and_tells_the_invitee_nothing(attacker, phishing_team, victim):
    answer = _api(attacker).post(f"{API}/teams/{phishing_team.slug}/members/",
                                 {"username": "victim", "role": "admin"}, format="json")

    assert answer.status_code == 202 and answer.json()["status"] == "invited"
    assert not Membership.objects.filter(team=phishing_team, user=victim).exists()
    assert not Notification.objects.filter(recipient=victim).exists() and not mail.outbox
    # The invitation waits on the victim's Teams page, to be accepted or declined there.
    assert [i.team for i in team_reads.invitations_for(victim)] == [phishing_team]


def test_the_answer_never_tells_whether_a_username_exists(attacker, phishing_team, victim):
    client = _api(attacker)

    def answer(username):
        response = client.post(f"{API}/teams/{phishing_team.slug}/members/", {"username": username}, format="json")
        return response.status_code, {k: v for k, v in response.json().items() if k != "username"}

    assert answer("victim") == answer("no-such-person")
    assert answer("victim") == answer("no-such-person")  # asked again: still the same


def test_a_team_webhook_disabled_or_a_pool_alert_reaches_only_managers_who_accepted(attacker, phishing_team,
                                                                                     victim):
    teams.add_member(team=phishing_team, actor=attacker, username="victim", role="admin")

    _disable_team_webhook(phishing_team, attacker)
    _pool_alert(phishing_team)
    notification_delivery.send_pending_emails()

    assert not Notification.objects.filter(recipient=victim).exists()
    assert not [m for m in mail.outbox if "victim@example.com" in m.to]

    invitation = TeamInvitation.objects.get(team=phishing_team, username="victim")
    teams.accept_named_invitation(invitation_id=invitation.pk, user=victim)
    _pool_alert(TeamFactory._meta.model.objects.get(pk=phishing_team.pk))

    assert Notification.objects.filter(recipient=victim, kind=K.QUOTA_THRESHOLD).count() == 1


def test_a_membership_staff_made_is_not_told_anything_until_it_is_opened(attacker, phishing_team, victim):
    MembershipFactory(team=phishing_team, user=victim, role="admin", seen_at=None)

    _pool_alert(phishing_team)
    assert not Notification.objects.filter(recipient=victim).exists()

    teams.open_team(user=victim, team=phishing_team)
    _disable_team_webhook(phishing_team, attacker)
    assert Notification.objects.filter(recipient=victim, kind=K.WEBHOOK_DISABLED).exists()


def test_the_invitee_accepts_or_declines_in_the_app(client, attacker, phishing_team, victim):
    teams.add_member(team=phishing_team, actor=attacker, username="victim")
    client.force_login(victim)
    page = client.get(reverse("generations:teams")).content.decode()
    invitation = TeamInvitation.objects.get(username="victim")
    assert "Invitations for you" in page and reverse("generations:team-invitation-accept", args=[invitation.pk]) in page

    client.post(reverse("generations:team-invitation-decline", args=[invitation.pk]))

    assert not Membership.objects.filter(user=victim, team=phishing_team).exists()
    assert "Invitations for you" not in client.get(reverse("generations:teams")).content.decode()
    # A declined invitation is not renewed by asking again: no pestering.
    teams.add_member(team=phishing_team, actor=attacker, username="victim")
    assert not team_reads.invitations_for(victim).exists()
    with pytest.raises(NotFound):
        teams.accept_named_invitation(invitation_id=invitation.pk, user=victim)


def test_only_the_addressee_can_accept_an_invitation(attacker, phishing_team, victim):
    invitation = teams.add_member(team=phishing_team, actor=attacker, username="victim")
    with pytest.raises(NotFound):
        teams.accept_named_invitation(invitation_id=invitation.pk, user=UserFactory(username="someone-else"))
    with pytest.raises(InvalidTransition):  # its token is no invitation link
        teams.accept_invitation(token=invitation.token, user=victim)
    assert not Membership.objects.filter(team=phishing_team).exclude(user=attacker).exists()


def test_invitations_by_username_count_toward_the_open_invitations_cap(attacker, phishing_team):
    with override_generations(MAX_PENDING_INVITATIONS_PER_TEAM=2):
        teams.add_member(team=phishing_team, actor=attacker, username="a")
        teams.invite(team=phishing_team, actor=attacker)
        response = _api(attacker).post(f"{API}/teams/{phishing_team.slug}/members/", {"username": "b"},
                                       format="json")
    assert response.status_code == 429 or response.json()["code"] == "limit_reached"
    assert TeamInvitation.objects.filter(team=phishing_team).count() == 2


def test_an_expired_invitation_cannot_be_accepted(attacker, phishing_team, victim):
    invitation = teams.add_member(team=phishing_team, actor=attacker, username="victim")
    TeamInvitation.objects.filter(pk=invitation.pk).update(created_at=timezone.now() - timedelta(days=30))
    with pytest.raises(NotFound):
        teams.accept_named_invitation(invitation_id=invitation.pk, user=victim)


# --------------------------------------------------------------------------- accounts waiting for approval


def test_a_pending_account_cannot_accept_an_invitation_by_api_or_page(client, attacker, phishing_team):
    waiting = UserFactory(username="waiting", awaiting_approval=True)
    named = teams.add_member(team=phishing_team, actor=attacker, username="waiting")
    link = teams.invite(team=phishing_team, actor=attacker)

    refused = _api(waiting).post(f"{API}/invitations/{named.pk}/accept/")
    assert refused.status_code == 403 and refused.json()["code"] == "account_pending"
    client.force_login(waiting)
    page = client.post(reverse("generations:team-join", args=[link.token]))
    assert page.status_code == 403 and "waiting for approval" in page.content.decode()
    shown = client.get(reverse("generations:team-join", args=[link.token])).content.decode()
    assert "You can join this team once it is approved" in shown and "Join the team</button>" not in shown
    with pytest.raises(AccountPending):
        teams.accept_named_invitation(invitation_id=named.pk, user=waiting)
    assert not Membership.objects.filter(user=waiting).exists()

    accounts.approve_user(user=waiting)
    approved = type(waiting).objects.get(pk=waiting.pk)  # without the profile cached on the old object
    assert _api(approved).post(f"{API}/invitations/{named.pk}/accept/").status_code == 200


def test_signing_up_under_approval_with_an_invitation_joins_nothing_yet(attacker, phishing_team):
    link = teams.invite(team=phishing_team, actor=attacker)
    newcomer = UserFactory.build(username="newcomer")
    with override_generations(SIGNUP="approval"):
        result = accounts.sign_up(user=newcomer, invitation_token=link.token)
    assert result.membership is None and not result.approved
    assert not Membership.objects.filter(user=result.user).exists()
    link.refresh_from_db()
    assert link.accepted_at is None  # usable once staff approve the account
