"""The flag queue, blocked terms and the record of moderation decisions in the admin."""
from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone

from generations.models import BlockedTerm, Flag
from generations.services import moderation
from tests.admin.helpers import M, change, changelist, messages_of
from tests.helpers.factories import GenerationFactory, UserFactory

pytestmark = pytest.mark.django_db


# --------------------------------------------------------------------------- flags and blocked terms


def test_flag_queue_lists_open_flags_first_links_the_generation_and_resolves(staff_client, staff_user):
    generation = GenerationFactory(succeeded=True, prompt="a busy market")
    old_open = Flag.objects.create(generation=generation, reporter=UserFactory(), reason="first report")
    resolved = Flag.objects.create(generation=generation, reporter=UserFactory(), reason="dealt with",
                                   resolved_at=timezone.now())
    new_open = Flag.objects.create(generation=generation, reporter=UserFactory(), reason="second report")

    response = staff_client.get(changelist("flag"))

    assert [f.pk for f in response.context["cl"].result_list] == [new_open.pk, old_open.pk, resolved.pk]
    assert change(generation) in response.content.decode()

    response = staff_client.post(changelist("flag"), {
        "action": "resolve_flags", ACTION_CHECKBOX_NAME: [old_open.pk, resolved.pk]}, follow=True)

    old_open.refresh_from_db()
    assert old_open.resolved_by == staff_user
    assert "Resolved 1 flag." in messages_of(response)[0] and "already resolved" in messages_of(response)[0]
    generation.refresh_from_db()
    assert generation.moderation == M.NONE  # resolving keeps the video as it is


def test_approving_flagged_videos_resolves_their_flags(staff_client):
    generation = GenerationFactory(succeeded=True)
    flag = Flag.objects.create(generation=generation, reporter=UserFactory(), reason="hmm")

    staff_client.post(changelist("flag"), {"action": "approve_flagged", ACTION_CHECKBOX_NAME: [flag.pk]})

    flag.refresh_from_db()
    generation.refresh_from_db()
    assert flag.resolved_at is not None and generation.moderation == M.APPROVED


def test_blocked_terms_are_added_normalized_and_deleted_through_the_admin(staff_client, staff_user):
    response = staff_client.post(reverse("admin:generations_blockedterm_add"), {"term": " Gore "})
    assert response.status_code == 302
    term = BlockedTerm.objects.get()
    assert (term.term, term.normalized, term.created_by) == ("Gore", "gore", staff_user)
    assert "gore" in staff_client.get(changelist("blockedterm")).content.decode()

    duplicate = staff_client.post(reverse("admin:generations_blockedterm_add"), {"term": "GORE"})
    assert duplicate.status_code == 200 and "Already blocked" in duplicate.content.decode()

    staff_client.post(changelist("blockedterm"), {
        "action": "delete_selected", ACTION_CHECKBOX_NAME: [term.pk], "post": "yes"})
    assert not BlockedTerm.objects.exists()


def test_moderation_decisions_are_read_only(staff_client, staff_user):
    generation = GenerationFactory()
    decision = moderation.moderate_generation(generation=generation, moderator=staff_user, decision="approve")

    assert staff_client.get(changelist("moderationdecision")).status_code == 200
    assert staff_client.get(reverse("admin:generations_moderationdecision_add")).status_code == 403
    assert 'name="reason"' not in staff_client.get(change(decision)).content.decode()
