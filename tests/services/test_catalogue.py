"""The catalogue and unseen models: sync, tolerant schemas, validation before anything is sent, pass-through."""
from __future__ import annotations

import pytest

from generations.exceptions import PayloadInvalid
from generations.models import Generation, VideoModel
from generations.services import submissions
from generations.services.catalogue import sync_models
from tests.helpers.factories import UserFactory, VideoModelFactory
from tests.helpers.lifecycle import drive

pytestmark = pytest.mark.django_db(transaction=True)

UNUSUAL = "PixVerse-V4.5-Transition"


def test_sync_stores_every_model_with_its_raw_parameters(catalogue):
    ids = set(VideoModel.objects.values_list("id", flat=True))
    assert {"Veo3", "Kling-Image2Video-V2.1-Master", "Luma-Ray2", UNUSUAL} <= ids
    veo = VideoModel.objects.get(pk="Veo3")
    assert veo.detailed_description.startswith("## Veo 3") and veo.parameters and veo.available


def test_staff_settings_survive_a_resync_and_vanished_models_become_unavailable(catalogue):
    VideoModel.objects.filter(pk="Veo3").update(enabled=False, price_credits=40, position=1)
    VideoModelFactory(id="Retired-Model", api="requestqueue")
    counts = sync_models()
    veo = VideoModel.objects.get(pk="Veo3")
    assert (veo.enabled, veo.price_credits, veo.position) == (False, 40, 1)
    retired = VideoModel.objects.get(pk="Retired-Model")
    assert retired.available is False and counts["unavailable"] == 1


def test_invalid_payload_for_an_unseen_model_names_the_fields_and_never_reaches_gmi(catalogue):
    catalogue.clear_journal()
    with pytest.raises(PayloadInvalid) as refused:
        submissions.submit_generation(
            user=UserFactory(), model_id=UNUSUAL,
            payload={"prompt": "morph", "first_frame": "not a url", "quality": "4k", "motion_strength": 3},
        )
    errors = refused.value.errors
    assert {"first_frame", "last_frame", "quality", "motion_strength"} <= set(errors)
    assert catalogue.journal(endpoint="create") == []
    assert Generation.objects.count() == 0


@pytest.mark.usefixtures("public_dns")  # the frames' host must resolve to a public address
def test_unknown_parameter_type_passes_through_unchanged_and_the_job_succeeds(catalogue):
    camera = {"points": [[0, 0, 1], [0.2, 0.1, 1.2]], "ease": "in-out"}
    generation = submissions.submit_generation(
        user=UserFactory(), model_id=UNUSUAL,
        payload={"prompt": "day turns to night", "first_frame": "https://example.com/a.png",
                 "last_frame": "https://example.com/b.png", "quality": "720p", "motion_strength": 0.35,
                 "camera_motion": camera, "seed": "12"},
    )
    assert generation.payload["camera_motion"] == camera and generation.payload["seed"] == 12
    generation = drive(generation)
    assert generation.status == Generation.Status.SUCCEEDED, generation.error
    [create] = catalogue.journal(endpoint="create")
    assert create["body"]["payload"]["camera_motion"] == camera


def test_disabled_model_is_refused(catalogue):
    from generations.exceptions import ModelUnavailable

    VideoModel.objects.filter(pk="Veo3").update(enabled=False)
    with pytest.raises(ModelUnavailable):
        submissions.submit_generation(user=UserFactory(), model_id="Veo3", payload={"prompt": "x"})


def test_new_models_can_wait_for_staff_before_they_are_offered(gmi, db):
    from tests.helpers.settings import override_generations

    with override_generations(NEW_MODELS_ENABLED=False):
        sync_models()
    assert not VideoModel.objects.filter(enabled=True).exists()
