"""In Chromium on a 390 px phone: two gallery cards chosen by keyboard go into a new collection, with the bar
counting them, no sideways scroll and nothing logged as an error."""
from __future__ import annotations

import pytest

from generations.models import Collection, Generation
from tests.browser.world import PageWatch, run_axe, serious
from tests.helpers.pages import session_cookie

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def isolated_storage():
    """The world's files live for the whole module (start_world_server points storage at them)."""
    yield


def scroll_width(page) -> list[int]:
    return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


def tab_to(page, selector: str, *, limit: int = 60) -> None:
    """Press Tab until the focused element matches ``selector`` (as a keyboard user would)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"() => document.activeElement.matches({selector!r})"):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_two_cards_chosen_by_keyboard_go_into_a_new_collection_on_a_phone(browser, world):
    context = browser.new_context(viewport=PHONE)
    context.add_cookies([session_cookie(world.base, world.member)])
    page = context.new_page()
    watch = PageWatch(page)
    page.goto(world.base + "/", wait_until="load")
    assert scroll_width(page)[0] == scroll_width(page)[1]
    picks = page.locator("input[data-collect-pick]")
    assert picks.count() >= 2
    chosen = [picks.nth(0).get_attribute("value"), picks.nth(1).get_attribute("value")]
    label = page.locator("label.gmi-gen__pick").nth(0)
    assert label.inner_text().startswith("Choose “")  # the box is named for its video
    box = label.bounding_box()
    assert box and box["width"] >= 44 and box["height"] >= 44

    tab_to(page, "input[data-collect-pick]")
    page.keyboard.press("Space")
    tab_to(page, "input[data-collect-pick]")
    page.keyboard.press("Space")
    assert page.inner_text("[data-collect-count]") == "2 selected"
    assert page.evaluate("getComputedStyle(document.querySelector('[data-collect-bar]')).position") == "sticky"
    assert scroll_width(page)[0] == scroll_width(page)[1]

    tab_to(page, "#gmi-collect-name")
    page.keyboard.type("Phone picks")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    assert "2 videos added to “Phone picks”." in page.inner_text(".gmi-messages")
    made = Collection.objects.get(owner=world.member, name="Phone picks")
    assert sorted(str(pk) for pk in made.items.values_list("generation_id", flat=True)) == sorted(chosen)
    # Shown by the collection filter, with the way to take them out again.
    page.select_option("#id_collection", str(made.pk))
    with page.expect_navigation():
        page.click(".gmi-filters button[type=submit]")
    assert page.locator("input[data-collect-pick]").count() == 2
    assert page.locator("text=Remove from this collection").count() == 1
    assert scroll_width(page)[0] == scroll_width(page)[1]
    assert watch.errors == [] and watch.failed == []
    # Read after the checks above: axe's own probing of stylesheets trips the CSP, the page does not.
    assert [(v["id"], [n["target"] for n in v["nodes"][:3]]) for v in serious(run_axe(page))] == []
    context.close()


def test_the_lightbox_adds_the_video_it_shows_and_returns_to_the_same_gallery(browser, world):
    target = Collection.objects.create(owner=world.member, name="From the lightbox")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_cookies([session_cookie(world.base, world.member)])
    page = context.new_page()
    watch = PageWatch(page)
    page.goto(world.base + "/?view=list", wait_until="load")
    links = page.locator("[data-gallery] a[data-video]")
    links.nth(1).focus()
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('dialog[data-lightbox]').open")
    shown = page.evaluate("() => document.querySelectorAll('[data-gallery] a[data-video]')[1]"
                          ".closest('article').dataset.generationId")
    page.select_option("#gmi-lightbox-collection", str(target.pk))
    with page.expect_navigation():
        page.click("form[data-lightbox-collect] button[type=submit]")

    assert page.url == world.base + "/?view=list"
    assert "1 video added to “From the lightbox”." in page.inner_text(".gmi-messages")
    assert [str(pk) for pk in target.items.values_list("generation_id", flat=True)] == [shown]
    assert watch.errors == [] and watch.failed == []
    context.close()


def test_the_owner_renames_shares_and_keeps_a_video_from_the_lightbox(browser, world):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.add_cookies([session_cookie(world.base, world.member)])
    page = context.new_page()
    watch = PageWatch(page)
    page.goto(world.base + "/", wait_until="load")
    page.locator("[data-gallery] a[data-video]").first.focus()
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('dialog[data-lightbox]').open")
    shown = page.evaluate("() => document.querySelector('[data-gallery] a[data-video]')"
                          ".closest('article').dataset.generationId")
    page.click("details[data-lightbox-edit] summary")
    page.fill("#gmi-lightbox-edit-title", "Harbour at dawn")
    page.select_option("#gmi-lightbox-edit-team", world.team.slug)
    page.check("[data-lightbox-edit-keep]")
    with page.expect_navigation():
        page.click("form[data-lightbox-edit-form] button[type=submit]")

    assert page.url == world.base + "/"
    generation = Generation.objects.get(pk=shown)
    assert (generation.title, generation.visibility, generation.team, generation.keep) == \
        ("Harbour at dawn", "team", world.team, True)
    assert watch.errors == [] and watch.failed == []
    context.close()
