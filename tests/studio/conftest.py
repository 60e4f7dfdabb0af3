"""Fixtures the studio tests share (they call the REST API as a member)."""
from tests.helpers.api import member  # noqa: F401  (a fixture, found by its name)
