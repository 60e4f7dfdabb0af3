"""LOG_FORMAT=json: one object per line with the request's and the job's ids and durations; no secret ever."""
from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from generations.logfilters import AddContext, RedactGMIKey
from generations.logformat import JsonFormatter
from generations.models import Generation
from generations.services import submissions
from tests.helpers.lifecycle import drive
from tests.helpers.settings import TEST_API_KEY

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def json_lines():
    """Every line the app logs during the test, as the production JSON handler writes it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactGMIKey())
    handler.addFilter(AddContext())
    logger = logging.getLogger("generations")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)

    def lines() -> list[dict]:
        return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]

    yield lines
    logger.removeHandler(handler)
    logger.setLevel(previous)


def test_a_request_line_has_the_request_id_user_route_status_and_duration(client, user, json_lines):
    client.force_login(user)
    response = client.get("/api/v1/quota/", HTTP_X_REQUEST_ID="req-42.abc")
    assert response["X-Request-ID"] == "req-42.abc"
    line = next(entry for entry in json_lines() if entry["logger"] == "generations.requests")
    assert line["message"] == "GET /api/v1/quota/ 200"
    assert line["request_id"] == "req-42.abc" and line["user_id"] == user.pk
    assert line["duration_ms"] >= 0 and line["level"] == "INFO"
    assert line["time"].endswith("Z")
    assert set(line) >= {"time", "level", "logger", "message", "request_id", "user_id", "generation_id",
                         "upstream_request_id"}


def test_a_share_token_in_a_path_never_reaches_the_log(client, json_lines, db):
    client.get("/s/secret-share-token-123456/")
    assert "secret-share-token-123456" not in json.dumps(json_lines())


@pytest.mark.django_db(transaction=True)
def test_every_line_about_a_job_carries_its_generation_and_upstream_ids(catalogue, user, json_lines):
    generation = drive(submissions.submit_generation(user=user, model_id="Veo3",
                                                     payload={"prompt": "gulls over a pier", "durationSeconds": 8}))
    assert generation.status == Generation.Status.SUCCEEDED
    about_it = [entry for entry in json_lines() if str(generation.pk) in entry["message"]]
    assert len(about_it) >= 4  # queued → dispatched → processing → mirroring → succeeded
    assert all(entry["generation_id"] == str(generation.pk) for entry in about_it)
    succeeded = next(entry for entry in about_it if "-> succeeded" in entry["message"])
    assert succeeded["upstream_request_id"] == generation.upstream_request_id
    upstream_calls = [entry for entry in json_lines() if entry["logger"] == "generations.upstream.calls"]
    assert upstream_calls and all("duration_ms" in entry for entry in upstream_calls)


SECRETS = {
    "gmi key": TEST_API_KEY,
    "personal token": "gmi_Zx8vQ2mN5pL7rT1wK9yB3cF6hJ0dS4aE",
    "webhook secret": "whsec_c2VjcmV0LXNpZ25pbmcta2V5LWJ5dGVz",
    "signed url": "https://bucket.s3.amazonaws.com/v.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE"
                  "&X-Amz-Signature=9f8e7d6c5b4a39281706f5e4d3c2b1a0",
    "bearer": "Bearer abcdefgh12345678ijkl",
}


def test_no_secret_reaches_a_json_line_in_a_message_or_a_traceback(json_lines, settings):
    settings.GENERATIONS = {"API_KEY": TEST_API_KEY}
    logger = logging.getLogger("generations.tests")
    for name, secret in SECRETS.items():
        logger.warning("%s: %s", name, secret)
    try:
        raise RuntimeError(f"boom with {SECRETS['personal token']} and {SECRETS['signed url']}")
    except RuntimeError:
        logger.exception("failed with %s", SECRETS["gmi key"].upper())
    text = "\n".join(json.dumps(entry) for entry in json_lines())
    assert len(json_lines()) == len(SECRETS) + 1
    for secret in SECRETS.values():
        assert secret not in text and secret.upper() not in text
    assert "X-Amz-Signature" not in text and "9f8e7d6c5b4a" not in text
    assert "https://bucket.s3.amazonaws.com/v.mp4?[redacted]" in text  # where it pointed stays readable
    assert json_lines()[-1]["exception"].startswith("Traceback")


def test_log_format_json_makes_the_site_write_one_object_per_line(tmp_path):
    script = ("import django, logging; django.setup();"
              "logging.getLogger('generations.probe').warning('hello %s', 'world')")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "gmi_project.settings", "DJANGO_DEBUG": "1", "LOG_FORMAT": "json",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "GMI_API_KEY": TEST_API_KEY}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    line = json.loads(done.stderr.strip().splitlines()[-1])
    assert line["message"] == "hello world" and line["logger"] == "generations.probe" and line["level"] == "WARNING"
    assert line["request_id"] is None and line["generation_id"] is None
