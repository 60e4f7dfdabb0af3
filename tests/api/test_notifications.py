"""The notifications API: the member's own list (newest first, with the unread count), marking read, preferences."""
from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from generations.models import Notification
from tests.helpers.factories import UserFactory

API = "/api/v1"
K = Notification.Kind


def notice(recipient, title="Your video is ready", *, minutes_ago=0, read=False, **fields):
    created = timezone.now() - timedelta(minutes=minutes_ago)
    return Notification.objects.create(recipient=recipient, kind=fields.pop("kind", K.GENERATION_SUCCEEDED),
                                       title=title, created_at=created, read_at=created if read else None, **fields)


def test_the_list_is_the_members_own_newest_first_with_the_unread_count(api_client, member, other_user):
    old = notice(member, "old", minutes_ago=30, read=True)
    new = notice(member, "new", minutes_ago=1, link="/generations/x/")
    middle = notice(member, "middle", minutes_ago=10)
    notice(other_user, "not yours")

    body = api_client.get(f"{API}/notifications/").json()
    assert [r["id"] for r in body["results"]] == [new.pk, middle.pk, old.pk]
    assert (body["count"], body["unread"]) == (3, 2)
    assert set(body) == {"count", "unread", "next", "previous", "results"}
    first = body["results"][0]
    assert first["read"] is False and first["link"] == "http://testserver/generations/x/"
    assert set(first) == {"id", "kind", "title", "body", "link", "generation", "team", "data", "read", "read_at",
                          "created_at"}


def test_the_list_is_paginated_and_filters_unread(api_client, member):
    for n in range(25):
        notice(member, f"n{n}", minutes_ago=n, read=n % 2 == 1)
    page = api_client.get(f"{API}/notifications/", {"page_size": 10}).json()
    assert len(page["results"]) == 10 and page["count"] == 25 and page["next"] and page["unread"] == 13
    unread = api_client.get(f"{API}/notifications/", {"unread": "1", "page_size": 100}).json()
    assert unread["count"] == 13 and all(not r["read"] for r in unread["results"])


def test_the_list_query_count_does_not_grow_with_results(api_client, member, django_assert_max_num_queries):
    for n in range(15):
        notice(member, f"n{n}")
    with django_assert_max_num_queries(6):  # token, count, page, unread (+ token's last use)
        response = api_client.get(f"{API}/notifications/")
    assert response.json()["count"] == 15


def test_marking_ids_read_ignores_other_members_notifications(api_client, member, other_user):
    mine = notice(member)
    also_mine = notice(member)
    theirs = notice(other_user)
    response = api_client.post(f"{API}/notifications/read/", {"ids": [mine.pk, theirs.pk]}, format="json")
    assert response.status_code == 200 and response.json() == {"marked": 1, "unread": 1}
    theirs.refresh_from_db()
    also_mine.refresh_from_db()
    assert theirs.read_at is None and also_mine.read_at is None


def test_marking_without_ids_marks_all_of_the_members_read(api_client, member, other_user):
    notice(member)
    notice(member)
    theirs = notice(other_user)
    response = api_client.post(f"{API}/notifications/read/", {}, format="json")
    assert response.json() == {"marked": 2, "unread": 0}
    assert api_client.get(f"{API}/notifications/").json()["unread"] == 0
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_malformed_ids_answer_400_with_a_code(api_client, member):
    response = api_client.post(f"{API}/notifications/read/", {"ids": ["all"]}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "invalid" and "ids" in response.json()["errors"]


def test_anonymous_callers_get_a_json_error(api_client, db):
    for response in (api_client.get(f"{API}/notifications/"), api_client.post(f"{API}/notifications/read/")):
        assert response.status_code in (401, 403) and response.json()["code"] == "not_authenticated"


def test_preferences_are_read_and_changed_per_kind(api_client, member):
    rows = {r["kind"]: r for r in api_client.get(f"{API}/notifications/preferences/").json()}
    assert rows[K.GENERATION_SUCCEEDED]["channel"] == "email" and K.DAILY_SUMMARY not in rows
    response = api_client.patch(f"{API}/notifications/preferences/",
                                {K.GENERATION_SUCCEEDED: {"channel": "in_app"}, K.QUOTA_THRESHOLD: {"digest": True}},
                                format="json")
    assert response.status_code == 200
    rows = {r["kind"]: r for r in response.json()}
    assert rows[K.GENERATION_SUCCEEDED]["channel"] == "in_app"
    assert (rows[K.QUOTA_THRESHOLD]["channel"], rows[K.QUOTA_THRESHOLD]["digest"]) == ("email", True)


def test_unknown_kinds_and_channels_answer_400(api_client, member):
    for body in ({"telepathy": {"channel": "off"}}, {K.GENERATION_FAILED: {"channel": "pager"}},
                 {K.DAILY_SUMMARY: {"channel": "email"}}, {K.GENERATION_FAILED: "email"}, ["email"]):
        response = api_client.patch(f"{API}/notifications/preferences/", body, format="json")
        assert response.status_code == 400 and response.json()["code"], body


def test_staff_may_opt_into_the_daily_summary(api_client, db):
    staff = UserFactory(username="ops", staff=True)
    api_client.force_authenticate(staff)
    response = api_client.patch(f"{API}/notifications/preferences/", {K.DAILY_SUMMARY: {"channel": "email"}},
                                format="json")
    assert {r["kind"]: r["channel"] for r in response.json()}[K.DAILY_SUMMARY] == "email"
