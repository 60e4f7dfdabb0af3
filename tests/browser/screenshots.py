"""Writes a full-page screenshot of every page at 390 and 1280 px, as a member, a team owner and staff.

Run by `make screenshots` (into screenshots/, which git ignores; SCREENSHOT_DIR elsewhere).
"""
from __future__ import annotations

import pytest

from tests.browser.world import SHOTS, member_pages, owner_pages, staff_pages
from tests.helpers.pages import session_cookie

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]


@pytest.fixture
def isolated_storage():
    """The world's files live for the whole run (see start_world_server)."""
    yield


def test_screenshot_every_page(browser, world):
    SHOTS.mkdir(parents=True, exist_ok=True)
    for role, who, pages in (("member", world.member, member_pages(world)),
                             ("owner", world.owner, owner_pages(world)),
                             ("staff", world.staff, staff_pages(world))):
        for width, height in ((390, 844), (1280, 900)):
            context = browser.new_context(viewport={"width": width, "height": height})
            context.add_cookies([session_cookie(world.base, who)])
            page = context.new_page()
            for name, path in pages.items():
                page.goto(world.base + path, wait_until="load")
                # Lazy images load as they come into view: bring every one into view first.
                page.evaluate("() => document.querySelectorAll('img[loading=lazy]')"
                              ".forEach(img => { img.loading = 'eager'; })")
                page.wait_for_load_state("networkidle")
                page.wait_for_timeout(300)
                page.screenshot(path=str(SHOTS / f"{role}-{name}-{width}.png"), full_page=True)
            context.close()
    assert len(list(SHOTS.glob("*.png"))) >= 2 * (len(member_pages(world)) + len(staff_pages(world)))
