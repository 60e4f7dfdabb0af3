"""The request context: request id (taken or made, echoed), client address behind 0..N trusted proxies, user id."""
from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from generations import request_context
from generations.api.generation_views import QuotaView
from generations.middleware import RequestContextMiddleware
from generations.services import tokens
from tests.helpers.factories import UserFactory


def _request(remote="203.0.113.9", forwarded=None, **headers):
    extra = {"REMOTE_ADDR": remote, **headers}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/anything/", **extra)


def _served(request, view=None):
    """Runs ``request`` through the middleware; returns the response and the context the view saw."""
    seen = {}

    def get_response(req):
        response = view(req) if view else HttpResponse("ok")
        seen["context"] = request_context.current()
        return response

    response = RequestContextMiddleware(get_response)(request)
    return response, seen["context"]


def _set_proxies(settings, count):
    settings.GENERATIONS = {**settings.GENERATIONS, "TRUSTED_PROXY_COUNT": count}


def test_without_trusted_proxies_forwarded_for_is_ignored(settings):
    _set_proxies(settings, 0)
    assert request_context.client_address(_request(forwarded="198.51.100.7")) == "203.0.113.9"


def test_one_trusted_proxy_takes_the_address_it_appended_not_the_spoofed_one(settings):
    _set_proxies(settings, 1)
    request = _request(remote="10.0.0.2", forwarded="1.2.3.4, 198.51.100.7")
    assert request_context.client_address(request) == "198.51.100.7"


def test_two_trusted_proxies_take_the_second_address_from_the_right(settings):
    _set_proxies(settings, 2)
    request = _request(remote="10.0.0.3", forwarded="1.2.3.4, 198.51.100.7, 10.0.0.2")
    assert request_context.client_address(request) == "198.51.100.7"


def test_forwarded_for_shorter_than_the_proxy_count_yields_its_leftmost_address(settings):
    _set_proxies(settings, 3)
    assert request_context.client_address(_request(remote="10.0.0.3", forwarded="198.51.100.7, 10.0.0.2")) == (
        "198.51.100.7"
    )


def test_malformed_forwarded_for_falls_back_to_remote_addr(settings):
    _set_proxies(settings, 1)
    assert request_context.client_address(_request(remote="10.0.0.2", forwarded="not-an-ip")) == "10.0.0.2"
    assert request_context.client_address(_request(remote="10.0.0.2", forwarded="[2001:db8::1]:443")) == (
        "2001:db8::1"
    )


def test_a_sane_request_id_is_kept_and_echoed():
    response, context = _served(_request(HTTP_X_REQUEST_ID="trace-42.abc"))
    assert context.request_id == "trace-42.abc"
    assert response["X-Request-ID"] == "trace-42.abc"


@pytest.mark.parametrize("given", ["", "a" * 129, "bad id", "evil\u2028line", "<script>"])
def test_an_absent_or_insane_request_id_is_replaced_by_a_new_one(given):
    response, context = _served(_request(HTTP_X_REQUEST_ID=given))
    assert context.request_id != given and len(context.request_id) == 32
    assert response["X-Request-ID"] == context.request_id


def test_context_carries_the_address_and_is_empty_outside_the_request(settings):
    _set_proxies(settings, 1)
    _, context = _served(_request(remote="10.0.0.2", forwarded="198.51.100.7"))
    assert context.client_ip == "198.51.100.7" and context.user_id is None
    assert request_context.current() == request_context.EMPTY


def test_token_authentication_records_the_user_in_the_context(db):
    user = UserFactory()
    _, key = tokens.create_token(user=user, name="ctx")
    request = _request(HTTP_AUTHORIZATION=f"Bearer {key}")
    response, context = _served(request, view=QuotaView.as_view())
    assert response.status_code == 200
    assert context.user_id == user.pk


def test_session_user_is_recorded_before_the_view(db):
    user = UserFactory()
    request = _request()
    request.user = user  # as AuthenticationMiddleware leaves it
    seen = {}

    def get_response(req):
        middleware.process_view(req, None, (), {})  # what the handler does before calling the view
        seen["context"] = request_context.current()
        return HttpResponse("ok")

    middleware = RequestContextMiddleware(get_response)
    middleware(request)
    assert seen["context"].user_id == user.pk
