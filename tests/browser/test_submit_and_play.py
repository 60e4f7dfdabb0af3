"""In Chromium: log in, submit a job through the form, watch it finish and play it."""
from __future__ import annotations

import pytest

from generations.models import Generation
from tests.browser.world import SHOTS, log_in
from tests.helpers.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]
# Predicates are passed as functions: Playwright eval()s plain expressions in the page,
# which the site's Content-Security-Policy (no 'unsafe-eval') refuses.


def test_job_submitted_in_the_browser_plays_when_done(catalogue, live_server, page, engine, transactional_db):
    UserFactory(username="carmen")
    log_in(page, live_server.url, "carmen")
    page.wait_for_url(live_server.url + "/")

    page.goto(live_server.url + "/generations/new/?model=Veo3")
    page.fill("textarea[name='p-prompt']", "a lantern floating over a lake at night")
    page.wait_for_function(
        "() => document.querySelector('[data-quote]').textContent.includes('credits')", timeout=10000
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "submit.png"), full_page=True)
    page.click("[data-submit-button]")
    page.wait_for_url("**/generations/*/", timeout=10000)

    generation = Generation.objects.get(owner__username="carmen")
    # The page reloads itself when the job is done; then the player loads the mirrored MP4.
    page.wait_for_selector("video.gmi-player", timeout=30000)
    page.wait_for_function("() => document.querySelector('video.gmi-player').readyState >= 2", timeout=20000)
    duration = page.evaluate("document.querySelector('video.gmi-player').duration")
    assert duration > 0
    page.screenshot(path=str(SHOTS / "detail.png"), full_page=True)
    generation.refresh_from_db()
    assert generation.status == Generation.Status.SUCCEEDED

    page.goto(live_server.url + "/")
    card = page.locator(f"[data-generation-id='{generation.pk}']")
    assert "Ready" in card.inner_text()
    page.wait_for_function(
        f"() => document.querySelector(\"[data-generation-id='{generation.pk}'] img\").naturalWidth > 0", timeout=10000)
    page.screenshot(path=str(SHOTS / "gallery.png"), full_page=True)


def test_the_bell_counts_up_when_a_notification_arrives_and_down_when_read(live_server, page, settings,
                                                                           transactional_db):
    from generations.services.lifecycle import transition
    from generations.services.notifications import inbox as notification_inbox
    from tests.helpers.factories import GenerationFactory

    settings.GENERATIONS = {**settings.GENERATIONS, "NOTIFICATION_BELL_REFRESH_SECONDS": 0.5}
    member = UserFactory(username="dora")
    log_in(page, live_server.url, "dora")
    page.wait_for_url(live_server.url + "/")
    count = page.locator("[data-bell-count]").first
    assert count.is_hidden()

    # Two jobs finish while the page is open: the bell follows without a reload.
    for prompt in ("a paper boat on a river", "a comet over a desert"):
        transition(GenerationFactory(owner=member, prompt=prompt, status=Generation.Status.MIRRORING),
                   Generation.Status.SUCCEEDED)
    page.wait_for_function(
        "() => { const c = document.querySelector('[data-bell-count]'); return !c.hidden && c.textContent === '2'; }",
        timeout=15000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "bell.png"))

    # Read elsewhere (another tab, the API): the count goes down here too.
    notification_inbox.mark_read(user=member, ids=[member.gmi_notifications.order_by("created_at").first().pk])
    page.wait_for_function("() => document.querySelector('[data-bell-count]').textContent === '1'", timeout=15000)

    page.click("[data-notification-bell]")
    page.wait_for_url("**/notifications/")
    assert "a comet over a desert" in page.inner_text("main")
    page.screenshot(path=str(SHOTS / "notifications.png"), full_page=True)
    page.click("[data-mark-all-read]")
    page.wait_for_url("**/notifications/")
    assert page.locator("[data-bell-count]").first.is_hidden()
    assert member.gmi_notifications.filter(read_at__isnull=True).count() == 0

    page.click("text=Settings")
    page.wait_for_url("**/notifications/settings/")
    page.check("input[name='generation_succeeded-channel'][value='in_app']")
    page.click("button[type='submit']:has-text('Save')")
    page.wait_for_url("**/notifications/settings/")
    page.screenshot(path=str(SHOTS / "notification_settings.png"), full_page=True)
    assert member.gmi_notification_preferences.get(kind="generation_succeeded").channel == "in_app"
