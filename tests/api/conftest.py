"""Fixtures the API tests share."""
from tests.helpers.api import member, veo  # noqa: F401  (fixtures, found by their names)
