"""Account security on the portal: two-factor for staff, the log-in lock-out, sessions and API tokens (expiry,
scope, the security page), and what a new password or second factor ends."""
from __future__ import annotations

import time
from datetime import timedelta
from io import StringIO

import pytest
from allauth.mfa.models import Authenticator
from allauth.usersessions.models import UserSession
from axes.models import AccessAttempt
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from generations.exceptions import LockedOut, WrongPassword
from generations.models import ApiToken, AuditEvent
from generations.selectors import accounts as account_reads
from generations.services import accounts, tokens
from tests.helpers.factories import UserFactory
from tests.helpers.totp import totp_now

pytestmark = pytest.mark.django_db

API = "/api/v1"


def log_in(client: Client, login: str, password: str = "pass-word-123", **extra):
    return client.post("/accounts/login/", {"login": login, "password": password}, **extra)


def signed_in(client: Client):
    response = client.get(reverse("generations:gallery"))
    return response.wsgi_request.user if response.status_code == 200 else None


# --------------------------------------------------------------------------- two-factor


@pytest.fixture
def staff_mfa(settings):
    settings.GMI_STAFF_MFA = True


def activate_totp(client: Client, password: str = "pass-word-123") -> str:
    page = client.get(reverse("mfa_activate_totp"))
    if page.status_code == 302 and page["Location"].startswith(reverse("account_reauthenticate")):
        # allauth asks for the password again before a factor is added, however fresh the log-in.
        client.post(page["Location"], {"password": password})
        page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    secret = page.context["form"].secret
    assert secret in page.content.decode()  # shown for typing into an app that cannot scan
    response = client.post(reverse("mfa_activate_totp"), {"code": totp_now(secret)})
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    return secret


def test_staff_without_a_second_factor_are_sent_to_set_one_up_before_the_admin(client, staff_user, staff_mfa):
    assert log_in(client, "staffer").status_code == 302

    sent = client.get("/admin/generations/generation/")

    assert sent.status_code == 302
    assert sent["Location"].startswith(reverse("mfa_activate_totp"))
    assert client.get(reverse("generations:gallery")).status_code == 200  # the rest of the site stays open
    activate_totp(client)
    assert client.get("/admin/").status_code == 200


def test_staff_log_in_with_password_then_a_totp_code_computed_here(client, staff_user, staff_mfa):
    log_in(client, "staffer")
    secret = activate_totp(client)
    client.post(reverse("logout"))

    first_step = log_in(client, "staffer")
    assert first_step["Location"] == reverse("mfa_authenticate")
    assert signed_in(client) is None  # the password alone is not enough any more
    wrong = client.post(reverse("mfa_authenticate"), {"code": "000000" if totp_now(secret) != "000000" else "111111"})
    assert wrong.status_code == 200 and signed_in(client) is None

    done = client.post(reverse("mfa_authenticate"), {"code": totp_now(secret)})

    assert done.status_code == 302 and signed_in(client) == staff_user
    assert client.get("/admin/").status_code == 200
    assert not AccessAttempt.objects.exists()  # a wrong second factor is not a failed password


def test_a_used_totp_code_cannot_log_in_twice(client, staff_user, staff_mfa):
    log_in(client, "staffer")
    secret = activate_totp(client)
    client.post(reverse("logout"))
    code = totp_now(secret)
    log_in(client, "staffer")
    client.post(reverse("mfa_authenticate"), {"code": code})
    client.post(reverse("logout"))

    log_in(client, "staffer")
    again = client.post(reverse("mfa_authenticate"), {"code": code})

    assert again.status_code == 200 and signed_in(client) is None


def test_recovery_codes_log_in_once_each(client, staff_user, staff_mfa):
    log_in(client, "staffer")
    activate_totp(client)
    page = client.get(reverse("mfa_view_recovery_codes")).content.decode()
    codes = Authenticator.objects.get(user=staff_user, type=Authenticator.Type.RECOVERY_CODES).wrap().get_unused_codes()
    assert len(codes) >= 2 and all(code in page for code in codes)
    client.post(reverse("logout"))

    log_in(client, "staffer")
    assert client.post(reverse("mfa_authenticate"), {"code": codes[0]}).status_code == 302
    assert signed_in(client) == staff_user
    client.post(reverse("logout"))

    log_in(client, "staffer")
    assert client.post(reverse("mfa_authenticate"), {"code": codes[0]}).status_code == 200
    assert signed_in(client) is None
    assert client.post(reverse("mfa_authenticate"), {"code": codes[1]}).status_code == 302
    assert signed_in(client) == staff_user


