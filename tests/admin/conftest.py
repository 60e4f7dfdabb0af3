"""Fixtures of the admin tests: a client logged in as staff."""
import pytest


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client
