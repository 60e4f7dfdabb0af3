"""The audit service: context filled in, secrets never stored, never raising into the caller, the admin list."""
from __future__ import annotations

import json
import logging

import pytest
from django.contrib.auth.models import User
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory

from generations import request_context
from generations.models import AuditEvent
from generations.services import audit
from tests.helpers.factories import MembershipFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_event_keeps_actor_target_team_and_the_request_context(settings):
    settings.GENERATIONS = {**settings.GENERATIONS, "TRUSTED_PROXY_COUNT": 1}
    actor = UserFactory(username="alice")
    membership = MembershipFactory(user=UserFactory(username="bob"))
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.7",
                                   HTTP_X_REQUEST_ID="req-audit-1")
    token = request_context.bind(request)
    try:
        event = audit.record_event(action=AuditEvent.Action.ROLE_CHANGED, actor=actor, target=membership,
                                   data={"from": "member", "to": "admin"})
    finally:
        request_context.reset(token)
    event = AuditEvent.objects.get(pk=event.pk)
    assert (event.actor, event.actor_name) == (actor, "alice")
    assert event.target_type == "generations.membership" and event.target_id == str(membership.pk)
    assert event.team == membership.team and event.team_label == membership.team.slug
    assert (event.client_ip, event.request_id) == ("198.51.100.7", "req-audit-1")
    assert event.data == {"from": "member", "to": "admin"}


def test_actor_and_team_names_survive_their_deletion():
    actor, team = UserFactory(username="carol"), TeamFactory(slug="studio")
    event = audit.record_event(action=AuditEvent.Action.QUOTA_CHANGED, actor=actor, target=team)
    actor.delete()
    team.delete()
    event.refresh_from_db()
    assert event.actor is None and event.actor_name == "carol"
    assert event.team is None and event.team_label == "studio" and event.target_label


def test_outside_a_request_address_and_request_id_are_empty():
    event = audit.record_event(action=AuditEvent.Action.QUOTA_CHANGED, data={"limit": "daily_jobs"})
    assert event.client_ip is None and event.request_id == "" and event.actor is None


def test_secret_looking_keys_and_values_are_never_stored():
    data = {
        "secret": "whsec_abcdefghijklmnop", "api_key": "x", "Authorization": "Bearer abc", "password": "hunter2",
        "note": "the token is gmi_AbCdEfGhIjKlMnOp", "url": "https://s.example/v.mp4?X-Amz-Signature=ff",
        "nested": {"webhook_secret": "whsec_1234567890ab", "list": ["fine", "sk-live-123456789"]},
        "events": ["generation.succeeded"], "count": 3,
    }
    event = audit.record_event(action=AuditEvent.Action.WEBHOOK_CREATED, data=data)
    stored = json.dumps(AuditEvent.objects.get(pk=event.pk).data)
    for secret in ("whsec_", "hunter2", "gmi_AbCd", "Signature=ff", "sk-live", "Bearer abc"):
        assert secret not in stored
    assert event.data["events"] == ["generation.succeeded"] and event.data["count"] == 3
    assert event.data["nested"]["list"][0] == "fine"


def test_a_failing_write_is_logged_and_never_raised(monkeypatch, caplog):
    def refuse(self, *args, **kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(AuditEvent, "save", refuse)
    with caplog.at_level(logging.ERROR, logger="generations.audit"):
        assert audit.record_event(action=AuditEvent.Action.LOGIN, actor=UserFactory()) is None
    assert "auth.login" in caplog.text


@pytest.mark.postgres
def test_a_refused_insert_does_not_break_the_callers_transaction(caplog):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite does not enforce the column's length")
    with transaction.atomic():
        assert audit.record_event(action="x" * 100) is None  # longer than the column
        UserFactory(username="after")  # the caller's transaction still works
    assert User.objects.filter(username="after").exists()


def test_an_unsaved_team_is_not_linked():
    event = audit.record_event(action=AuditEvent.Action.LOGIN, team=TeamFactory.build(slug="draft"))
    assert event is not None and event.team is None and event.team_label == "draft"


def test_admin_lists_events_read_only_filterable_and_searchable(client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    audit.record_event(action=AuditEvent.Action.LOGIN, actor=UserFactory(username="dora"))
    client.force_login(staff)
    listing = client.get("/admin/generations/auditevent/?action=auth.login&q=dora")
    assert listing.status_code == 200 and b"dora" in listing.content
    event = AuditEvent.objects.get(actor_name="dora")
    assert client.get("/admin/generations/auditevent/add/").status_code == 403
    response = client.post(f"/admin/generations/auditevent/{event.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403 and AuditEvent.objects.filter(pk=event.pk).exists()
