"""The GMI client against a hostile server: redirects are not followed, answers are capped, calls end at a deadline."""
from __future__ import annotations

import time

import pytest

from generations.gmi.errors import ErrorCode, UpstreamUnavailable
from generations.gmi.requestqueue import RequestQueueBackend
from tests.helpers.hostile import hostile_server, rss_bytes

KEY = "sk-hostile-5c8e1d"
MB = 1024 * 1024


def backend_for(url: str, *, connect_timeout: float = 1.0, read_timeout: float = 2.0) -> RequestQueueBackend:
    return RequestQueueBackend(api_key=KEY, base_url=url, connect_timeout=connect_timeout, read_timeout=read_timeout)


def test_a_redirected_submission_is_never_posted_again_to_the_redirect_target():
    with hostile_server(mode="ok") as internal, hostile_server(mode="redirect") as gmi:
        gmi.location = f"{internal.url}/internal-api/admin"
        with pytest.raises(UpstreamUnavailable) as caught:
            backend_for(gmi.url).create_request("Veo3", {"prompt": "a member's private words"})
    assert caught.value.status_code == 307
    assert caught.value.code == ErrorCode.BAD_RESPONSE
    assert caught.value.maybe_sent  # GMI saw the POST: reconcile, never re-send
    assert "redirect" in str(caught.value)
    assert len(gmi.seen) == 1 and internal.seen == []  # nothing (no payload, no key) reached the target


def test_a_redirected_poll_is_an_upstream_error_not_a_visit():
    with hostile_server(mode="ok") as internal, hostile_server(mode="redirect") as gmi:
        gmi.location = f"{internal.url}/elsewhere"
        with pytest.raises(UpstreamUnavailable):
            backend_for(gmi.url).get_request("req-1")
    assert internal.seen == []


def refused_at_a_cost(call) -> tuple[UpstreamUnavailable, float, int]:
    """``call()`` must be refused; returns the refusal, the seconds it took and the bytes this process grew by."""
    before = rss_bytes()
    started = time.monotonic()
    with pytest.raises(UpstreamUnavailable) as caught:
        call()
    return caught.value, time.monotonic() - started, rss_bytes() - before


def test_an_answer_announced_larger_than_the_cap_is_refused_unread():
    with hostile_server(mode="huge", size=1536 * MB) as gmi:
        error, elapsed, grown = refused_at_a_cost(lambda: backend_for(gmi.url, read_timeout=30).get_request("req-1"))
    assert error.code == ErrorCode.BAD_RESPONSE
    assert "larger than 10 MB" in str(error)
    assert elapsed < 5
    assert grown < 30 * MB


def test_an_endless_answer_without_a_length_is_cut_at_the_cap():
    with hostile_server(mode="endless", size=1536 * MB) as gmi:
        error, elapsed, grown = refused_at_a_cost(lambda: backend_for(gmi.url, read_timeout=30).list_requests("Veo3"))
    assert "larger than 10 MB" in str(error)
    assert elapsed < 10
    assert grown < 60 * MB  # the cap (10 MB) and its copies, never the 1.5 GB


def test_a_trickling_answer_is_cut_at_the_call_deadline():
    # Each byte comes well within the read timeout, so only a deadline for the whole call ends it.
    with hostile_server(mode="trickle", every=0.3) as gmi:
        client = backend_for(gmi.url, connect_timeout=0.5, read_timeout=1.0)
        started = time.monotonic()
        with pytest.raises(UpstreamUnavailable) as caught:
            client.create_request("Veo3", {"prompt": "slow"})
        elapsed = time.monotonic() - started
    assert client.http.deadline == 1.5
    assert "deadline" in str(caught.value)
    assert caught.value.maybe_sent
    assert 1.4 <= elapsed < 3.0


def test_trickling_headers_are_cut_at_the_call_deadline_too():
    with hostile_server(mode="trickle_headers", every=0.2) as gmi:
        started = time.monotonic()
        with pytest.raises(UpstreamUnavailable):
            backend_for(gmi.url, connect_timeout=0.5, read_timeout=1.0).get_request("req-1")
        elapsed = time.monotonic() - started
    assert elapsed < 3.0


def test_a_kept_alive_connection_still_answers_after_a_call_that_hit_its_deadline():
    with hostile_server(mode="trickle", every=0.3) as gmi:
        client = backend_for(gmi.url, connect_timeout=0.5, read_timeout=1.0)
        with pytest.raises(UpstreamUnavailable):
            client.get_request("req-1")
        gmi.mode = "ok"
        for _ in range(3):
            assert client.create_request("Veo3", {"prompt": "fine"}).request_id == "req-ok"
