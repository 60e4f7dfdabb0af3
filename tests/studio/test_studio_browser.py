"""In Chromium: a compare plays in sync, a share link opens with no cookies, a batch preview marks the bad row."""
from __future__ import annotations

import pytest
from django.urls import reverse

from generations.models import Batch, Generation
from generations.services import shares
from tests.helpers.factories import VideoModelFactory
from tests.helpers.media import mirrored_generation
from tests.helpers.pages import console_messages

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]
# Predicates are functions: Playwright eval()s plain expressions, which the CSP (no 'unsafe-eval') refuses.


def test_a_compare_of_three_models_plays_in_sync(signed_in_page):
    page, user = signed_in_page.page, signed_in_page.user
    batch = Batch.objects.create(owner=user, kind=Batch.Kind.COMPARE, size=3)
    for model_id in ("Veo3", "Luma-Ray2", "Veo3-Fast"):
        generation = mirrored_generation(owner=user, model=VideoModelFactory(id=model_id))
        Generation.objects.filter(pk=generation.pk).update(batch=batch)
    page.goto(signed_in_page.url + reverse("generations:compare-detail", args=[batch.pk]))
    assert page.locator("video[data-sync-video]").count() == 3
    page.wait_for_function(
        "() => [...document.querySelectorAll('video[data-sync-video]')].every(v => v.readyState >= 2)", timeout=20000)

    page.click("[data-sync-play]")
    page.wait_for_function(
        "() => [...document.querySelectorAll('video[data-sync-video]')].every(v => !v.paused && v.currentTime > 0.5)",
        timeout=10000)
    times = page.evaluate("() => [...document.querySelectorAll('video[data-sync-video]')].map(v => v.currentTime)")
    assert max(times) - min(times) < 0.25, times

    page.click("[data-sync-play]")
    page.wait_for_function(
        "() => [...document.querySelectorAll('video[data-sync-video]')].every(v => v.paused)", timeout=5000)
    assert page.get_attribute("[data-sync-play]", "aria-pressed") == "false"

    page.fill("[data-sync-seek]", "500")  # one seek moves all of them to the middle
    page.wait_for_function(
        "() => [...document.querySelectorAll('video[data-sync-video]')]"
        ".every(v => Math.abs(v.currentTime - 1.5) < 0.1)",
        timeout=5000)
    assert signed_in_page.console_errors == []


def test_the_share_page_opens_in_a_fresh_context_without_cookies(signed_in_page, browser):
    video = mirrored_generation(owner=signed_in_page.user)
    Generation.objects.filter(pk=video.pk).update(title="Harbour at dawn")
    _, token = shares.create_share_link(generation=video, user=signed_in_page.user, allow_download=False)
    fresh = browser.new_context()  # nobody logged in: no cookies at all
    try:
        assert fresh.cookies() == []
        page = fresh.new_page()
        errors = console_messages(page)
        response = page.goto(signed_in_page.url + f"/s/{token}/")
        assert response.status == 200
        assert page.inner_text("h1") == "Harbour at dawn"
        page.wait_for_function("() => document.querySelector('video[data-share-video]').readyState >= 2",
                               timeout=20000)
        assert page.evaluate("() => document.querySelector('video').duration") > 2
        assert page.locator("nav, .gmi-nav, a[href='/']").count() == 0  # no way into the site
        assert page.locator("text=Download the video").count() == 0  # the owner turned it off
        assert errors == []  # the CSP blocked nothing
        shares.revoke_share_link(share=video.share_links.get(), user=signed_in_page.user)
        assert page.goto(signed_in_page.url + f"/s/{token}/").status == 404
    finally:
        fresh.close()


def test_a_batch_uploads_preview_marks_the_bad_row(signed_in_page):
    page = signed_in_page.page
    VideoModelFactory(id="Veo3")
    page.goto(signed_in_page.url + reverse("generations:batch-upload"))
    page.set_input_files("input[name='file']", files=[{
        "name": "jobs.csv", "mimeType": "text/csv",
        "buffer": b"model,prompt,durationSeconds\nVeo3,a red fox,4\nVeo3,a blue whale,5\nVeo3,a kite,8\n"}])
    page.click("button:has-text('Check the rows')")
    bad = page.locator("tr[data-row-invalid]")
    bad.first.wait_for(timeout=10000)
    assert bad.count() == 1 and bad.get_attribute("data-row") == "2"
    assert "Must be one of: 4, 6, 8." in bad.inner_text()
    assert page.locator("button:has-text('Submit')").count() == 0
    assert Generation.objects.count() == 0
    assert signed_in_page.console_errors == []


def test_the_batch_page_counts_follow_the_jobs_and_cancel_the_rest_hides_when_all_ended(
        signed_in_page, no_auto_dispatch):
    from generations.services import batches as batch_service

    page, user = signed_in_page.page, signed_in_page.user
    VideoModelFactory(id="Veo3")
    batch = batch_service.submit_batch(user=user, items=[{"model": "Veo3", "payload": {"prompt": f"p{i}"}}
                                                         for i in range(2)])
    page.goto(signed_in_page.url + reverse("generations:batch", args=[batch.pk]))
    assert page.inner_text("[data-count='queued']") == "2"
    Generation.objects.filter(batch=batch).update(status="succeeded")
    page.wait_for_function("() => document.querySelector(\"[data-count='succeeded']\").textContent === '2'",
                           timeout=10000)
    assert page.inner_text("[data-count='queued']") == "0"
    assert page.locator("[data-cancel-rest]").is_hidden()
