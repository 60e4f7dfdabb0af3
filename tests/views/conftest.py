"""Fixtures the page tests share."""
from tests.helpers.pages import member, signed_in_page  # noqa: F401  (fixtures, found by their names)
