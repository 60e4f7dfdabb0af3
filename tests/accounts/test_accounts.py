"""Accounts on the portal (django-allauth): log-in by name or e-mail, sign-up in the open, approval and invite
modes, e-mail verification before the first submission, password change and reset."""
from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from generations.models import ApiToken, Generation, Membership, UserProfile
from generations.selectors import accounts as account_reads
from generations.services import accounts, teams, tokens
from gmi_project import settings as project_settings
from tests.helpers.accounts import NEW_ACCOUNT, assert_signed_up_into_the_team, logged_in_user
from tests.helpers.factories import VideoModelFactory
from tests.helpers.settings import override_generations

pytestmark = pytest.mark.django_db

User = get_user_model()
PROJECT_POLICY = project_settings.GENERATIONS["SUBMIT_POLICY"]


def _link_in_last_mail(pattern: str) -> str:
    body = mail.outbox[-1].body
    url = next(word for word in body.split() if re.search(pattern, word))
    return url.split("testserver", 1)[1]


def _submit(client):
    return client.post("/api/v1/generations/", {"model": "Veo3", "payload": {"prompt": "a kite over dunes"}},
                       content_type="application/json")


@pytest.fixture
def project_policy():
    with override_generations(SUBMIT_POLICY=PROJECT_POLICY):
        yield


# --------------------------------------------------------------------------- log-in, log-out


def test_login_page_uses_allauths_field_names_and_logs_in_by_username(client, user):
    page = client.get("/accounts/login/").content.decode()
    assert 'name="login"' in page and 'name="password"' in page

    response = client.post("/accounts/login/", {"login": "alice", "password": "pass-word-123"})

    assert response.status_code == 302 and response["Location"] == reverse("generations:gallery")
    assert logged_in_user(client) == user


def test_login_by_email_address_works_too(client, user):
    response = client.post("/accounts/login/", {"login": "ALICE@example.com", "password": "pass-word-123"})

    assert response.status_code == 302
    assert logged_in_user(client) == user