@pytest.mark.django_db(transaction=True)  # allauth announces a new factor on commit, as in production
def test_members_may_turn_two_factor_on_and_it_ends_their_other_sessions():
    user = UserFactory(username="alice")
    phone, laptop = Client(), Client()
    log_in(phone, "alice")
    log_in(laptop, "alice")
    tokens.create_token(user=user, name="ci")

    activate_totp(laptop)
    page = laptop.get(reverse("mfa_index"), follow=True).content.decode()

    assert signed_in(laptop) == user and signed_in(phone) is None
    assert "review or revoke them" in page


def test_the_admin_log_in_is_allauths_with_its_lock_out_and_second_factor(client):
    response = client.get("/admin/login/?next=/admin/")

    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_staff_reset_a_members_second_factor_in_the_admin_with_an_audit_entry(client, staff_user, user):
    log_in(Client(), "alice")
    member = Client()
    log_in(member, "alice")
    activate_totp(member)
    assert Authenticator.objects.filter(user=user).count() == 2  # TOTP and its recovery codes
    client.force_login(staff_user)
    ids = list(Authenticator.objects.filter(user=user).values_list("pk", flat=True))

    response = client.post("/admin/mfa/authenticator/", {"action": "reset_second_factor", "_selected_action": ids},
                           follow=True)

    assert response.status_code == 200 and "was reset for 1 member" in response.content.decode()
    assert not Authenticator.objects.filter(user=user).exists()
    event = AuditEvent.objects.get(action=AuditEvent.Action.MFA_RESET)
    assert event.actor == staff_user and event.target_id == str(user.pk)
    assert sorted(event.data["types"]) == ["recovery_codes", "totp"]


# --------------------------------------------------------------------------- lock-out


def test_fifteen_wrong_passwords_lock_the_account_until_the_cool_off_ends(client, user, settings, monkeypatch):
    settings.AXES_COOLOFF_TIME = timedelta(seconds=3)
    answers = [log_in(client, "alice", "wrong-guess", REMOTE_ADDR=f"203.0.113.{n}").status_code for n in range(15)]

    assert answers[:9] == [200] * 9 and set(answers[10:]) == {429}
    locked = log_in(client, "alice", REMOTE_ADDR="198.51.100.7")  # the right password, from elsewhere
    assert locked.status_code == 429 and signed_in(client) is None
    html = locked.content.decode()
    assert "Try again in 1 minute" in html and int(locked["Retry-After"]) <= 3
    assert log_in(client, "alice@example.com", REMOTE_ADDR="198.51.100.8").status_code == 429  # by e-mail too

    # The cool-off is measured on axes' clock (the time it stamps each attempt with): move it on, not the test.
    later = timezone.now() + timedelta(seconds=3.2)
    monkeypatch.setattr("axes.handlers.proxy.now", lambda: later)

    assert log_in(client, "alice", REMOTE_ADDR="198.51.100.7").status_code == 302
    assert signed_in(client) == user


def test_failures_from_one_address_lock_that_address_for_every_account(client, user, other_user, settings):
    settings.AXES_FAILURE_LIMIT = 5
    for n in range(5):
        log_in(client, f"someone{n}", "guess", REMOTE_ADDR="192.0.2.10")

    assert log_in(client, "bob", REMOTE_ADDR="192.0.2.10").status_code == 429
    assert log_in(client, "bob", REMOTE_ADDR="192.0.2.11").status_code == 302


