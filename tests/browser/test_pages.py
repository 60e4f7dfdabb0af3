"""In Chromium, at 390 and 1280 px, with hostile real content: layout properties, accessibility, the gallery's
hover-play and lightbox, the submit page's errors, and a keyboard-only run. One seeded live server for the module."""
from __future__ import annotations

import pytest

from generations.models import Generation
from tests.browser.world import (
    PageWatch,
    member_pages,
    owner_pages,
    run_axe,
    serious,
    staff_pages,
)
from tests.helpers.pages import session_cookie

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def isolated_storage():
    """The world's files live for the whole module (start_world_server points storage at them)."""
    yield


def open_as(browser, world, user, viewport):
    context = browser.new_context(viewport=viewport)
    context.add_cookies([session_cookie(world.base, user)])
    page = context.new_page()
    page.gmi_watch = PageWatch(page)
    return context, page


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390", "1280"])
def test_every_page_fits_the_screen_is_accessible_and_quiet(browser, world, viewport):
    """No page scrolls sideways with a 2,000-char prompt, unbroken strings, signed URLs and non-Latin text; axe
    finds nothing serious or critical; nothing is logged as an error and no request fails."""
    problems = []
    for who, pages in ((world.member, member_pages(world)), (world.owner, owner_pages(world)),
                       (world.staff, staff_pages(world))):
        context, page = open_as(browser, world, who, viewport)
        for name, path in pages.items():
            page.gmi_watch.reset()
            page.goto(world.base + path, wait_until="load")
            page.wait_for_timeout(250)
            sizes = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            if sizes[0] != sizes[1]:
                problems.append(f"{name}: scroll width {sizes[0]} in a {sizes[1]} px viewport")
            if viewport is DESKTOP:  # the admin's lists fit their area at 1280 px: nothing to scroll sideways
                problems += [f"{name}: list table {wide}" for wide in page.evaluate(
                    "() => Array.from(document.querySelectorAll('#changelist table'))"
                    ".filter(t => t.scrollWidth > t.parentElement.clientWidth)"
                    ".map(t => t.scrollWidth + ' px in ' + t.parentElement.clientWidth)")]
            # Read before axe runs: axe's own probing of stylesheets trips the CSP, the page does not.
            problems += [f"{name}: console: {text[:160]}" for text in page.gmi_watch.errors]
            problems += [f"{name}: request: {text[:160]}" for text in page.gmi_watch.failed]
            for violation in serious(run_axe(page)):
                problems.append(f"{name}: axe {violation['impact']} {violation['id']} "
                                f"{[n['target'] for n in violation['nodes'][:3]]}")
        context.close()
    assert problems == [], "\n".join(problems)


def test_cards_keep_one_footprint_whatever_the_videos_shape(browser, world):
    context, page = open_as(browser, world, world.member, DESKTOP)
    page.goto(world.base + "/")
    boxes = {}
    for key in ("wide", "tall", "square", "long"):
        card = page.locator(f"[data-generation-id='{world.generations[key].pk}']")
        media = card.locator(".gmi-gen__media")
        boxes[key] = (card.bounding_box(), media.bounding_box(),
                      card.locator("img[data-thumbnail]").evaluate("img => getComputedStyle(img).objectFit"))
    widths = {round(card["width"]) for card, _, _ in boxes.values()}
    heights = {round(card["height"]) for card, _, _ in boxes.values()}
    media_sizes = {(round(m["width"]), round(m["height"])) for _, m, _ in boxes.values()}
    assert len(widths) == 1 and len(heights) == 1 and len(media_sizes) == 1, boxes
    assert {fit for _, _, fit in boxes.values()} == {"contain"}
    context.close()


def test_gallery_pages_hover_plays_a_muted_preview_without_fetching_video_before(browser, world):
    context, page = open_as(browser, world, world.member, DESKTOP)
    video_requests = []
    page.on("request", lambda r: "/video/" in r.url and video_requests.append(r.url))
    page.goto(world.base + "/")
    page.wait_for_timeout(500)
    assert video_requests == [], "no video bytes before the hover"
    link = page.locator(f"[data-generation-id='{world.generations['tall'].pk}'] a.gmi-gen__media")
    link.hover()
    page.wait_for_function("() => { const v = document.querySelector('video[data-preview]');"
                           " return v && v.muted && !v.paused && v.currentTime > 0; }", timeout=10000)
    assert video_requests and all(str(world.generations["tall"].pk) in url for url in video_requests)
    page.mouse.move(0, 0)
    page.wait_for_function("() => !document.querySelector('video[data-preview]')")
    # Keyboard focus plays too, one at a time.
    page.locator(f"[data-generation-id='{world.generations['square'].pk}'] a.gmi-gen__media").focus()
    page.wait_for_function("() => document.querySelectorAll('video[data-preview]').length === 1")
    context.close()


