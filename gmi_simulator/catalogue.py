"""The simulated GMI model catalogue: realistic models whose JSON dialects differ on purpose.

GMI does not document the ``parameters`` JSON field by field, and real models differ
(``options`` vs ``enum`` vs ``choices``, ``min`` vs ``minimum``, types nobody has seen
yet). The catalogue mirrors that variety so clients are tested against it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

ORG_ID = "org-simulator"


@dataclass(frozen=True)
class SimulatedModel:
    """A model and the quirks of how the simulator answers for it."""

    id: str
    detail: dict[str, Any]
    #: Status word right after submission: "dispatched" in GMI's API reference,
    #: "queued" in its per-model guides.
    first_status: str = "queued"
    #: Words used per phase when they differ from GMI's usual ones.
    status_words: dict[str, str] = field(default_factory=dict)
    #: "epoch" (int seconds), "epoch_float" or "iso" (ISO-8601 strings).
    time_format: str = "epoch"
    #: "flat", "envelope" (media_urls objects) or "envelope_strings".
    outcome_shape: str = "flat"
    #: Also offered by the legacy Video API.
    legacy: bool = False

    def status_word(self, phase: str) -> str:
        return self.status_words.get(phase, phase)

    def public_detail(self) -> dict[str, Any]:
        return {"model": self.id, "org_id": ORG_ID, **copy.deepcopy(self.detail)}


_NEGATIVE_DEFAULT = "blur, distort, and low quality"

_KLING_COMMON = [
    {
        "name": "negative_prompt",
        "display_name": "Negative prompt",
        "description": "What the video should not contain.",
        "type": "string",
        "required": False,
        "default": _NEGATIVE_DEFAULT,
    },
    {
        "name": "duration",
        "display_name": "Duration",
        "description": "Length of the video in seconds.",
        "type": "string",
        "required": False,
        "default": "5",
        "options": ["5", "10"],
    },
    {
        "name": "cfg_scale",
        "display_name": "CFG scale",
        "description": "How closely the video follows the prompt, 0 to 1 with step 0.1.",
        "type": "float",
        "required": False,
        "default": 0.5,
        "min": 0,
        "max": 1,
        "step": 0.1,
    },
]

MODELS: tuple[SimulatedModel, ...] = (
    SimulatedModel(
        id="Veo3",
        first_status="dispatched",
        detail={
            "brief_description": "Google Veo 3: 8-second 720p/1080p videos with native audio from text.",
            "detailed_description": (
                "## Veo 3\n\nGoogle DeepMind's video model. Generates **8 seconds** of video "
                "with synchronised dialogue, effects and ambience.\n\n"
                "- Aspect ratios 16:9 and 9:16\n- Audio on by default\n"
            ),
            "modalities": {"input": ["text"], "output": ["video", "audio"]},
            "parameters": [
                {
                    "name": "prompt",
                    "display_name": "Prompt",
                    "description": "Describe the scene, camera and sound.",
                    "type": "string",
                    "required": True,
                    "max_length": 2000,
                },
                {
                    "name": "negativePrompt",
                    "display_name": "Negative prompt",
                    "description": "What to avoid.",
                    "type": "string",
                    "required": False,
                },
                {
                    "name": "durationSeconds",
                    "display_name": "Duration (seconds)",
                    "description": "Veo 3 renders 8 seconds.",
                    "type": "integer",
                    "required": False,
                    "default": 8,
                    "options": [8],
                },
                {
                    "name": "aspectRatio",
                    "display_name": "Aspect ratio",
                    "description": "Frame shape.",
                    "type": "string",
                    "required": False,
                    "default": "16:9",
                    "options": ["16:9", "9:16"],
                },
                {
                    "name": "resolution",
                    "display_name": "Resolution",
                    "type": "string",
                    "required": False,
                    "default": "720p",
                    "options": ["720p", "1080p"],
                },
                {
                    "name": "generateAudio",
                    "display_name": "Generate audio",
                    "description": "Add a soundtrack generated with the video.",
                    "type": "boolean",
                    "required": False,
                    "default": True,
                },
                {
                    "name": "seed",
                    "display_name": "Seed",
                    "description": "Same seed and prompt give similar videos.",
                    "type": "integer",
                    "required": False,
                    "min": 0,
                    "max": 4294967295,
                },
            ],
            "pricing": {"unit": "second", "price_usd": 0.75},
        },
    ),
    SimulatedModel(
        id="Veo3-Fast",
        first_status="dispatched",
        detail={
            "brief_description": "Veo 3 Fast: quicker, cheaper Veo 3 renders.",
            "detailed_description": "## Veo 3 Fast\n\nLower latency and price than Veo 3, same controls.\n",
            "modalities": {"input": ["text", "image"], "output": ["video", "audio"]},
            "parameters": [
                {"name": "prompt", "display_name": "Prompt", "type": "string", "required": True},
                {
                    "name": "image",
                    "display_name": "Starting frame",
                    "description": "Optional image the video starts from (public URL).",
                    "type": "image_url",
                    "required": False,
                },
                {"name": "negativePrompt", "display_name": "Negative prompt", "type": "string", "required": False},
                {
                    "name": "durationSeconds",
                    "display_name": "Duration (seconds)",
                    "description": "4 to 8 with step 2",
                    "type": "integer",
                    "required": False,
                    "default": 8,
                    "min": 4,
                    "max": 8,
                    "step": 2,
                },
                {
                    "name": "aspectRatio",
                    "display_name": "Aspect ratio",
                    "type": "string",
                    "required": False,
                    "default": "16:9",
                    "choices": ["16:9", "9:16"],
                },
                {
                    "name": "generateAudio",
                    "display_name": "Generate audio",
                    "type": "boolean",
                    "required": False,
                    "default": False,
                },
                {"name": "seed", "display_name": "Seed", "type": "integer", "required": False},
            ],
            "pricing": {"unit": "second", "price_usd": 0.4},
        },
    ),
    SimulatedModel(
        id="Kling-Image2Video-V2.1-Master",
        legacy=True,
        detail={
            "brief_description": "Kling 2.1 Master: cinematic image-to-video with strong motion.",
            "detailed_description": (
                "## Kling V2.1 Master (image to video)\n\nAnimates a still image. "
                "Best with a clear subject and a prompt that describes the motion.\n"
            ),
            "modalities": {"input": ["image", "text"], "output": ["video"]},
            "parameters": [
                {
                    "name": "image_url",
                    "display_name": "Image",
                    "description": "The first frame (jpeg or png, public URL).",
                    "type": "image",
                    "required": True,
                    "file_types": ["jpeg", "jpg", "png"],
                },
                {
                    "name": "prompt",
                    "display_name": "Prompt",
                    "description": "How the image should move.",
                    "type": "string",
                    "required": True,
                },
                *copy.deepcopy(_KLING_COMMON),
            ],
            "pricing": {"unit": "request", "price_usd": 1.4},
        },
    ),
    SimulatedModel(
        id="Kling-Text2Video-V2.1-Master",
        detail={
            "brief_description": "Kling 2.1 Master: text-to-video, 5 or 10 seconds.",
            "detailed_description": "## Kling V2.1 Master (text to video)\n\nHigh-fidelity motion from a prompt.\n",
            "modalities": {"input": ["text"], "output": ["video"]},
            "parameters": [
                {"name": "prompt", "display_name": "Prompt", "type": "string", "required": True},
                *copy.deepcopy(_KLING_COMMON),
                {
                    "name": "aspect_ratio",
                    "display_name": "Aspect ratio",
                    "type": "string",
                    "required": False,
                    "default": "16:9",
                    "options": ["16:9", "9:16", "1:1"],
                },
            ],
            "pricing": {"unit": "request", "price_usd": 1.4},
        },
    ),
    SimulatedModel(
        id="Luma-Ray2",
        detail={
            "brief_description": "Luma Ray2: realistic motion, 5s or 9s, optional keyframe.",
            "detailed_description": "## Luma Ray2\n\nFast, coherent motion. Give a keyframe image to start from.\n",
            "modalities": {"input": ["text", "image"], "output": ["video"]},
            "parameters": [
                {"name": "prompt", "display_name": "Prompt", "type": "string", "required": True},
                {
                    "name": "aspect_ratio",
                    "display_name": "Aspect ratio",
                    "type": "string",
                    "required": False,
                    "default": "16:9",
                    "enum": ["16:9", "9:16", "4:3", "3:4", "21:9", "9:21", "1:1"],
                },
                {
                    "name": "duration",
                    "display_name": "Duration",
                    "type": "string",
                    "required": False,
                    "default": "5s",
                    "enum": ["5s", "9s"],
                },
                {
                    "name": "resolution",
                    "display_name": "Resolution",
                    "type": "string",
                    "required": False,
                    "default": "720p",
                    "enum": ["540p", "720p", "1080p"],
                },
                {"name": "loop", "display_name": "Loop", "type": "boolean", "required": False, "default": False},
                {
                    "name": "image_url",
                    "display_name": "Keyframe",
                    "description": "Optional first frame (public URL).",
                    "type": "url",
                    "required": False,
                },
            ],
        },
    ),
    SimulatedModel(
        id="Wan2.1-I2V-14B-720P",
        legacy=True,
        time_format="epoch_float",
        detail={
            "brief_description": "Wan 2.1 image-to-video, 14B parameters, 720p.",
            "detailed_description": "## Wan2.1 I2V 14B (720P)\n\nOpen-weights image-to-video model by Alibaba.\n",
            "modalities": {"input": ["image", "text"], "output": ["video"]},
            "parameters": [
                {
                    "name": "image_url",
                    "display_name": "Image",
                    "type": "file",
                    "required": True,
                    "file_types": ["jpeg", "png"],
                },
                {"name": "prompt", "display_name": "Prompt", "type": "string", "required": True},
                {"name": "negative_prompt", "display_name": "Negative prompt", "type": "string", "required": False},
                {
                    "name": "guidance_scale",
                    "display_name": "Guidance scale",
                    "description": "1 to 10 with step 0.5",
                    "type": "float",
                    "required": False,
                    "default": 5.0,
                    "min": 1,
                    "max": 10,
                    "step": 0.5,
                },
                {
                    "name": "num_inference_steps",
                    "display_name": "Steps",
                    "type": "integer",
                    "required": False,
                    "default": 30,
                    "min": 10,
                    "max": 50,
                },
                {
                    "name": "enable_prompt_expansion",
                    "display_name": "Expand prompt",
                    "type": "boolean",
                    "required": False,
                    "default": True,
                },
                {"name": "seed", "display_name": "Seed", "type": "integer", "required": False, "default": -1},
            ],
        },
    ),
    SimulatedModel(
        id="PixVerse-V4.5-Transition",
        status_words={"queued": "pending", "processing": "running", "success": "succeeded"},
        time_format="iso",
        outcome_shape="envelope_strings",
        detail={
            "brief_description": "PixVerse V4.5 transitions between a first and a last frame, with camera moves.",
            "detailed_description": (
                "## PixVerse V4.5 Transition\n\nMorphs the first frame into the last one. "
                "`camera_motion` takes a JSON path description of the camera.\n"
            ),
            "modalities": {"input": ["image", "text"], "output": ["video"]},
            "parameters": [
                {"name": "prompt", "label": "Prompt", "type": "text", "required": True},
                {"name": "first_frame", "label": "First frame", "type": "image", "required": True},
                {"name": "last_frame", "label": "Last frame", "type": "image", "required": True},
                {
                    "name": "reference_images",
                    "label": "Style references",
                    "type": "array<image>",
                    "required": False,
                    "max_items": 3,
                },
                {
                    "name": "quality",
                    "label": "Quality",
                    "type": "enum",
                    "required": False,
                    "default": "540p",
                    "enum": ["360p", "540p", "720p"],
                },
                {
                    "name": "motion_strength",
                    "label": "Motion strength",
                    "type": "number",
                    "required": False,
                    "default": 0.5,
                    "minimum": 0.0,
                    "maximum": 1.0,
                    "step": 0.05,
                },
                {
                    "name": "camera_motion",
                    "label": "Camera motion",
                    "description": 'JSON path, e.g. {"points": [[0, 0, 1], [0.2, 0.1, 1.2]]}',
                    "type": "json_path",
                    "required": False,
                },
                {"name": "seed", "label": "Seed", "type": "int", "required": False},
            ],
            "tags": ["experimental"],
        },
    ),
)

MODELS_BY_ID: dict[str, SimulatedModel] = {model.id: model for model in MODELS}

#: Ids of the extra models a simulator may list (``extra_models``), to test a catalogue of thousands.
SYNTHETIC_PREFIX = "Synthetic-"


def synthetic_ids(count: int) -> list[str]:
    return [f"{SYNTHETIC_PREFIX}{index:05d}" for index in range(1, count + 1)]


def synthetic_model(model_id: str, *, count: int, guide_bytes: int = 0) -> SimulatedModel | None:
    """One of the ``count`` extra models (a copy of Luma-Ray2 under another id), or None.

    ``guide_bytes`` pads its ``detailed_description`` to about that size, as an oversized guide.
    """
    suffix = model_id[len(SYNTHETIC_PREFIX):] if model_id.startswith(SYNTHETIC_PREFIX) else ""
    if not suffix.isdigit() or not 1 <= int(suffix) <= count or len(suffix) != 5:
        return None
    template = MODELS_BY_ID["Luma-Ray2"]
    detail = copy.deepcopy(template.detail)
    detail["brief_description"] = f"Synthetic model {suffix}, made to test large catalogues."
    guide = f"## {model_id}\n\nA synthetic copy of Luma Ray2.\n"
    if guide_bytes > len(guide):
        line = "This paragraph pads the guide, as an oversized guide from GMI would. "
        guide += (line * (guide_bytes // len(line) + 1))[: guide_bytes - len(guide)]
    detail["detailed_description"] = guide
    return SimulatedModel(id=model_id, detail=detail, status_words=template.status_words,
                          time_format=template.time_format, outcome_shape=template.outcome_shape)

#: Models the legacy Video API lists, some of them only there.
LEGACY_MODEL_IDS: tuple[str, ...] = (
    "Kling-Image2Video-V1.6-Pro",
    *(model.id for model in MODELS if model.legacy),
)

#: Legacy models that report a failure the way fal's queue does: status COMPLETED, then
#: the result answers 422 with the reason. The others say FAILED with an error.
LEGACY_FAL_STYLE_FAILURES = frozenset({"Kling-Image2Video-V1.6-Pro"})

#: Fixed creation times for the legacy model list (epoch seconds).
LEGACY_MODEL_CREATED = 1735689600

LEGACY_DURATIONS = ("5", "10")
LEGACY_ASPECT_RATIOS = ("16:9", "9:16", "1:1")


def parameter_options(parameter: dict[str, Any]) -> list[Any] | None:
    """The allowed values of a parameter, whichever key this model's dialect uses."""
    for key in ("options", "enum", "choices"):
        if isinstance(parameter.get(key), list):
            return parameter[key]
    return None


def parameter_bounds(parameter: dict[str, Any]) -> tuple[float | None, float | None]:
    low = parameter.get("min", parameter.get("minimum"))
    high = parameter.get("max", parameter.get("maximum"))
    return (
        float(low) if isinstance(low, (int, float)) else None,
        float(high) if isinstance(high, (int, float)) else None,
    )
