"""Fixtures the service tests share."""
from tests.helpers.receiver import receiver  # noqa: F401  (a fixture, found by its name)
