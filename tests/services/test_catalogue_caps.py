"""An oversized catalogue stays bounded: models a sync leaves enabled, the guide kept and rendered, the
sync's time, the model list's pages and the gallery's filter. The simulator lists extra models for it."""
from __future__ import annotations

import pytest
from django.urls import reverse

from generations.models import Notification, VideoModel
from generations.services import catalogue
from generations.services.catalogue import sync_models
from gmi_simulator.catalogue import MODELS
from tests.helpers.factories import GenerationFactory, UserFactory, VideoModelFactory
from tests.helpers.settings import override_generations

pytestmark = pytest.mark.django_db

API = "/api/v1"
SIMULATED = len(MODELS)


def test_a_sync_past_the_cap_stores_new_models_disabled_and_tells_staff(gmi):
    gmi.set_catalogue(extra_models=40)
    staff = UserFactory(username="catalogue-staff", is_staff=True, is_superuser=True)
    UserFactory(username="plain-member")
    with override_generations(CATALOGUE_MAX_ENABLED_MODELS=10):
        counts = sync_models()

    assert counts["added"] == SIMULATED + 40 and counts["held_back"] == SIMULATED + 40 - 10
    assert VideoModel.objects.filter(enabled=True).count() == 10
    assert VideoModel.objects.filter(enabled=False).count() == SIMULATED + 40 - 10
    [notice] = Notification.objects.filter(kind=Notification.Kind.CATALOGUE_HELD_BACK)
    assert notice.recipient == staff and f"{SIMULATED + 30} new models" in notice.title
    assert notice.link.startswith("/admin/")


def test_staff_decisions_past_the_cap_are_kept_on_the_next_sync(gmi):
    gmi.set_catalogue(extra_models=5)
    with override_generations(CATALOGUE_MAX_ENABLED_MODELS=3):
        sync_models()
        VideoModel.objects.filter(pk="Synthetic-00005").update(enabled=True)  # staff enable one by hand
        counts = sync_models()
    assert counts["held_back"] == 0 and counts["updated"] == SIMULATED + 5
    assert VideoModel.objects.get(pk="Synthetic-00005").enabled


def test_an_oversized_guide_is_stored_and_rendered_shortened_with_a_note(gmi, client, user):
    gmi.set_catalogue(extra_models=1, guide_kb=2048)  # a 2 MiB guide
    with override_generations(CATALOGUE_MAX_GUIDE_CHARS=65536):
        sync_models()
        model = VideoModel.objects.get(pk="Synthetic-00001")
        assert len(model.detailed_description) < 66000
        assert "This guide was shortened" in model.detailed_description
        assert len(model.raw["detailed_description"]) == len(model.detailed_description)

        client.force_login(user)
        page = client.get(reverse("generations:submit"), {"model": model.pk})
    assert page.status_code == 200 and len(page.content) < 200_000
    assert "This guide was shortened" in page.content.decode()


def test_a_guide_is_rendered_once_not_on_every_submit_page(client, user, monkeypatch):
    VideoModelFactory(id="Guided", detailed_description="## Guide\n\n" + "Some *words* here.\n" * 2000)
    client.force_login(user)
    renders = []
    real = catalogue.markdown_lib.markdown
    monkeypatch.setattr(catalogue.markdown_lib, "markdown", lambda *a, **k: renders.append(1) or real(*a, **k))

    for _ in range(3):
        html = client.get(reverse("generations:submit"), {"model": "Guided"}).content.decode()
        assert "<em>words</em>" in html

    assert len(renders) == 1


def test_the_sync_stops_at_its_deadline_and_the_next_one_starts_with_the_rest(gmi):
    gmi.set_catalogue(extra_models=60)
    gmi.set_latency(latency_ms=50)
    with override_generations(CATALOGUE_SYNC_SECONDS=0.3, CATALOGUE_SYNC_CONCURRENCY=2):
        first = sync_models()
        assert 0 < first["deferred"] < SIMULATED + 60
        assert VideoModel.objects.count() == first["added"]
        assert first["unavailable"] == 0
        second = sync_models()
    # The second run goes to the models the first never reached before re-reading any it had stored.
    assert second["added"] > 0
    assert second["updated"] == 0 or VideoModel.objects.count() == SIMULATED + 60


def test_the_model_list_is_paginated_and_leaves_the_guides_to_each_models_page(api_client, user):
    for index in range(30):
        VideoModelFactory(id=f"M-{index:02d}", detailed_description="## Long guide\n" + "x" * 5000)
    api_client.force_authenticate(user)

    first = api_client.get(f"{API}/models/").json()
    assert first["count"] == 30 and first["previous"] is None and first["next"]
    assert len(first["results"]) == 20 and all("detailed_description" not in m for m in first["results"])
    rest = api_client.get(first["next"]).json()
    assert len(rest["results"]) == 10 and rest["next"] is None
    assert api_client.get(f"{API}/models/", {"page_size": 100}).json()["next"] is None
    detail = api_client.get(f"{API}/models/M-00/").json()
    assert detail["detailed_description"].startswith("## Long guide")


def test_the_gallery_offers_only_the_models_of_videos_the_member_can_see(client, user):
    for index in range(300):
        VideoModelFactory(id=f"Catalogue-{index:03d}", display_name=f"Catalogue model {index:03d}")
    GenerationFactory(owner=user, model=VideoModel.objects.get(pk="Catalogue-123"), succeeded=True)
    client.force_login(user)

    response = client.get(reverse("generations:gallery"))

    html = response.content.decode()
    assert "Catalogue model 123" in html and "Catalogue model 124" not in html
    assert len(response.content) < 60_000
    filtered = client.get(reverse("generations:gallery"), {"model": "Catalogue-123"})
    assert filtered.status_code == 200 and filtered.context["filters"]["model"] == "Catalogue-123"


def test_the_room_under_the_cap_goes_to_the_first_new_models_gmi_lists(gmi):
    gmi.set_catalogue(extra_models=30)
    with override_generations(CATALOGUE_MAX_ENABLED_MODELS=SIMULATED + 5, CATALOGUE_SYNC_CONCURRENCY=8):
        sync_models()
    enabled = set(VideoModel.objects.filter(enabled=True).values_list("pk", flat=True))
    assert enabled == {m.id for m in MODELS} | {f"Synthetic-{i:05d}" for i in range(1, 6)}
