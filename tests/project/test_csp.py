"""The Content-Security-Policy: on every page, never with inline script or style allowed."""
from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from gmi_project.csp import ContentSecurityPolicyMiddleware, check_policy
from tests.helpers.factories import GenerationFactory, UserFactory


@pytest.mark.parametrize("directive", ["script-src", "style-src", "default-src"])
def test_a_policy_allowing_inline_code_is_refused(directive):
    with pytest.raises(ImproperlyConfigured):
        check_policy({"default-src": ["'self'"], directive: ["'self'", "'unsafe-inline'"]})


def test_the_middleware_refuses_a_loose_policy_at_startup(settings):
    settings.CONTENT_SECURITY_POLICY = {"default-src": ["'self'"], "style-src": ["'self'", "'unsafe-inline'"]}
    with pytest.raises(ImproperlyConfigured):
        ContentSecurityPolicyMiddleware(lambda request: None)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/generations/new/", "/admin/", "/admin/generations/generation/",
                                  "/api/v1/docs/", "/usage/", "/accounts/login/"])
def test_every_page_carries_the_strict_policy(client, path):
    staff = UserFactory(username="sofia", staff=True)
    GenerationFactory(owner=staff)
    if not path.startswith("/accounts/"):
        client.force_login(staff)
    response = client.get(path)
    assert response.status_code == 200, path
    policy = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in policy and "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "<style" not in response.content.decode() and " style=" not in response.content.decode()