def test_lightbox_opens_by_keyboard_moves_with_arrows_and_gives_focus_back(browser, world):
    context, page = open_as(browser, world, world.member, DESKTOP)
    page.goto(world.base + "/")
    links = page.locator("[data-gallery] a[data-video]")
    first_title = links.nth(0).get_attribute("data-title")
    second_title = links.nth(1).get_attribute("data-title")
    links.nth(0).focus()
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('dialog[data-lightbox]').open")
    page.wait_for_function("() => { const v = document.querySelector('video[data-lightbox-video]');"
                           " return v && !v.paused && v.currentTime > 0; }", timeout=10000)
    assert page.inner_text("[data-lightbox-title]") == first_title
    page.keyboard.press("ArrowRight")
    page.wait_for_function(f"() => document.querySelector('[data-lightbox-title]').textContent === {second_title!r}")
    page.keyboard.press("ArrowLeft")
    page.wait_for_function(f"() => document.querySelector('[data-lightbox-title]').textContent === {first_title!r}")
    page.keyboard.press("Escape")
    page.wait_for_function("() => !document.querySelector('dialog[data-lightbox]').open")
    page.wait_for_timeout(100)
    assert page.evaluate("() => document.activeElement.outerHTML.slice(0, 200)") == \
        page.evaluate("() => document.querySelectorAll('[data-gallery] a[data-video]')[0].outerHTML.slice(0, 200)")
    context.close()


def test_phone_submit_puts_the_prompt_on_the_first_screen_and_asks_no_price_before_it_can(browser, world):
    context, page = open_as(browser, world, world.member, PHONE)
    quotes = []
    page.on("request", lambda r: "/quote/" in r.url and quotes.append(r.url))
    page.goto(world.base + "/generations/new/?model=Veo3")
    prompt = page.locator("textarea[name='p-prompt']")
    assert prompt.bounding_box()["y"] < PHONE["height"]
    assert prompt.get_attribute("maxlength") is None  # counted and refused, never cut
    page.wait_for_timeout(800)
    assert quotes == [] and "Fill in" in page.inner_text("[data-quote]")
    header = page.locator(".gmi-nav").bounding_box()
    assert header["height"] <= 64
    prompt.fill("a kite over the dunes")
    page.wait_for_function("() => document.querySelector('[data-quote]').textContent.includes('credits')")
    assert len(quotes) == 1
    button = page.locator("[data-submit-button]")
    button.scroll_into_view_if_needed()
    box = button.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"]
    context.close()


def test_refused_submit_marks_the_field_red_and_brings_the_summary_into_view(browser, world):
    context, page = open_as(browser, world, world.member, PHONE)
    page.goto(world.base + "/generations/new/?model=Veo3")
    prompt = page.locator("textarea[name='p-prompt']")
    prompt.fill("a" * 2050)
    counter = page.locator(".gmi-counter.is-over")
    assert "50 characters too many" in counter.inner_text()
    page.click("[data-submit-button]")
    page.wait_for_load_state("load")
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'gmi-submit-errors'")
    summary = page.locator("#gmi-submit-errors").bounding_box()
    assert 0 <= summary["y"] < PHONE["height"]
    assert "at most 2000 characters" in page.inner_text("#gmi-submit-errors")
    border = page.locator("textarea[name='p-prompt']").evaluate("el => getComputedStyle(el).borderTopColor")
    assert border == "rgb(220, 38, 38)"
    assert page.locator("textarea[name='p-prompt']").input_value() == "a" * 2050  # nothing was cut
    assert not Generation.objects.filter(owner=world.member, prompt__startswith="aaaa").exists()
    context.close()


