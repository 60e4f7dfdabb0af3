"""Fixtures the studio tests share (they call the REST API as a member, and open pages in Chromium)."""
from tests.helpers.api import member  # noqa: F401  (a fixture, found by its name)
from tests.helpers.pages import signed_in_page  # noqa: F401  (a fixture, found by its name)
