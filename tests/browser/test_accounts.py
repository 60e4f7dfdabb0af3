"""In Chromium, at a desktop and a phone width: log-in, sign-up, two-factor set-up and the security page work
and pass axe-core with no serious or critical violation."""
from __future__ import annotations

import re

import pytest
from django.core import mail

from tests.browser.world import SHOTS, log_in, run_axe, serious
from tests.helpers.factories import UserFactory
from tests.helpers.pages import blocked_by_the_csp, console_messages

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

WIDTHS = [1280, 390]


def check_page(page, name: str) -> None:
    """No serious/critical axe finding, nothing wider than the screen, nothing the CSP blocked."""
    assert [{"id": v["id"], "nodes": [n["target"] for n in v["nodes"]][:3]} for v in serious(run_axe(page))] == [], name
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{name}: {overflow}px sideways"
    SHOTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"] if page.viewport_size else 0
    page.screenshot(path=str(SHOTS / f"account-{name.replace(' ', '-')}-{width}.png"), full_page=True)


@pytest.mark.parametrize("width", WIDTHS)
def test_log_in_and_sign_up_pages(live_server, page, transactional_db, width):
    page.set_viewport_size({"width": width, "height": 900})
    csp_errors = console_messages(page, blocked_by_the_csp)
    UserFactory(username="carmen")

    page.goto(live_server.url + "/accounts/login/")
    check_page(page, "log-in")
    page.goto(live_server.url + "/accounts/signup/")
    check_page(page, "sign-up")
    page.fill("input[name='username']", "dora")
    page.fill("input[name='email']", "dora@example.com")
    page.fill("input[name='password1']", "a-Long-passphrase-42")
    page.fill("input[name='password2']", "a-Long-passphrase-42")
    page.click("form.gmi-form button[type='submit']")
    page.wait_for_url(live_server.url + "/")
    assert mail.outbox and mail.outbox[-1].to == ["dora@example.com"]

    page.goto(live_server.url + "/accounts/logout/")
    check_page(page, "log-out")
    page.click("form.gmi-form button[type='submit']")
    log_in(page, live_server.url, "carmen", "wrong")
    assert "not correct" in page.inner_text("main")
    check_page(page, "log-in with an error")
    log_in(page, live_server.url, "carmen")
    page.wait_for_url(live_server.url + "/")
    assert csp_errors == []


@pytest.mark.parametrize("width", WIDTHS)
def test_two_factor_set_up_and_security_pages(live_server, page, transactional_db, width):
    page.set_viewport_size({"width": width, "height": 900})
    csp_errors = console_messages(page, blocked_by_the_csp)
    UserFactory(username="carmen")
    log_in(page, live_server.url, "carmen")
    page.wait_for_url(live_server.url + "/")

    page.goto(live_server.url + "/accounts/2fa/")
    check_page(page, "two-factor overview")
    page.goto(live_server.url + "/accounts/2fa/totp/activate/")
    if "/reauthenticate/" in page.url:
        check_page(page, "confirm password")
        page.fill("input[name='password']", "pass-word-123")
        page.click("form.gmi-form button[type='submit']")
        page.wait_for_url(re.compile(r".*/2fa/totp/activate/.*"))
    check_page(page, "authenticator app set-up")
    secret = page.locator("#authenticator_secret, [data-totp-secret], input[readonly]").first.input_value()
    from tests.helpers.totp import totp_now

    page.fill("input[name='code']", totp_now(secret))
    page.click("form.gmi-form button[type='submit']")
    page.wait_for_url(re.compile(r".*/2fa/.*"))
    assert "/activate/" not in page.url
    check_page(page, "after set-up")
    page.goto(live_server.url + "/accounts/2fa/recovery-codes/")
    check_page(page, "recovery codes")
    page.goto(live_server.url + "/accounts/2fa/webauthn/add/")
    check_page(page, "security key")

    page.goto(live_server.url + "/accounts/security/")
    assert "Sessions and tokens" in page.inner_text("h1")
    check_page(page, "security")
    page.goto(live_server.url + "/accounts/email/")
    check_page(page, "e-mail")
    page.goto(live_server.url + "/accounts/password/change/")
    check_page(page, "password")
    assert csp_errors == []
