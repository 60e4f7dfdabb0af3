"""Defence in depth for pages: a strict Content-Security-Policy the pages keep to, and guides without remote images."""
from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from generations.templatetags.generations_tags import markdown_html
from tests.helpers.csp import EVENT_HANDLER, INLINE_SCRIPT, INLINE_STYLE
from tests.helpers.factories import GenerationFactory

pytestmark = pytest.mark.django_db


def directives(response) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in header.split(";") if part.strip())}


def pages(client, staff_user, generation) -> dict[str, str]:
    client.force_login(staff_user)
    return {
        "gallery": reverse("generations:gallery"),
        "submit": reverse("generations:submit"),
        "detail": reverse("generations:detail", args=[generation.pk]),
        "usage": reverse("generations:usage"),
        "tokens": reverse("generations:tokens"),
        "teams": reverse("generations:teams"),
        "webhooks": reverse("generations:webhooks"),
        "notifications": reverse("generations:notifications"),
        "notification settings": reverse("generations:notification-preferences"),
        "api docs": reverse("generations:api:docs"),
        "admin index": reverse("admin:index"),
        "admin list": reverse("admin:generations_generation_changelist"),
        "admin change": reverse("admin:generations_generation_change", args=[generation.pk]),
        "admin usage": reverse("admin:generations_usage"),
        "admin notifications": reverse("admin:generations_notification_changelist"),
    }


def test_every_page_carries_a_strict_content_security_policy(client, catalogue, staff_user):
    generation = GenerationFactory(owner=staff_user, succeeded=True)
    visitor = Client()  # the log-in page sends a signed-in member on to the gallery
    for name, url in {**pages(client, staff_user, generation), "login": reverse("login")}.items():
        response = (visitor if name == "login" else client).get(url)
        assert response.status_code == 200, name
        policy = directives(response)
        assert policy["default-src"] == ["'self'"] and policy["script-src"] == ["'self'"], name
        assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"], name
        assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"], name
        assert {"'self'", "blob:"} <= set(policy["media-src"]) and {"'self'", "data:"} <= set(policy["img-src"])


def test_pages_have_no_inline_script_style_or_event_handler_for_the_policy_to_block(client, catalogue, staff_user):
    generation = GenerationFactory(owner=staff_user, succeeded=True)
    for name, url in pages(client, staff_user, generation).items():
        html = client.get(url).content.decode()
        for pattern in (INLINE_SCRIPT, INLINE_STYLE, EVENT_HANDLER):
            found = pattern.search(html)
            assert found is None, f"{name}: {html[max(0, found.start() - 80):found.end() + 80]}"


def test_api_docs_init_script_is_served_as_a_file(client, db):
    html = client.get(reverse("generations:api:docs")).content.decode()
    script = re.search(r'<script src="([^"]*\?script[^"]*)"', html)
    assert script is not None
    assert client.get(script.group(1).replace("&amp;", "&")).status_code == 200


def test_model_guide_drops_remote_images_such_as_tracking_pixels():
    html = markdown_html(
        "Read the guide.\n\n![pixel](https://tracker.example/p.gif?reader=1)\n\n"
        '<img src="https://tracker.example/q.gif" width="1" height="1">'
    )
    assert "<img" not in html and "tracker.example" not in html
    assert "Read the guide." in html
