"""API throttling: 429 throttled with Retry-After, scopes per member, failed tokens and anonymous calls per
address (behind 0 and 1 trusted proxies, whatever X-Forwarded-For a client writes), switch, shared cache."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from rest_framework.test import APIClient

from generations.api import throttles
from generations.services import tokens
from tests.helpers.factories import GenerationFactory, UserFactory
from tests.helpers.threads import run_concurrently

API = "/api/v1"
ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def rates(settings):
    """Small rates for the scopes a test names; the others keep their defaults."""

    def set_rates(proxies: int = 0, throttle: bool = True, **values):
        settings.GENERATIONS = {**settings.GENERATIONS, "THROTTLE": throttle, "TRUSTED_PROXY_COUNT": proxies,
                                "THROTTLE_RATES": values}

    return set_rates


def token_client(user, remote="192.0.2.10", **extra) -> APIClient:
    _, key = tokens.create_token(user=user, name="throttle")
    client = APIClient(REMOTE_ADDR=remote, **extra)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def quote(client, **extra):
    return client.post(f"{API}/generations/quote/", {"model": "none", "payload": {}}, format="json", **extra)


def assert_throttled(response, *, at_most: int):
    assert response.status_code == 429, response.content
    body = response.json()
    assert body["code"] == "throttled" and "try again in" in body["detail"]
    assert 1 <= int(response["Retry-After"]) <= at_most


def test_calls_past_the_rate_answer_429_throttled_with_retry_after(db, rates):
    rates(quote="3/min")
    client = token_client(UserFactory())
    assert [quote(client).status_code for _ in range(3)] == [400, 400, 400]  # counted before the body is read
    assert_throttled(quote(client), at_most=60)


def test_a_members_tokens_and_session_share_one_budget_and_others_keep_theirs(db, rates):
    rates(list="4/min")
    member, other = UserFactory(), UserFactory()
    first, second = token_client(member), token_client(member)
    session = APIClient(REMOTE_ADDR="192.0.2.99")
    session.force_login(member)
    assert [c.get(f"{API}/generations/").status_code for c in (first, second, session, first)] == [200] * 4
    assert second.get(f"{API}/generations/").status_code == 429
    assert token_client(other).get(f"{API}/generations/").status_code == 200


def test_scopes_are_separate_so_a_spent_list_budget_leaves_polling_alone(db, rates):
    rates(list="2/min")
    member = UserFactory()
    generation = GenerationFactory(owner=member)
    client = token_client(member)
    for _ in range(2):
        client.get(f"{API}/generations/")
    assert client.get(f"{API}/generations/").status_code == 429
    assert client.get(f"{API}/generations/{generation.pk}/").status_code == 200


def test_default_detail_rate_lets_a_client_poll_its_jobs_every_half_second(db, rates):
    rates()  # the defaults
    assert throttles.rate_for("detail").calls / throttles.rate_for("detail").seconds >= 20  # 10 jobs, 2/s each
    member = UserFactory()
    jobs = [GenerationFactory(owner=member) for _ in range(3)]
    client = token_client(member)
    answers = {client.get(f"{API}/generations/{jobs[i % 3].pk}/").status_code for i in range(150)}
    assert answers == {200}


def test_wrong_tokens_from_one_address_are_refused_before_any_lookup(db, rates, django_assert_num_queries):
    rates(failed_token="3/min")
    member = UserFactory()
    _, key = tokens.create_token(user=member, name="right")
    guesser = APIClient(REMOTE_ADDR="192.0.2.66")
    for n in range(3):
        guesser.credentials(HTTP_AUTHORIZATION=f"Bearer gmi_wrong{n}")
        assert guesser.get(f"{API}/quota/").status_code == 401
    guesser.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")  # even the right one waits
    with django_assert_num_queries(0):
        response = guesser.get(f"{API}/quota/")
    assert_throttled(response, at_most=60)
    elsewhere = APIClient(REMOTE_ADDR="192.0.2.67")
    elsewhere.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert elsewhere.get(f"{API}/quota/").status_code == 200


def test_no_proxy_a_spoofed_forwarded_for_does_not_escape_the_failed_token_limit(db, rates):
    rates(proxies=0, failed_token="3/min")
    client = APIClient(REMOTE_ADDR="192.0.2.66")
    client.credentials(HTTP_AUTHORIZATION="Bearer gmi_wrong")
    answers = [client.get(f"{API}/quota/", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code for n in range(5)]
    assert answers == [401, 401, 401, 429, 429]


def test_one_proxy_counts_the_address_it_saw_not_what_the_client_wrote(db, rates):
    rates(proxies=1, failed_token="3/min")
    client = APIClient(REMOTE_ADDR="10.0.0.2")  # the proxy
    client.credentials(HTTP_AUTHORIZATION="Bearer gmi_wrong")
    # The client prepends a new fake address each time; the proxy appends the real one.
    answers = [client.get(f"{API}/quota/", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}, 198.51.100.5").status_code
               for n in range(5)]
    assert answers == [401, 401, 401, 429, 429]
    # Another client behind the same proxy is not punished for the first one.
    other = client.get(f"{API}/quota/", HTTP_X_FORWARDED_FOR="198.51.100.6")
    assert other.status_code == 401


def test_anonymous_calls_are_counted_per_address_before_the_401(db, rates):
    rates(anon="2/min")
    client = APIClient(REMOTE_ADDR="192.0.2.5")
    assert [client.get(f"{API}/generations/").status_code for _ in range(2)] == [401, 401]
    assert_throttled(client.get(f"{API}/schema/"), at_most=60)
    assert APIClient(REMOTE_ADDR="192.0.2.6").get(f"{API}/generations/").status_code == 401


def test_throttle_off_lets_every_call_through(db, rates):
    rates(throttle=False, quote="1/min", failed_token="1/min")
    client = token_client(UserFactory())
    assert {quote(client).status_code for _ in range(5)} == {400}
    guesser = APIClient()
    guesser.credentials(HTTP_AUTHORIZATION="Bearer gmi_wrong")
    assert {guesser.get(f"{API}/quota/").status_code for _ in range(4)} == {401}


def test_project_maps_gmi_throttle_and_rates_from_the_environment():
    code = ("import django, json; django.setup(); from django.conf import settings as s; "
            "print(json.dumps([s.GENERATIONS['THROTTLE'], s.GENERATIONS['THROTTLE_RATES'], "
            "s.GENERATIONS['TRUSTED_PROXY_COUNT'], s.REST_FRAMEWORK['NUM_PROXIES'], s.CACHES['default']['BACKEND']]))")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "gmi_project.settings", "DJANGO_DEBUG": "1", "GMI_THROTTLE": "0",
           "GMI_THROTTLE_RATES": "detail=50/s,quote=5/min", "TRUSTED_PROXY_COUNT": "2"}
    env.pop("REDIS_URL", None)
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ('[false, {"detail": "50/s", "quote": "5/min"}, 2, 2, '
                                  '"django.core.cache.backends.db.DatabaseCache"]')


def test_a_failing_cache_lets_calls_through(db, rates, settings):
    rates(quote="1/min")
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0"}}  # nothing listens there
    client = token_client(UserFactory())
    assert {quote(client).status_code for _ in range(3)} == {400}


def _redis_url() -> str | None:
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/6"
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        return None
    return url


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("backend", ["locmem", "redis"])
def test_concurrent_calls_get_exactly_the_rate(rates, settings, backend, monkeypatch):
    if backend == "redis":
        url = _redis_url()
        if url is None:
            pytest.skip("no Redis on 127.0.0.1:6379")
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url,
                                       "KEY_PREFIX": f"test-{os.getpid()}-{time.time()}"}}
    rates(quote="10/min")
    user = UserFactory()
    _, key = tokens.create_token(user=user, name="burst")
    # The throttle's clock stands in the middle of a minute: a new minute would rightly start a new budget.
    middle = time.time() // 60 * 60 + 30
    monkeypatch.setattr(throttles, "time", SimpleNamespace(time=lambda: middle))

    def call(_):
        client = APIClient(REMOTE_ADDR="192.0.2.1")
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        return quote(client).status_code

    results = run_concurrently(40, call)
    assert sorted(results).count(400) == 10 and results.count(429) == 30, results


def test_openapi_documents_429_throttled_with_retry_after(db, client):
    schema = client.get(f"{API}/schema/?format=json").json()
    for path, method in (("/api/v1/generations/", "post"), ("/api/v1/generations/{id}/", "get"),
                         ("/api/v1/generations/quote/", "post"), ("/api/v1/uploads/", "post")):
        answer = schema["paths"][path][method]["responses"]["429"]
        assert "throttled" in answer["description"] and "Retry-After" in answer["headers"]


def test_the_cache_table_is_created_by_migrate(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "gmi_project.settings", "DJANGO_DEBUG": "1",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}"}
    env.pop("REDIS_URL", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], env=env, cwd=ROOT, check=True, timeout=300)
    import sqlite3

    tables = {row[0] for row in sqlite3.connect(tmp_path / "fresh.sqlite3").execute(
        "select name from sqlite_master where type='table'")}
    assert "gmi_cache" in tables


def test_an_unreadable_rate_is_a_system_check_error(rates):
    from django.core import checks

    rates(detail="lots/min")
    assert "generations.E009" in [m.id for m in checks.run_checks()]
