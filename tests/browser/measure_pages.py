"""Measures every page at 390 and 1280 px: sideways px, axe serious/critical, console errors, failed requests, ms.

Run: .venv/bin/python -m pytest tests/browser/measure_pages.py -m browser -s (prints a table; writes nothing).
"""
from __future__ import annotations

import pytest

from tests.browser.world import measure, member_pages, owner_pages, staff_pages
from tests.helpers.pages import session_cookie

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]


@pytest.fixture
def isolated_storage():
    """The world's files live for the whole module (see start_world_server)."""
    yield


def test_measure_every_page(browser, world):
    rows = []
    for who, pages in ((world.member, member_pages(world)), (world.owner, owner_pages(world)),
                       (world.staff, staff_pages(world))):
        for width, height in ((390, 844), (1280, 900)):
            context = browser.new_context(viewport={"width": width, "height": height})
            context.add_cookies([session_cookie(world.base, who)])
            page = context.new_page()
            for name, path in pages.items():
                rows.append((name, width, measure(page, world.base + path)))
            context.close()
    print()
    print(f"{'page':24} {'w':>5} {'side':>6} {'ser':>4} {'crit':>4} {'cons':>4} {'fail':>4} {'ms':>6}  axe ids")
    for name, width, r in rows:
        print(f"{name:24} {width:5} {r['sideways']:6} {r['serious']:4} {r['critical']:4} {len(r['console']):4} "
              f"{len(r['failed']):4} {r['load_ms']:6}  {','.join(r['axe'])}")
    for name, width, r in rows:
        for line in r["console"] + r["failed"]:
            print(f"  {name}@{width}: {line[:200]}")