def test_behind_trusted_proxies_the_forwarded_client_address_is_locked_not_the_proxy(client, user, other_user,
                                                                                     settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.GENERATIONS = {**settings.GENERATIONS, "TRUSTED_PROXY_COUNT": 1}
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for n in range(3):
        log_in(client, f"nobody{n}", "guess", HTTP_X_FORWARDED_FOR="198.51.100.66", **proxy)

    assert log_in(client, "bob", HTTP_X_FORWARDED_FOR="198.51.100.66", **proxy).status_code == 429
    # Another client behind the same proxy is not locked out, whatever it writes on the left.
    assert log_in(client, "bob", HTTP_X_FORWARDED_FOR="198.51.100.66, 203.0.113.9", **proxy).status_code == 302


def test_a_password_asked_again_counts_toward_the_lock_out(user, settings):
    settings.AXES_FAILURE_LIMIT = 3
    factory = RequestFactory()

    def check(password):
        request = factory.delete("/api/v1/me/", REMOTE_ADDR="192.0.2.44")
        accounts.verify_password(request=request, user=user, password=password)

    check("pass-word-123")
    for _ in range(2):
        with pytest.raises(WrongPassword):
            check("nope")
    with pytest.raises(LockedOut):
        check("nope")  # the failure that reaches the limit
    with pytest.raises(LockedOut) as locked:
        check("pass-word-123")
    assert locked.value.status_code == 429 and locked.value.code == "locked_out"


def test_a_locked_out_api_call_answers_json_with_a_code(client, user, settings):
    from gmi_project.accounts.lockout import lockout_response

    settings.AXES_FAILURE_LIMIT = 1
    log_in(client, "alice", "nope", REMOTE_ADDR="192.0.2.5")
    request = RequestFactory().delete("/api/v1/me/", REMOTE_ADDR="192.0.2.5")

    response = lockout_response(request, None, {"username": "alice"})

    assert response.status_code == 429 and response["Content-Type"] == "application/json"
    import json
    body = json.loads(response.content)
    assert body["code"] == "locked_out" and "Try again in" in body["detail"] and body["retry_after"] > 0


# --------------------------------------------------------------------------- API tokens


def test_an_expired_token_is_refused_with_its_own_code(api_client, user):
    token, key = tokens.create_token(user=user, expires_at=timezone.now() + timedelta(hours=1))
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert api_client.get(f"{API}/quota/").status_code == 200

    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = api_client.get(f"{API}/quota/")

    assert response.status_code == 401 and response.json()["code"] == "token_expired"
    assert "expired" in response.json()["detail"]


def test_a_read_only_token_reads_but_may_not_write(api_client, user):
    _, key = tokens.create_token(user=user, scope="read")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

    assert api_client.get(f"{API}/generations/").status_code == 200
    refused = api_client.post(f"{API}/teams/", {"name": "Mine"}, format="json")

    assert refused.status_code == 403 and refused.json()["code"] == "token_scope"
    assert "read-only" in refused.json()["detail"]


def test_a_read_and_submit_token_may_write(api_client, user):
    _, key = tokens.create_token(user=user, scope="read+submit")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

    assert api_client.post(f"{API}/teams/", {"name": "Mine"}, format="json").status_code == 201


def test_tokens_refuse_an_unknown_scope_or_a_past_expiry(user):
    with pytest.raises(ValueError):
        tokens.create_token(user=user, scope="admin")
    with pytest.raises(ValueError):
        tokens.create_token(user=user, expires_at=timezone.now() - timedelta(days=1))


def test_the_token_page_shows_a_new_key_once_without_keeping_it_in_the_session(client, user):
    client.force_login(user)

    response = client.post(reverse("generations:tokens"), {"name": "ci", "scope": "read", "expires_in_days": "30"})

    assert response.status_code == 201 and response["Cache-Control"] == "no-store"
    key = response.context["new_key"]
    assert key.startswith("gmi_") and key in response.content.decode()
    token = ApiToken.objects.get(user=user)
    assert token.scope == "read" and token.expires_at.date() == (timezone.now() + timedelta(days=30)).date()
    for row in Session.objects.all():
        assert key not in str(row.get_decoded()) and key not in row.session_data
    assert key not in client.get(reverse("generations:tokens")).content.decode()


def test_gmi_token_takes_a_scope_and_an_expiry(user):
    out, err = StringIO(), StringIO()

    call_command("gmi_token", "alice", "--scope", "read", "--expires", "7", stdout=out, stderr=err)

    token = tokens.authenticate_key(out.getvalue().strip())
    assert token is not None and token.scope == "read"
    assert timedelta(days=6, hours=23) < token.expires_at - timezone.now() <= timedelta(days=7)
    assert "read" in err.getvalue() and out.getvalue().strip() not in err.getvalue()
    call_command("gmi_token", "alice", "--expires", "2099-01-31", stdout=out, stderr=err)
    assert ApiToken.objects.filter(expires_at__year=2099).exists()


def test_token_creation_and_revocation_are_audited_without_the_key(user):
    token, key = tokens.create_token(user=user, name="ci", scope="read")
    tokens.revoke_token(token=token)

    created = AuditEvent.objects.get(action=AuditEvent.Action.TOKEN_CREATED)
    revoked = AuditEvent.objects.get(action=AuditEvent.Action.TOKEN_REVOKED)
    assert created.actor == user and created.data["scope"] == "read" and revoked.actor == user
    assert key not in str(created.data) and key not in created.target_label


# --------------------------------------------------------------------------- sessions and the security page


def test_the_security_page_lists_sessions_and_tokens_and_ends_them(user):
    here, there = Client(HTTP_USER_AGENT="Firefox here"), Client(HTTP_USER_AGENT="Chromium there")
    log_in(here, "alice")
    log_in(there, "alice")
    tokens.create_token(user=user, name="render script")
    tokens.create_token(user=user, name="backup job")

    page = here.get(reverse("account_security"))
    html = page.content.decode()
    assert page.status_code == 200 and "Firefox here" in html and "Chromium there" in html
    assert "render script" in html and "backup job" in html and "this session" in html
    other = UserSession.objects.get(user=user, user_agent="Chromium there")

    here.post(reverse("account_end_session", args=[other.pk]))
    assert signed_in(there) is None and signed_in(here) == user

    here.post(reverse("account_revoke_all_tokens"))
    assert not account_reads.usable_tokens(user).exists()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.TOKEN_REVOKED).count() == 2


