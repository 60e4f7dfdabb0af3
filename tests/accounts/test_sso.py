"""Single sign-on against a real OpenID Connect provider (django-oauth-toolkit, started in its own process):
authorization code flow with PKCE, the ID token checked, a wrong state refused, the sign-up mode obeyed."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth import get_user_model
from django.urls import reverse

from generations.models import Membership, UserProfile
from generations.services import teams
from tests.helpers.factories import MembershipFactory, TeamFactory, UserFactory
from tests.helpers.settings import override_generations

pytestmark = pytest.mark.django_db

User = get_user_model()
CLIENT_ID = "video-portal"
CLIENT_SECRET = "portal-client-secret-5b1e"
CALLBACK = "http://testserver/accounts/oidc/sso/login/callback/"
PEOPLE = {"carol": ("carol-pass-1", "carol@corp.example"), "alice": ("alice-corp-2", "alice@example.com"),
          "dave": ("dave-pass-3", "dave@corp.example")}
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    """The provider on 127.0.0.1, with its own database and signing key; yields its issuer URL."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    env = {**os.environ, "OIDC_PROVIDER_DB": str(tmp_path_factory.mktemp("oidc") / "provider.sqlite3"),
           "OIDC_PROVIDER_KEY": key, "DJANGO_SETTINGS_MODULE": "tests.oidc_provider.settings",
           "OIDC_PROVIDER_USERS": ",".join(f"{name}:{pw}:{email}" for name, (pw, email) in PEOPLE.items())}
    process = subprocess.Popen([sys.executable, "-m", "tests.oidc_provider.serve", CLIENT_ID, CLIENT_SECRET, CALLBACK],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline() if process.stdout else ""
        if not line.startswith("PORT "):
            errors = process.stderr.read() if process.stderr else ""
            raise RuntimeError(f"the OIDC provider did not start: {line}{errors}")
        yield f"http://127.0.0.1:{int(line.split()[1])}/o"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def sso(settings, provider):
    settings.SOCIALACCOUNT_PROVIDERS = {"openid_connect": {"OAUTH_PKCE_ENABLED": True, "APPS": [{
        "provider_id": "sso", "name": "Corp SSO", "client_id": CLIENT_ID, "secret": CLIENT_SECRET,
        "settings": {"server_url": provider, "scope": ["openid", "profile", "email"]}}]}}
    return provider


def start(client) -> str:
    """Press the SSO button on the portal; the authorization URL it sends the browser to."""
    response = client.post("/accounts/oidc/sso/login/")
    assert response.status_code == 302, response
    return response["Location"]


def authorize(provider: str, person: str, authorize_url: str) -> dict[str, str]:
    """The person logs in at the provider and is sent back: the callback's query (code, state)."""
    browser = requests.Session()
    password = PEOPLE[person][0]
    assert browser.post(provider.rsplit("/o", 1)[0] + "/login/", data={"username": person, "password": password},
                        timeout=10).status_code == 200
    answer = browser.get(authorize_url, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text[:500]
    target = urlsplit(answer.headers["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == CALLBACK
    return {name: values[0] for name, values in parse_qs(target.query).items()}


def sign_in(client, provider: str, person: str):
    query = authorize(provider, person, start(client))
    return client.get(f"{urlsplit(CALLBACK).path}?{urlencode(query)}")


def signed_in(client):
    response = client.get(reverse("generations:gallery"))
    return response.wsgi_request.user if response.status_code == 200 else None


def test_the_log_in_page_offers_the_provider_as_a_post_button(client, sso):
    html = client.get("/accounts/login/").content.decode()

    assert "Continue with Corp SSO" in html
    assert 'method="post" action="/accounts/oidc/sso/login/' in html


def test_the_authorization_request_uses_pkce_and_a_state(client, sso):
    query = parse_qs(urlsplit(start(client)).query)

    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) >= 43
    assert query["response_type"] == ["code"] and query["client_id"] == [CLIENT_ID]
    assert query["state"][0] and "openid" in query["scope"][0].split()


def test_first_sign_in_creates_the_account_and_the_next_one_uses_it(client, sso):
    first = sign_in(client, sso, "carol")

    assert first.status_code == 302, first.content.decode()[:2000]
    carol = User.objects.get(email="carol@corp.example")
    assert signed_in(client) == carol
    assert EmailAddress.objects.get(user=carol).verified is True  # the provider vouched for it
    assert UserProfile.objects.get(user=carol).approved is True
    account = SocialAccount.objects.get(user=carol)
    assert account.provider == "sso" and account.extra_data["id_token"]["aud"] == CLIENT_ID
    client.post(reverse("logout"))

    again = sign_in(client, sso, "carol")

    assert again.status_code == 302 and signed_in(client) == carol
    assert User.objects.filter(email="carol@corp.example").count() == 1 and SocialAccount.objects.count() == 1


def test_a_wrong_state_is_refused(client, sso):
    query = authorize(sso, "carol", start(client))

    response = client.get(f"{urlsplit(CALLBACK).path}?{urlencode({**query, 'state': 'forged-state'})}")

    assert response.status_code == 401 and signed_in(client) is None
    assert not User.objects.filter(email="carol@corp.example").exists()


def test_a_code_used_once_cannot_sign_in_again(client, sso):
    query = authorize(sso, "carol", start(client))
    path = f"{urlsplit(CALLBACK).path}?{urlencode(query)}"
    assert client.get(path).status_code == 302
    client.post(reverse("logout"))

    replay = client.get(path)

    assert replay.status_code == 401 and signed_in(client) is None


def test_a_verified_address_links_the_sign_in_to_the_existing_account(client, sso):
    alice = UserFactory(username="alice", email="alice@example.com")

    response = sign_in(client, sso, "alice")

    assert response.status_code == 302 and signed_in(client) == alice
    assert SocialAccount.objects.get().user == alice and User.objects.filter(email="alice@example.com").count() == 1


def test_sso_sign_up_follows_the_approval_mode(client, sso):
    with override_generations(SIGNUP="approval"):
        sign_in(client, sso, "dave")

    dave = User.objects.get(email="dave@corp.example")
    assert UserProfile.objects.get(user=dave).approved is False and signed_in(client) == dave


def test_sso_sign_up_on_an_invite_only_site_needs_an_invitation(client, sso):
    with override_generations(SIGNUP="invite"):
        refused = sign_in(client, sso, "dave")
    assert not User.objects.filter(email="dave@corp.example").exists() and signed_in(client) is None
    assert "invitation" in refused.content.decode()

    owner = UserFactory()
    team = TeamFactory(slug="studio")
    MembershipFactory(team=team, user=owner, role=Membership.Role.OWNER)
    invitation = teams.invite(team=team, actor=owner)
    with override_generations(SIGNUP="invite"):
        client.get(reverse("account_signup"), {"invite": invitation.token})
        sign_in(client, sso, "dave")

    dave = User.objects.get(email="dave@corp.example")
    assert signed_in(client) == dave and Membership.objects.filter(user=dave, team=team).exists()


def test_sso_logins_are_not_counted_as_failed_passwords(client, sso, settings):
    from axes.models import AccessAttempt

    settings.AXES_FAILURE_LIMIT = 1
    for _ in range(3):
        sign_in(client, sso, "carol")
        client.post(reverse("logout"))

    assert not AccessAttempt.objects.exists()


def test_the_id_token_signature_is_checked_against_the_providers_keys(rf, sso):
    import time

    import jwt
    from allauth.socialaccount.adapter import get_adapter
    from allauth.socialaccount.providers.oauth2.client import OAuth2Error

    from gmi_project.accounts.sso import SignatureCheckingAdapter

    adapter = SignatureCheckingAdapter(rf.get("/"), "sso")
    adapter.did_fetch_access_token = True  # as after the code exchange, when allauth alone would skip the check
    app = get_adapter().get_app(rf.get("/"), "sso")
    claims = {"iss": adapter.openid_config["issuer"], "aud": CLIENT_ID, "sub": "1", "exp": int(time.time()) + 300,
              "iat": int(time.time())}
    published_kid = requests.get(adapter.openid_config["jwks_uri"], timeout=10).json()["keys"][0]["kid"]
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, impostor, algorithm="RS256", headers={"kid": published_kid})

    with pytest.raises(OAuth2Error):
        adapter._decode_id_token(app, forged)
    unsigned = jwt.encode(claims, "", algorithm="none", headers={"kid": published_kid})
    with pytest.raises(OAuth2Error):
        adapter._decode_id_token(app, unsigned)


def test_an_sso_log_in_asks_for_the_second_factor_when_one_is_set_up(client, sso):
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    from tests.helpers.totp import totp_now

    sign_in(client, sso, "carol")
    carol = User.objects.get(email="carol@corp.example")
    secret = generate_totp_secret()
    TOTP.activate(carol, secret)
    client.post(reverse("logout"))

    response = sign_in(client, sso, "carol")

    assert response["Location"] == reverse("mfa_authenticate") and signed_in(client) is None
    client.post(reverse("mfa_authenticate"), {"code": totp_now(secret)})
    assert signed_in(client) == carol
