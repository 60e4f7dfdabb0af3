"""The app's own account pages, for host sites without django-allauth: log-in, password change and reset,
and sign-up in the open, approval and invite modes (the portal itself uses allauth: tests/accounts/test_accounts.py)."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from generations.forms import signup_form_class
from generations.models import Membership, TeamInvitation, UserProfile
from generations.services import accounts, teams
from tests.helpers.accounts import NEW_ACCOUNT, assert_signed_up_into_the_team, logged_in_user
from tests.helpers.factories import MembershipFactory, TeamFactory, UserFactory
from tests.helpers.settings import override_generations

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.helpers.app_accounts_urls")]


@pytest.fixture(autouse=True)
def host_login_url(settings):
    # A host site that mounts generations.accounts_urls names its log-in page "login".
    settings.LOGIN_URL = "login"
    settings.LOGOUT_REDIRECT_URL = "login"

User = get_user_model()


def test_login_page_uses_djangos_field_names_and_logs_in(client, user):
    page = client.get(reverse("login")).content.decode()
    assert 'name="username"' in page and 'name="password"' in page

    response = client.post(reverse("login"), {"username": "alice", "password": "pass-word-123"})

    assert response.status_code == 302 and response["Location"] == reverse("generations:gallery")
    assert logged_in_user(client) == user


def test_wrong_password_is_refused_on_the_page(client, user):
    response = client.post(reverse("login"), {"username": "alice", "password": "nope"})

    assert response.status_code == 200
    assert "gmi-alert--error" in response.content.decode()


def test_log_out_is_a_post_from_the_nav(client, user):
    client.force_login(user)
    html = client.get(reverse("generations:gallery")).content.decode()
    assert f'action="{reverse("logout")}"' in html

    client.post(reverse("logout"))

    assert logged_in_user(client) is None


@pytest.mark.parametrize("name", ["password_change", "password_change_done"])
def test_password_change_pages_render_for_a_member(client, user, name):
    client.force_login(user)

    assert client.get(reverse(name)).status_code == 200


def test_password_change_works(client, user):
    client.force_login(user)

    response = client.post(reverse("password_change"), {
        "old_password": "pass-word-123", "new_password1": "Another-pass-99", "new_password2": "Another-pass-99"})

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("Another-pass-99")


def test_password_reset_sends_a_link_that_lets_the_user_choose_a_new_password(client, user):
    assert client.get(reverse("password_reset")).status_code == 200

    client.post(reverse("password_reset"), {"email": "alice@example.com"})

    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    link = next(line for line in body.splitlines() if "/reset/" in line)
    path = link.split("testserver", 1)[1]
    form_page = client.get(path, follow=True)
    assert form_page.status_code == 200 and "Choose a new password" in form_page.content.decode()
    done = client.post(form_page.redirect_chain[-1][0], {"new_password1": "Brand-new-pass-7",
                                                         "new_password2": "Brand-new-pass-7"}, follow=True)
    assert "Your password is set" in done.content.decode()
    user.refresh_from_db()
    assert user.check_password("Brand-new-pass-7")


def test_open_sign_up_creates_an_active_account_and_logs_in(client):
    with override_generations(SIGNUP="open"):
        assert 'name="password1"' in client.get(reverse("signup")).content.decode()
        response = client.post(reverse("signup"), NEW_ACCOUNT)

    user = User.objects.get(username="dora")
    assert response.status_code == 302 and response["Location"] == reverse("generations:gallery")
    assert user.is_active and user.check_password(NEW_ACCOUNT["password1"])
    assert user.email == "dora@example.com"
    assert UserProfile.objects.get(user=user).approved is True
    assert logged_in_user(client) == user


def test_sign_up_errors_are_shown_and_no_account_is_created(client, user):
    response = client.post(reverse("signup"), {**NEW_ACCOUNT, "username": "ALICE", "password2": "different"})

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "username" in errors and "password2" in errors
    assert not User.objects.filter(username="dora").exists()


def test_approval_sign_up_creates_an_unapproved_account_and_asks_to_wait(client):
    with override_generations(SIGNUP="approval"):
        response = client.post(reverse("signup"), NEW_ACCOUNT, follow=True)

    user = User.objects.get(username="dora")
    assert "waits for approval" in response.content.decode()
    assert UserProfile.objects.get(user=user).approved is False
    assert logged_in_user(client) is None


def test_an_approved_account_may_submit_again(client):
    with override_generations(SIGNUP="approval"):
        client.post(reverse("signup"), NEW_ACCOUNT)
    user = User.objects.get(username="dora")

    accounts.approve_user(user=user)

    assert UserProfile.objects.get(user=user).approved is True


def test_invite_mode_without_an_invitation_shows_no_form(client):
    with override_generations(SIGNUP="invite"):
        page = client.get(reverse("signup"))
        post = client.post(reverse("signup"), NEW_ACCOUNT)

    assert page.status_code == 403 and "by invitation" in page.content.decode()
    assert 'name="password1"' not in page.content.decode()
    assert post.status_code == 403
    assert not User.objects.filter(username="dora").exists()


def test_invite_mode_with_a_used_invitation_is_refused(client, invitation, other_user):
    teams.accept_invitation(token=invitation.token, user=other_user)

    with override_generations(SIGNUP="invite"):
        response = client.post(reverse("signup"), {**NEW_ACCOUNT, "invitation": invitation.token})

    assert response.status_code == 403
    assert not User.objects.filter(username="dora").exists()


def test_invite_mode_sign_up_joins_the_team_and_logs_in(client, invitation):
    with override_generations(SIGNUP="invite"):
        page = client.get(reverse("signup"), {"invite": invitation.token})
        response = client.post(reverse("signup"), {**NEW_ACCOUNT, "invitation": invitation.token})

    assert_signed_up_into_the_team(client, invitation, page, response)


def test_open_sign_up_with_an_invitation_also_joins_the_team(client, invitation):
    client.post(reverse("signup"), {**NEW_ACCOUNT, "invitation": invitation.token})

    assert Membership.objects.filter(user__username="dora", team__slug="studio").exists()


def test_sign_up_keeps_a_safe_next_url(client):
    response = client.post(reverse("signup"), {**NEW_ACCOUNT, "next": "/usage/"})
    assert response["Location"] == "/usage/"


def test_sign_up_ignores_an_offsite_next_url(client):
    response = client.post(reverse("signup"), {**NEW_ACCOUNT, "next": "https://evil.example/"})
    assert response["Location"] == reverse("generations:gallery")


def test_signed_in_members_are_sent_from_sign_up_to_the_gallery(client, user):
    client.force_login(user)

    assert client.get(reverse("signup"))["Location"] == reverse("generations:gallery")


def test_login_page_links_to_sign_up_unless_invite_only(client):
    assert reverse("signup") in client.get(reverse("login")).content.decode()
    with override_generations(SIGNUP="invite"):
        html = client.get(reverse("login")).content.decode()
    assert f'href="{reverse("signup")}' not in html
    assert "invitation link" in html


def test_sign_up_form_follows_the_active_user_model():
    form_class = signup_form_class()

    assert form_class._meta.model is User
    assert User.USERNAME_FIELD in form_class.base_fields
    assert {"password1", "password2"} <= set(form_class.base_fields)


def test_profile_for_creates_the_profile_once(user):
    first = accounts.profile_for(user)
    second = accounts.profile_for(user)

    assert first.pk == second.pk and UserProfile.objects.filter(user=user).count() == 1


def test_sign_up_service_refuses_invite_mode_without_a_valid_token():
    from generations.exceptions import NotAllowed

    user = User(username="eve")
    user.set_password("x-Long-pass-1")
    with override_generations(SIGNUP="invite"), pytest.raises(NotAllowed):
        accounts.sign_up(user=user, invitation_token="made-up")

    assert not User.objects.filter(username="eve").exists()


def test_account_pages_fit_a_host_base_template(client, settings, tmp_path):
    (tmp_path / "host").mkdir()
    (tmp_path / "host" / "base.html").write_text(
        "<main id='host'>{% block generations_content %}{% endblock %}</main>")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]

    with override_generations(BASE_TEMPLATE="host/base.html"):
        html = client.get(reverse("login")).content.decode()

    assert "<main id='host'>" in html and 'name="username"' in html


def test_a_host_site_without_the_projects_templates_gets_the_apps_defaults(client, settings):
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": []}]

    html = client.get(reverse("login")).content.decode()

    assert 'name="username"' in html and "gmi-auth" in html


def test_the_invitation_page_offers_sign_up_to_visitors(client, invitation):
    html = client.get(reverse("generations:team-join", args=[invitation.token])).content.decode()

    assert "Join Studio" in html
    assert f"{reverse('signup')}?invite={invitation.token}" in html
    assert reverse("login") + "?next=" in html


def test_unknown_invitation_link_is_404(client):
    assert client.get(reverse("generations:team-join", args=["nope"])).status_code == 404


def test_new_user_in_open_mode_gets_an_invitation_only_once(client, invitation):
    UserFactory(username="frank")
    client.post(reverse("signup"), {**NEW_ACCOUNT, "invitation": invitation.token})

    assert TeamInvitation.objects.get(pk=invitation.pk).accepted_at is not None


# --------------------------------------------------------------------------- waiting for approval


def _png_upload():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("tiny.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, content_type="image/png")


@pytest.mark.parametrize("action", ["token", "team", "add_member", "invite", "upload"])
def test_an_account_waiting_for_approval_may_not_spend_or_reach_others(db, action):
    from generations.exceptions import AccountPending
    from generations.models import ApiToken, Team, Upload
    from generations.services import tokens, uploads

    waiting = UserFactory(awaiting_approval=True)
    team = TeamFactory()
    MembershipFactory(team=team, user=waiting, role=Membership.Role.ADMIN)  # e.g. through an invitation
    someone = UserFactory()
    calls = {
        "token": lambda: tokens.create_token(user=waiting),
        "team": lambda: teams.create_team(user=waiting, name="Mine"),
        "add_member": lambda: teams.add_member(team=team, actor=waiting, username=someone.username),
        "invite": lambda: teams.invite(team=team, actor=waiting),
        "upload": lambda: uploads.upload_reference(user=waiting, uploaded_file=_png_upload()),
    }
    with pytest.raises(AccountPending) as refused:
        calls[action]()
    assert refused.value.code == "account_pending" and "approval" in refused.value.message
    assert not ApiToken.objects.exists() and not Upload.objects.exists()
    assert Team.objects.count() == 1 and team.memberships.count() == 1 and not TeamInvitation.objects.exists()


def test_an_account_waiting_for_approval_logs_in_and_is_told_it_waits(client):
    from generations.models import ApiToken, Team

    with override_generations(SIGNUP="approval"):
        client.post(reverse("signup"), NEW_ACCOUNT)
    client.post(reverse("login"), {"username": "dora", "password": NEW_ACCOUNT["password1"]})
    user = User.objects.get(username="dora")
    assert logged_in_user(client) == user

    assert "Your account waits for approval" in client.get(reverse("generations:gallery")).content.decode()
    tokens_page = client.post(reverse("generations:tokens"), {"name": "ci"})
    teams_page = client.post(reverse("generations:teams"), {"name": "Dora's studio"})

    assert tokens_page.status_code == 200 and "waiting for approval" in tokens_page.content.decode()
    assert "waiting for approval" in teams_page.context["form"].errors["name"][0]
    assert not ApiToken.objects.exists() and not Team.objects.exists()
    accounts.approve_user(user=user)
    assert "Your account waits for approval" not in client.get(reverse("generations:gallery")).content.decode()
    assert client.post(reverse("generations:tokens"), {"name": "ci"}).status_code == 201
