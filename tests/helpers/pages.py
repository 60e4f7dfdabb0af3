"""Signed-in visitors of the HTML pages: a test client with a session, and a Chromium page with one."""
from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from tests.helpers.factories import UserFactory


def session_cookie(live_server_url: str, user) -> dict:
    """The cookie of a fresh session of ``user``'s, for a browser context pointed at ``live_server_url``."""
    client = Client()
    client.force_login(user)
    return {"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
            "url": live_server_url}


def script_error(message) -> bool:
    """Whether a console message is an error of the page's own (a missing /favicon.ico is logged as one too)."""
    return message.type == "error" and "Failed to load resource" not in message.text


def signed_in(client, user):
    """``client``, signed in as ``user`` (a session, as after logging in)."""
    client.force_login(user)
    return client


def blocked_by_the_csp(message) -> bool:
    return "Content Security Policy" in message.text


def console_messages(page, keep: Callable[[Any], bool] = script_error) -> list[str]:
    """The texts of ``page``'s console messages that ``keep`` picks, collected as they come."""
    found: list[str] = []
    page.on("console", lambda message: found.append(message.text) if keep(message) else None)
    return found


@pytest.fixture
def member(client, user):
    """``client``, signed in as ``user``."""
    return signed_in(client, user)


@pytest.fixture
def signed_in_page(live_server, transactional_db, context, page):
    """A Chromium page (pytest-playwright, launched as tests/conftest.py says) signed in as alice;
    ``console_errors`` collects the page's script errors."""
    user = UserFactory(username="alice")
    context.add_cookies([session_cookie(live_server.url, user)])
    return SimpleNamespace(page=page, url=live_server.url, user=user, console_errors=console_messages(page))
