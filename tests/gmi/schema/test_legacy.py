"""Tests for the legacy queue API's built-in parameter schema."""
from __future__ import annotations

from generations.gmi.schema import (
    LEGACY_IMAGE_TO_VIDEO_PARAMETERS,
    REQUIRED_MESSAGE,
    read_parameters,
    requested_seconds,
    validate_payload,
)


def test_legacy_image_to_video_parameters_read_as_spec_describes() -> None:
    params = {p.name: p for p in read_parameters(LEGACY_IMAGE_TO_VIDEO_PARAMETERS)}
    assert list(params) == ["prompt", "image_url", "duration", "aspect_ratio", "negative_prompt", "seed_value"]
    assert params["prompt"].kind == "text" and params["prompt"].required
    assert params["image_url"].kind == "file" and params["image_url"].accept == ("image",)
    assert params["duration"].options == ("5", "10") and params["duration"].default == "5"
    assert params["aspect_ratio"].options == ("16:9", "9:16", "1:1") and params["aspect_ratio"].default == "16:9"
    assert params["negative_prompt"].default == "blur, distort, and low quality"
    assert params["seed_value"].kind == "string"
    assert all(p.extra == {} for p in params.values())


def test_legacy_image_to_video_payload_validates_and_counts_seconds() -> None:
    params = read_parameters(LEGACY_IMAGE_TO_VIDEO_PARAMETERS)
    cleaned, errors = validate_payload(
        params, {"prompt": "waves", "image_url": "https://x/y.jpg", "duration": 10, "seed_value": 42}
    )
    assert errors == {}
    assert cleaned == {"prompt": "waves", "image_url": "https://x/y.jpg", "duration": "10", "seed_value": "42"}
    assert requested_seconds(params, cleaned) == 10
    assert requested_seconds(params, {"prompt": "waves"}) == 5
    assert validate_payload(params, {"prompt": "waves"})[1] == {"image_url": [REQUIRED_MESSAGE]}
