"""Request bodies are capped before they are read (H3): measured on disk, under gunicorn, over a real socket."""
from __future__ import annotations

import json
import re

import pytest
import requests

from generations.services import tokens
from tests.helpers.factories import UserFactory
from tests.helpers.live_http import MB, DiskWatch, gunicorn, stream_request

pytestmark = pytest.mark.django_db(transaction=True)

BOUNDARY = "----portal-test-boundary"
GB_1_5 = 1536 * MB


def file_part(name: str, *, first_bytes: bytes = b"", before: str = "") -> bytes:
    return (before + f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"big.bin\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode() + first_bytes


TAIL = f"\r\n--{BOUNDARY}--\r\n".encode()
MULTIPART = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


@pytest.fixture
def site(tmp_path):
    spool = tmp_path / "spool"
    spool.mkdir()
    with gunicorn(spool) as port:
        yield port, spool


def csrf_for(port: int) -> tuple[str, str]:
    page = requests.get(f"http://127.0.0.1:{port}/accounts/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    return page.cookies["csrftoken"], token


def test_a_huge_multipart_post_to_the_login_page_is_refused_before_a_byte_reaches_the_disk(site):
    port, spool = site
    cookie, token = csrf_for(port)
    head = file_part("file", before=f"--{BOUNDARY}\r\nContent-Disposition: form-data; "
                                    f"name=\"csrfmiddlewaretoken\"\r\n\r\n{token}\r\n")
    with DiskWatch(spool) as disk:
        sent = stream_request(port, "/accounts/login/", {**MULTIPART, "Cookie": f"csrftoken={cookie}"},
                              head=head, size=GB_1_5, tail=TAIL)
    assert sent.status in (413, None), sent
    assert disk.peak == 0
    assert sent.sent < 200 * MB  # the server hung up long before the end
    if sent.status == 413:
        assert b"at most 2.5 MB" in sent.body


def test_a_chunked_body_without_a_length_is_never_read(site):
    port, spool = site
    cookie, _ = csrf_for(port)
    with DiskWatch(spool) as disk:
        sent = stream_request(port, "/accounts/login/", {**MULTIPART, "Cookie": f"csrftoken={cookie}"},
                              head=file_part("file"), size=256 * MB, tail=TAIL, chunked=True)
    assert disk.peak == 0
    assert sent.status in (400, 403, 413, None)


def test_a_huge_upload_is_refused_on_its_length_with_json(site):
    port, spool = site
    _, key = tokens.create_token(user=UserFactory())
    with DiskWatch(spool) as disk:
        sent = stream_request(port, "/api/v1/uploads/", {**MULTIPART, "Authorization": f"Bearer {key}"},
                              head=file_part("file", first_bytes=b"\xff\xd8\xff\xe0" + b"\0" * 60),
                              size=GB_1_5, tail=TAIL)
    assert disk.peak == 0
    assert sent.status in (413, None), sent
    if sent.status == 413:
        assert json.loads(sent.body)["code"] == "file_too_large"


def test_an_upload_is_streamed_and_stopped_at_its_kinds_cap(site):
    # 60 MB is within what the endpoint takes (the largest cap, a video's); its first bytes
    # say JPEG, whose cap is 10 MB: reading stops there and no more than that is spooled.
    port, spool = site
    _, key = tokens.create_token(user=UserFactory())
    with DiskWatch(spool) as disk:
        sent = stream_request(port, "/api/v1/uploads/", {**MULTIPART, "Authorization": f"Bearer {key}"},
                              head=file_part("file", first_bytes=b"\xff\xd8\xff\xe0" + b"\0" * 60),
                              size=60 * MB, tail=TAIL)
    assert sent.status in (413, None), sent
    if sent.status == 413:
        assert json.loads(sent.body) == {"detail": "Image files may be at most 10 MB.", "code": "file_too_large"}
    assert disk.peak <= 10 * MB + 256 * 1024
    assert sent.sent < 60 * MB


def test_an_upload_that_is_no_accepted_type_is_refused_after_its_first_chunk(site):
    port, spool = site
    _, key = tokens.create_token(user=UserFactory())
    with DiskWatch(spool) as disk:
        sent = stream_request(port, "/api/v1/uploads/", {**MULTIPART, "Authorization": f"Bearer {key}"},
                              head=file_part("file", first_bytes=b"MZ" + b"\0" * 62), size=50 * MB, tail=TAIL)
    assert sent.status in (400, None), sent
    assert disk.peak <= 256 * 1024
