"""Fixtures the account tests share (the portal's allauth pages and the app's own pages)."""
from tests.helpers.accounts import invitation  # noqa: F401  (a fixture, found by its name)