def test_phone_controls_are_44px_targets_and_charts_stay_legible(browser, world):
    context, page = open_as(browser, world, world.member, PHONE)
    small = []
    for path in ("/", "/generations/new/?model=Veo3", "/tokens/", "/webhooks/", f"/teams/{world.team.slug}/",
                 f"/generations/{world.generations['long'].pk}/", "/notifications/"):
        page.goto(world.base + path)
        small += page.evaluate("""(path) => Array.from(document.querySelectorAll(
            'button, select, input:not([type=hidden]):not([type=checkbox]):not([type=radio]):not([type=file]), '
            + '.gmi-btn, .gmi-tabs a, .gmi-segmented a, .gmi-nav a, .gmi-pagination a'))
          .filter(el => el.offsetParent !== null && !el.closest('.gmi-visually-hidden, [hidden], dialog:not([open])'))
          .map(el => [el, el.getBoundingClientRect()])
          .filter(([el, r]) => r.width > 0 && (r.height < 44 || r.width < 44))
          .map(([el, r]) => `${path} ${el.outerHTML.slice(0, 80)} ${Math.round(r.width)}x${Math.round(r.height)}`)""",
                               path)
    assert small == []
    page.goto(world.base + "/usage/")
    sizes = page.evaluate("""() => Array.from(document.querySelectorAll('svg.gmi-chart text')).map(t => {
        const svg = t.ownerSVGElement; const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
        return parseFloat(t.getAttribute('font-size')) * scale; })""")
    assert sizes and min(sizes) >= 11
    context.close()


def test_keyboard_only_submit_watch_play_and_delete(browser, world, engine):
    context, page = open_as(browser, world, world.member, DESKTOP)
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(world.base + "/generations/new/?model=Veo3")
    page.locator("textarea[name='p-prompt']").focus()
    page.keyboard.type("a glass whale swimming through clouds, keyboard only")
    # Tab on to Generate, as a keyboard user would.
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.hasAttribute('data-submit-button')"):
            break
    page.keyboard.press("Enter")
    page.wait_for_url("**/generations/*/", timeout=15000)
    page.wait_for_selector("video.gmi-player", timeout=40000)  # the page reloads itself when the video is ready
    page.locator("video.gmi-player").focus()
    page.keyboard.press("Space")
    page.wait_for_function("() => { const v = document.querySelector('video.gmi-player'); return v.currentTime > 0; }",
                           timeout=15000)
    generation = Generation.objects.get(owner=world.member, prompt__startswith="a glass whale")
    assert generation.status == Generation.Status.SUCCEEDED
    page.locator("button:has-text('Delete')").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(world.base + "/", timeout=10000)
    generation.refresh_from_db()
    assert generation.deleted_at is not None
    context.close()


def test_a_star_toggles_in_place_from_the_card_and_the_lightbox(browser, world):
    generation = world.generations["wide"]
    context, page = open_as(browser, world, world.member, DESKTOP)
    page.goto(world.base + "/")
    card_star = page.locator(f"[data-generation-id='{generation.pk}'] [data-star]")
    card_star.click()
    page.wait_for_function(f"() => document.querySelector(\"[data-generation-id='{generation.pk}'] [data-star]\")"
                           ".getAttribute('aria-pressed') === 'true'")
    generation.refresh_from_db()
    assert generation.favorite is True and page.url == world.base + "/"
    page.locator(f"[data-generation-id='{generation.pk}'] a.gmi-gen__media").click()
    lightbox_star = page.locator("form[data-lightbox-star] [data-star]")
    assert lightbox_star.get_attribute("aria-pressed") == "true"
    lightbox_star.click()
    page.wait_for_function("() => document.querySelector('form[data-lightbox-star] [data-star]')"
                           ".getAttribute('aria-pressed') === 'false'")
    generation.refresh_from_db()
    assert generation.favorite is False
    assert card_star.get_attribute("aria-pressed") == "false"
    context.close()


def test_an_upload_shows_a_preview_progress_and_can_be_removed(browser, world, tmp_path):
    from gmi_simulator.media import render_clip

    image = tmp_path / "still.jpg"
    image.write_bytes(render_clip(2, "16:9").thumbnail)
    context, page = open_as(browser, world, world.member, PHONE)
    page.goto(world.base + "/generations/new/?model=Kling-Image2Video-V2.1-Master")
    zone = page.locator("[data-drop]").first
    assert zone.locator("[data-drop-hint]").is_visible()
    uploads = []
    page.on("response", lambda r: "/uploads/" in r.url and uploads.append(r.status))
    zone.locator("input[type=file]").set_input_files(str(image))
    page.wait_for_function("() => { const img = document.querySelector('[data-drop-media] img');"
                           " return img && img.naturalWidth > 0; }")
    field = zone.locator("[data-param]")
    page.wait_for_function("() => document.querySelector('[data-drop] [data-param]').value.startsWith('http')")
    assert uploads == [201] and zone.locator("progress").is_hidden()
    zone.locator("[data-drop-remove]").click()
    assert field.input_value() == "" and zone.locator("[data-drop-preview]").is_hidden()
    context.close()