def test_log_out_all_other_sessions(user):
    clients = [Client(HTTP_USER_AGENT=f"browser {n}") for n in range(3)]
    for one in clients:
        log_in(one, "alice")

    clients[0].post(reverse("account_end_other_sessions"))

    assert signed_in(clients[0]) == user
    assert signed_in(clients[1]) is None and signed_in(clients[2]) is None


def test_someone_elses_session_cannot_be_ended(client, user, other_user):
    elsewhere = Client()
    log_in(elsewhere, "bob")
    client.force_login(user)

    client.post(reverse("account_end_session", args=[UserSession.objects.get(user=other_user).pk]))

    assert signed_in(elsewhere) == other_user


def test_changing_the_password_ends_the_other_sessions_and_offers_to_revoke_tokens(user):
    here, there = Client(), Client()
    log_in(here, "alice")
    log_in(there, "alice")
    tokens.create_token(user=user)

    response = here.post(reverse("account_change_password"), {
        "oldpassword": "pass-word-123", "password1": "Another-pass-99", "password2": "Another-pass-99"}, follow=True)

    assert signed_in(here) == user and signed_in(there) is None
    assert "review or revoke them" in response.content.decode()
    assert account_reads.usable_tokens(user).count() == 1  # offered, not done


def test_a_session_ends_after_the_idle_timeout(client, user, settings):
    settings.GMI_SESSION_IDLE_SECONDS = 120
    client.force_login(user)
    assert signed_in(client) == user
    session = client.session
    session["gmi_last_seen"] = int(time.time()) - 121
    session.save()

    response = client.get(reverse("generations:gallery"))

    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert signed_in(client) is None


def test_activity_within_the_idle_timeout_keeps_the_session(client, user, settings):
    settings.GMI_SESSION_IDLE_SECONDS = 120
    client.force_login(user)
    signed_in(client)
    session = client.session
    session["gmi_last_seen"] = int(time.time()) - 100
    session.save()

    assert signed_in(client) == user
    assert client.session["gmi_last_seen"] >= int(time.time()) - 2


def test_staff_created_accounts_get_no_unconfirmed_address(db):
    from gmi_project.accounts.policies import has_unconfirmed_email

    assert has_unconfirmed_email(UserFactory()) is False
