"""Under ASGI, Django spools a whole body before middleware runs: the site's ASGI application caps it first."""
from __future__ import annotations

import asyncio

import pytest

from generations.services.uploads import upload_request_max_bytes
from gmi_project.asgi import application

MB = 1024 * 1024


def run(headers, chunks):
    """Call the ASGI application with a body of ``chunks`` (a generator); return (status, bytes the app pulled)."""
    pulled = 0
    sent = []
    body = iter(chunks)

    async def receive():
        nonlocal pulled
        try:
            chunk = next(body)
        except StopIteration:
            return {"type": "http.request", "body": b"", "more_body": False}
        pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/accounts/login/", "raw_path": b"/accounts/login/", "query_string": b"", "root_path": "",
             "headers": headers, "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000)}
    asyncio.run(application(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], pulled


def endless(block=b"\0" * MB):
    while True:
        yield block


@pytest.mark.django_db
def test_an_announced_body_over_the_cap_is_refused_unread():
    status, pulled = run([(b"content-length", str(1536 * MB).encode()), (b"host", b"127.0.0.1")], endless())
    assert status == 413 and pulled == 0


@pytest.mark.django_db
def test_a_body_without_a_length_is_cut_at_the_cap():
    status, pulled = run([(b"transfer-encoding", b"chunked"), (b"host", b"127.0.0.1")], endless())
    assert status == 413
    assert pulled <= upload_request_max_bytes() + MB
