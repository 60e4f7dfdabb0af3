"""Services decide from the GMI layer's normalized codes and show GMI's own reason, for both API generations."""
from __future__ import annotations

import pytest

from generations.models import Generation
from generations.services import submissions
from tests.helpers.factories import UserFactory
from tests.helpers.lifecycle import drive

pytestmark = pytest.mark.django_db(transaction=True)

S = Generation.Status


def submit(prompt: str = "a paper boat drifting on a pond") -> Generation:
    return submissions.submit_generation(
        user=UserFactory(), model_id="Veo3", payload={"prompt": prompt, "durationSeconds": 8}
    )


def test_a_refused_submission_shows_gmis_reason_without_our_request_line(catalogue):
    # The content_policy fault answers 400 with any text: here one that blames no policy.
    catalogue.set_fault("content_policy", count=1, message="this account may not render 8 second clips")

    generation = drive(submit())

    assert (generation.status, generation.error_code) == (S.FAILED, "upstream_rejected")
    assert generation.error == "GMI refused the job: this account may not render 8 second clips"


@pytest.mark.parametrize(
    ("reason", "code"),
    [
        ("The output was blocked by our safety system", "content_policy"),
        ("Video generation failed: the GPU ran out of memory", "upstream_failed"),
    ],
)
def test_a_failed_job_is_classified_by_the_gmi_layer_and_keeps_gmis_words(catalogue, reason, code):
    catalogue.set_fault("failed_job", count=1, error=reason)

    generation = drive(submit())

    assert (generation.status, generation.error_code, generation.error) == (S.FAILED, code, reason)
