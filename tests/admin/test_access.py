"""Who gets into the admin, and that no admin page shows the GMI key."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from generations.models import BlockedTerm, Flag, Generation, LedgerEntry, UsageCounter
from generations.services import moderation, tokens
from tests.admin.helpers import S, change, changelist, submitted
from tests.helpers.factories import (
    GenerationFactory,
    MembershipFactory,
    ProfileFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

SECRET_KEY = "sk-live-SECRET-1f2e3d4c5b6a"


# --------------------------------------------------------------------------- who gets in


def test_members_never_reach_the_admin(client, user):
    client.force_login(user)
    generation = GenerationFactory(owner=user)

    for url in ("/admin/", changelist(), change(generation), reverse("admin:generations_usage"),
                reverse("admin:generations_generation_do", args=[generation.pk, "cancel"])):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login")), url
    response = client.post(reverse("admin:generations_generation_do", args=[generation.pk, "cancel"]))
    assert response.status_code == 302
    generation.refresh_from_db()
    assert generation.status == S.QUEUED


def test_staff_without_permissions_cannot_open_usage_or_act(client):
    clerk = UserFactory(username="clerk", is_staff=True)
    client.force_login(clerk)
    generation = GenerationFactory()

    assert client.get(reverse("admin:generations_usage")).status_code == 403
    assert client.post(reverse("admin:generations_generation_do", args=[generation.pk, "cancel"])).status_code == 403
    generation.refresh_from_db()
    assert generation.status == S.QUEUED


# --------------------------------------------------------------------------- the GMI key


def test_no_admin_page_shows_the_gmi_key(staff_client, settings, user):
    settings.GENERATIONS = {**getattr(settings, "GENERATIONS", {}), "API_KEY": SECRET_KEY}
    team = TeamFactory()
    MembershipFactory(team=team, user=user)
    generation = submitted(user, team=team)
    Generation.objects.filter(pk=generation.pk).update(
        status=S.FAILED, error="GMI refused the job", upstream_response={"error": "bad payload"})
    Flag.objects.create(generation=generation, reporter=user, reason="check")
    moderation.add_blocked_terms(terms=["gore"])
    token, _ = tokens.create_token(user=user)
    profile = ProfileFactory(user=user)
    User = get_user_model()

    urls = [reverse("admin:index"), reverse("admin:app_list", args=["generations"]), reverse("admin:generations_usage"),
            reverse("admin:generations_generation_reject", args=[generation.pk]),
            reverse(f"admin:{User._meta.app_label}_{User._meta.model_name}_change", args=[user.pk])]
    for model_name in ("generation", "videomodel", "team", "userprofile", "ledgerentry", "usagecounter", "apitoken",
                       "flag", "blockedterm", "moderationdecision"):
        urls.append(changelist(model_name))
    for obj in (generation, generation.model, team, profile, LedgerEntry.objects.first(), UsageCounter.objects.first(),
                token, Flag.objects.first(), BlockedTerm.objects.first()):
        urls.append(change(obj))

    for url in urls:
        response = staff_client.get(url)
        assert response.status_code == 200, url
        assert SECRET_KEY not in response.content.decode(), url
