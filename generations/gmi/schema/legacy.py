"""The legacy queue API's built-in parameter schema: that API publishes none of its own."""
from __future__ import annotations

from typing import Any

# The legacy queue API publishes no parameter schemas; this is its image-to-video input
# (SPEC 2.2), written in the request-queue API's raw list dialect so it goes through
# read_parameters like any catalogue entry. Copy it before changing it.
LEGACY_IMAGE_TO_VIDEO_PARAMETERS: list[dict[str, Any]] = [
    {
        "name": "prompt",
        "display_name": "Prompt",
        "description": "What should happen in the video.",
        "type": "string",
        "required": True,
    },
    {
        "name": "image_url",
        "display_name": "Image",
        "description": "The image to animate: upload one, or paste a public http(s) link.",
        "type": "string",
        "required": True,
    },
    {
        "name": "duration",
        "display_name": "Duration (seconds)",
        "description": "Length of the video in seconds.",
        "type": "string",
        "required": False,
        "default": "5",
        "options": ["5", "10"],
    },
    {
        "name": "aspect_ratio",
        "display_name": "Aspect ratio",
        "description": "Shape of the video: landscape, portrait or square.",
        "type": "string",
        "required": False,
        "default": "16:9",
        "options": ["16:9", "9:16", "1:1"],
    },
    {
        "name": "negative_prompt",
        "display_name": "Negative prompt",
        "description": "What the video should avoid.",
        "type": "string",
        "required": False,
        "default": "blur, distort, and low quality",
    },
    {
        "name": "seed_value",
        "display_name": "Seed",
        "description": "Digits that make a result repeatable; leave empty for a random one.",
        "type": "string",
        "required": False,
    },
]