def test_wrong_password_is_refused_on_the_page_with_a_message(client, user):
    response = client.post("/accounts/login/", {"login": "alice", "password": "nope"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "gmi-alert--error" in html and "not correct" in html
    assert logged_in_user(client) is None


def test_the_conventional_url_names_lead_to_allauths_pages(client):
    assert reverse("login") == "/accounts/login/" == reverse("account_login")
    assert reverse("signup") == reverse("account_signup")
    assert reverse("password_change") == reverse("account_change_password")
    assert client.get(reverse("generations:gallery"))["Location"].startswith("/accounts/login/")


def test_log_out_is_a_post_from_the_nav(client, user):
    client.force_login(user)
    html = client.get(reverse("generations:gallery")).content.decode()
    assert f'action="{reverse("logout")}"' in html

    client.post(reverse("logout"))

    assert logged_in_user(client) is None


# --------------------------------------------------------------------------- password change and reset


def test_password_change_works_and_keeps_this_session(client, user):
    client.force_login(user)
    assert client.get(reverse("account_change_password")).status_code == 200

    response = client.post(reverse("account_change_password"), {
        "oldpassword": "pass-word-123", "password1": "Another-pass-99", "password2": "Another-pass-99"})

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("Another-pass-99")
    assert logged_in_user(client) == user


def test_password_reset_sends_a_link_that_sets_a_new_password_and_revokes_the_tokens(client, user):
    tokens.create_token(user=user, name="laptop")
    assert client.get(reverse("account_reset_password")).status_code == 200

    client.post(reverse("account_reset_password"), {"email": "alice@example.com"})

    assert len(mail.outbox) == 1
    form_page = client.get(_link_in_last_mail(r"/accounts/password/reset/key/"), follow=True)
    assert form_page.status_code == 200 and 'name="password1"' in form_page.content.decode()
    done = client.post(form_page.redirect_chain[-1][0], {"password1": "Brand-new-pass-7",
                                                         "password2": "Brand-new-pass-7"}, follow=True)
    assert done.status_code == 200
    user.refresh_from_db()
    assert user.check_password("Brand-new-pass-7")
    assert not account_reads.usable_tokens(user).exists()
    assert ApiToken.objects.get(user=user).revoked_at is not None


# --------------------------------------------------------------------------- sign-up and verification


def test_open_sign_up_sends_a_confirmation_mail_and_the_link_unlocks_the_first_submission(
        client, project_policy, no_auto_dispatch):
    VideoModelFactory(id="Veo3")
    assert 'name="password1"' in client.get(reverse("account_signup")).content.decode()

    response = client.post(reverse("account_signup"), NEW_ACCOUNT)

    user = User.objects.get(username="dora")
    assert response.status_code == 302 and user.is_active and user.email == "dora@example.com"
    assert UserProfile.objects.get(user=user).approved is True
    assert logged_in_user(client) == user
    assert EmailAddress.objects.get(user=user).verified is False
    assert mail.outbox[-1].to == ["dora@example.com"]

    refused = _submit(client)
    assert refused.status_code == 403
    assert refused.json()["code"] == "email_unverified" and "Confirm your e-mail address" in refused.json()["detail"]
    assert not Generation.objects.exists()

    confirm_path = _link_in_last_mail(r"/accounts/confirm-email/")
    confirm_page = client.get(confirm_path)
    assert confirm_page.status_code == 200 and "dora@example.com" in confirm_page.content.decode()
    client.post(confirm_path)

    assert EmailAddress.objects.get(user=user).verified is True
    accepted = _submit(client)
    assert accepted.status_code == 201, accepted.json()
    assert Generation.objects.get().owner == user


def test_the_submit_page_tells_an_unconfirmed_member_what_to_do(client, project_policy, no_auto_dispatch):
    VideoModelFactory(id="Veo3")
    client.post(reverse("account_signup"), NEW_ACCOUNT)

    response = client.post(reverse("generations:submit") + "?model=Veo3", {
        "model": "Veo3", "visibility": "private", "idempotency_key": "k1", "p-prompt": "a kite"})

    assert any("Confirm your e-mail address" in error for error in response.context["top_errors"])
    assert not Generation.objects.exists()


def test_accounts_that_staff_or_the_operator_create_count_as_confirmed(client, project_policy, no_auto_dispatch,
                                                                      capsys):
    VideoModelFactory(id="Veo3")
    made = User.objects.create_user("olga", "olga@example.com", "pass-word-123")

    call_command("gmi_token", "olga")
    key = capsys.readouterr().out.strip()

    answer = client.post("/api/v1/generations/", {"model": "Veo3", "payload": {"prompt": "a heron"}},
                         content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert answer.status_code == 201, answer.json()
    assert Generation.objects.get().owner == made


def test_sign_up_errors_are_shown_and_no_account_is_created(client, user):
    response = client.post(reverse("account_signup"), {**NEW_ACCOUNT, "username": "ALICE", "password2": "different"})

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "username" in errors and "password2" in errors
    assert not User.objects.filter(username="dora").exists()


def test_approval_sign_up_may_confirm_and_log_in_but_not_submit(client, project_policy, no_auto_dispatch):
    VideoModelFactory(id="Veo3")
    with override_generations(SIGNUP="approval", SUBMIT_POLICY=PROJECT_POLICY):
        page = client.get(reverse("account_signup")).content.decode()
        client.post(reverse("account_signup"), NEW_ACCOUNT)
        user = User.objects.get(username="dora")
        client.post(_link_in_last_mail(r"/accounts/confirm-email/"))

        assert "checked by the site staff" in page
        assert UserProfile.objects.get(user=user).approved is False
        assert EmailAddress.objects.get(user=user).verified is True
        assert logged_in_user(client) == user
        assert "Your account waits for approval" in client.get(reverse("generations:gallery")).content.decode()
        refused = _submit(client)
        assert refused.status_code == 403 and refused.json()["code"] == "account_pending"

        accounts.approve_user(user=user)
        assert _submit(client).status_code == 201


def test_invite_mode_without_an_invitation_is_closed(client):
    with override_generations(SIGNUP="invite"):
        page = client.get(reverse("account_signup"))
        client.post(reverse("account_signup"), NEW_ACCOUNT)
        login_page = client.get(reverse("account_login")).content.decode()

    assert "by invitation" in page.content.decode() and 'name="password1"' not in page.content.decode()
    assert not User.objects.filter(username="dora").exists()
    assert f'href="{reverse("account_signup")}' not in login_page and "invitation link" in login_page


def test_invite_mode_with_a_used_invitation_is_refused(client, invitation, other_user):
    teams.accept_invitation(token=invitation.token, user=other_user)

    with override_generations(SIGNUP="invite"):
        client.get(reverse("account_signup"), {"invite": invitation.token})
        client.post(reverse("account_signup"), {**NEW_ACCOUNT, "invitation": invitation.token})

    assert not User.objects.filter(username="dora").exists()


def test_invite_mode_sign_up_joins_the_team_and_lands_on_its_page(client, invitation):
    with override_generations(SIGNUP="invite"):
        page = client.get(reverse("account_signup"), {"invite": invitation.token})
        response = client.post(reverse("account_signup"), NEW_ACCOUNT)  # the invitation rides in the session

    assert_signed_up_into_the_team(client, invitation, page, response)


def test_open_sign_up_with_an_invitation_also_joins_the_team(client, invitation):
    client.post(reverse("account_signup"), {**NEW_ACCOUNT, "invitation": invitation.token})

    assert Membership.objects.filter(user__username="dora", team__slug="studio").exists()


def test_sign_up_keeps_a_safe_next_url_and_ignores_an_offsite_one(client):
    response = client.post(reverse("account_signup"), {**NEW_ACCOUNT, "next": "/usage/"})
    assert response["Location"] == "/usage/"
    client.post(reverse("logout"))

    other = client.post(reverse("account_signup"), {**NEW_ACCOUNT, "username": "eve", "email": "eve@example.com",
                                                    "next": "https://evil.example/"})
    assert other["Location"] == reverse("generations:gallery")


def test_signed_in_members_are_sent_from_sign_up_to_the_gallery(client, user):
    client.force_login(user)

    assert client.get(reverse("account_signup"))["Location"] == reverse("generations:gallery")


def test_the_invitation_page_offers_sign_up_to_visitors(client, invitation):
    html = client.get(reverse("generations:team-join", args=[invitation.token])).content.decode()

    assert "Join Studio" in html
    assert f"{reverse('signup')}?invite={invitation.token}" in html
    assert "/accounts/login/?next=" in html


def test_sign_up_is_rate_limited_per_address(client):
    statuses = []
    for number in range(12):
        response = client.post(reverse("account_signup"), {
            **NEW_ACCOUNT, "username": f"bot{number}", "email": f"bot{number}@example.com"})
        statuses.append(response.status_code)
        client.post(reverse("logout"))

    assert 429 in statuses
    assert User.objects.filter(username__startswith="bot").count() == 10


# --------------------------------------------------------------------------- notification e-mails


def test_notification_e_mails_go_only_to_confirmed_addresses(db):
    from gmi_project.accounts.policies import VerifiedEmailNotificationPolicy
    from tests.helpers.factories import UserFactory

    confirmed, unconfirmed, made_by_staff = UserFactory(), UserFactory(), UserFactory()
    EmailAddress.objects.create(user=confirmed, email=confirmed.email, verified=True, primary=True)
    EmailAddress.objects.create(user=unconfirmed, email=unconfirmed.email, verified=False, primary=True)

    chosen = VerifiedEmailNotificationPolicy().preferences_for(
        user_ids=[confirmed.pk, unconfirmed.pk, made_by_staff.pk], kind="generation_succeeded")

    assert chosen[confirmed.pk][0] == "email" and chosen[made_by_staff.pk][0] == "email"
    assert chosen[unconfirmed.pk][0] == "in_app"
