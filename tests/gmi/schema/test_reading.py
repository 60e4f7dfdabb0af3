"""Tests for the tolerant GMI parameter-schema reader: every dialect, and input that is not a schema at all."""
from __future__ import annotations

import json
import random
from typing import Any

import pytest

from generations.gmi.schema import (
    all_prompt_text,
    payload_json_schema,
    prompt_text,
    read_parameters,
    requested_seconds,
    validate_payload,
)

VEO3_STYLE = [
    {"name": "prompt", "display_name": "Prompt", "description": "What to show.", "type": "string", "required": True},
    {"name": "negativePrompt", "type": "string", "required": False},
    {"name": "durationSeconds", "type": "integer", "default": 8, "options": [5, 6, 7, 8]},
    {"name": "aspectRatio", "type": "string", "default": "16:9", "enum": ["16:9", "9:16"]},
    {"name": "enhancePrompt", "type": "boolean", "default": True},
    {"name": "generateAudio", "type": "boolean", "default": False},
    {"name": "seed", "type": "integer", "min": 0, "max": 4294967295},
]

# (case id, raw schema, {name: {attribute: expected}} in the order the parameters must come out)
DIALECTS: list[tuple[str, Any, dict[str, dict[str, Any]]]] = [
    (
        "documented-list",
        VEO3_STYLE,
        {
            "prompt": {
                "kind": "text", "label": "Prompt", "help": "What to show.", "required": True, "raw_type": "string"
            },
            "negativePrompt": {"kind": "text", "label": "Negative prompt", "required": False},
            "durationSeconds": {"kind": "choice", "options": (5, 6, 7, 8), "default": 8},
            "aspectRatio": {"kind": "choice", "options": ("16:9", "9:16"), "default": "16:9"},
            "enhancePrompt": {"kind": "boolean", "default": True},
            "generateAudio": {"kind": "boolean", "accept": ()},
            "seed": {"kind": "integer", "minimum": 0, "maximum": 4294967295},
        },
    ),
    (
        "dict-by-name-with-bare-type-words",
        {"prompt": {"type": "String"}, "steps": "INT", "guidance": {"type": "double", "minimum": 1, "maximum": 20}},
        {
            "prompt": {"kind": "text", "raw_type": "String"},
            "steps": {"kind": "integer", "raw_type": "INT"},
            "guidance": {"kind": "number", "minimum": 1, "maximum": 20},
        },
    ),
    (
        "json-schema-object",
        {
            "type": "object",
            "properties": {
                "prompt": {"type": "string", "title": "Your prompt", "maxLength": 2000},
                "cfg_scale": {"type": ["number", "null"], "minimum": 0, "maximum": 1, "multipleOf": 0.05},
                "image_url": {"type": "string", "format": "uri"},
                "webhook_url": {"type": "string", "format": "uri"},
                "mode": {"oneOf": [{"const": "std", "title": "Standard"}, {"const": "pro", "title": "Professional"}]},
                "loop": {"anyOf": [{"type": "boolean"}, {"type": "null"}], "default": False},
                "anything": True,
            },
            "required": ["prompt", "image_url"],
        },
        {
            "prompt": {"kind": "text", "label": "Your prompt", "required": True, "max_length": 2000},
            "cfg_scale": {"kind": "number", "raw_type": "number", "minimum": 0, "maximum": 1, "step": 0.05},
            "image_url": {"kind": "file", "accept": ("image",), "required": True, "multiple": False},
            "webhook_url": {"kind": "url", "required": False},
            "mode": {"kind": "choice", "options": ("std", "pro"), "option_labels": ("Standard", "Professional")},
            "loop": {"kind": "boolean", "default": False},
            "anything": {"kind": "unknown"},
        },
    ),
    (
        "wrapped-in-parameters",
        {"model": "Veo3", "brief_description": "x", "parameters": [{"name": "prompt", "type": "string"}]},
        {"prompt": {"kind": "text"}},
    ),
    (
        "json-text",
        json.dumps({"parameters": [{"name": "fps", "type": "int", "default": 24}]}),
        {"fps": {"kind": "integer", "default": 24, "label": "FPS"}},
    ),
    (
        "openapi-parameter-with-nested-schema",
        [{"name": "quality", "in": "body", "schema": {"type": "string", "enum": ["low", "high"]}}],
        {"quality": {"kind": "choice", "options": ("low", "high"), "extra": {"in": "body"}}},
    ),
    (
        "option-spellings",
        [
            {
                "name": "a",
                "type": "string",
                "choices": [{"value": "5", "label": "5 seconds"}, {"value": "10", "label": "10 seconds"}],
            },
            {"name": "b", "type": "string", "allowed_values": ["x", "y", "x"]},
            {"name": "c", "type": "string", "options": "16:9 | 9:16 | 1:1"},
            {"name": "d", "options": {"std": "Standard", "pro": "Pro"}},
            {"name": "e", "type": "integer", "enum": [1, 2, {"label": "no value"}, [3], None]},
            {"name": "f", "type": "number", "options": [0.5, 1, 1.5]},
        ],
        {
            "a": {"kind": "choice", "options": ("5", "10"), "option_labels": ("5 seconds", "10 seconds")},
            "b": {"kind": "choice", "options": ("x", "y")},
            "c": {"kind": "choice", "options": ("16:9", "9:16", "1:1")},
            "d": {"kind": "choice", "options": ("std", "pro"), "option_labels": ("Standard", "Pro")},
            "e": {"kind": "choice", "options": (1, 2)},
            "f": {"kind": "choice", "options": (0.5, 1, 1.5), "option_labels": ("0.5", "1", "1.5")},
        },
    ),
    (
        "range-spellings",
        [
            {"name": "a", "type": "float", "minimum": "0.5", "maximum": 2, "multiple_of": 0.1},
            {"name": "b", "type": "integer", "min_value": 1, "maxValue": 4, "step_size": 1},
            {"name": "c", "type": "number", "step": 0},
        ],
        {
            "a": {"kind": "number", "minimum": 0.5, "maximum": 2, "step": 0.1},
            "b": {"kind": "integer", "minimum": 1, "maximum": 4, "step": 1},
            "c": {"kind": "number", "step": None, "extra": {"step": 0}},
        },
    ),
    (
        "ranges-written-in-descriptions",
        [
            {"name": "speed", "type": "float", "description": "Playback speed, 0.5 to 2 with step 0.1."},
            {"name": "count", "type": "integer", "description": "How many, between 1 and 10."},
            {"name": "steps", "type": "integer", "description": "Sampling steps (1-50)."},
            {"name": "seed", "type": "integer", "description": "Seed from 0 to 2^32; anything else is random."},
            {"name": "seed2", "type": "integer", "description": "Seed between 0 and 4294967295; -1 for random."},
            {"name": "scale", "type": "number", "description": "Guidance. Minimum 1, maximum 20, in steps of 0.5."},
            {"name": "label", "type": "string", "description": "Between 1 and 10 words."},
            {"name": "known", "type": "integer", "min": 3, "description": "between 1 and 10"},
        ],
        {
            "speed": {"minimum": 0.5, "maximum": 2, "step": 0.1},
            "count": {"minimum": 1, "maximum": 10, "step": None},
            "steps": {"minimum": 1, "maximum": 50},
            "seed": {"minimum": None, "maximum": None},
            "seed2": {"minimum": None, "maximum": None},
            "scale": {"minimum": 1, "maximum": 20, "step": 0.5},
            "label": {"kind": "string", "minimum": None, "maximum": None},
            "known": {"minimum": 3, "maximum": 10},
        },
    ),
    (
        "file-parameters-by-type-and-by-name",
        [
            {"name": "image_url", "type": "string"},
            {"name": "first_frame", "type": "string"},
            {"name": "last_frame"},
            {"name": "image_list", "type": "array"},
            {"name": "reference_images", "type": "list"},
            {"name": "tail_image", "type": "string"},
            {"name": "audio_url", "type": "string"},
            {"name": "video_url", "type": "string"},
            {"name": "start", "type": "Image"},
            {"name": "clip", "type": "video_url"},
            {"name": "any_file", "type": "file"},
            {"name": "refs", "type": "list[image]"},
            {"name": "num_images", "type": "integer"},
            {"name": "image_strength", "type": "float"},
        ],
        {
            "image_url": {"kind": "file", "accept": ("image",), "multiple": False},
            "first_frame": {"kind": "file", "accept": ("image",)},
            "last_frame": {"kind": "file", "accept": ("image",)},
            "image_list": {"kind": "file", "accept": ("image",), "multiple": True},
            "reference_images": {"kind": "file", "accept": ("image",), "multiple": True},
            "tail_image": {"kind": "file", "accept": ("image",)},
            "audio_url": {"kind": "file", "accept": ("audio",)},
            "video_url": {"kind": "file", "accept": ("video",)},
            "start": {"kind": "file", "accept": ("image",), "raw_type": "Image"},
            "clip": {"kind": "file", "accept": ("video",)},
            "any_file": {"kind": "file", "accept": ("image", "video", "audio")},
            "refs": {"kind": "file", "accept": ("image",), "multiple": True},
            "num_images": {"kind": "integer"},
            "image_strength": {"kind": "number"},
        },
    ),
    (
        "unknown-types-are-kept-as-unknown",
        [
            {"name": "palette", "type": "color"},
            {"name": "settings", "type": "object"},
            {"name": "tags", "type": "array"},
            {"name": "mystery"},
            {"name": "odd_type", "type": {"weird": 1}},
        ],
        {
            "palette": {"kind": "unknown", "raw_type": "color"},
            "settings": {"kind": "unknown"},
            "tags": {"kind": "unknown", "multiple": True},
            "mystery": {"kind": "unknown", "raw_type": ""},
            "odd_type": {"kind": "unknown", "extra": {"type": {"weird": 1}}},
        },
    ),
    (
        "types-inferred-from-defaults",
        [
            {"name": "a", "default": True},
            {"name": "b", "default": 3},
            {"name": "c", "default": 0.5},
            {"name": "d", "default": "x"},
        ],
        {"a": {"kind": "boolean"}, "b": {"kind": "integer"}, "c": {"kind": "number"}, "d": {"kind": "string"}},
    ),
    (
        "unknown-keys-land-in-extra",
        [{"name": "style", "type": "string", "placeholder": "e.g. anime", "x-group": "look", "default": None}],
        {"style": {"kind": "string", "extra": {"placeholder": "e.g. anime", "x-group": "look"}, "default": None}},
    ),
    (
        "required-spellings",
        [
            {"name": "a", "required": "true"},
            {"name": "b", "required": 0},
            {"name": "c", "isRequired": True},
            {"name": "d", "required": True, "optional": True},
            {"name": "e", "required": "sometimes"},
        ],
        {
            "a": {"required": True},
            "b": {"required": False},
            "c": {"required": True},
            "d": {"required": False},
            "e": {"required": False, "extra": {"required": "sometimes"}},
        },
    ),
    ("none", None, {}),
    ("garbage-text", "garbage", {}),
    ("json-text-of-a-number", "42", {}),
    ("numbers-in-a-list", [1, 2], {}),
    ("entry-without-name", [{"type": "string"}], {}),
    ("numeric-name", {"name": 5}, {}),
    ("numeric-name-in-list", [{"name": 5, "type": "string"}, {"name": "   ", "type": "string"}], {}),
    (
        "nulls-and-junk-around-a-good-entry",
        [None, 3.5, [], {"name": "ok", "type": "string"}],
        {"ok": {"kind": "string"}},
    ),
    ("bare-names", ["prompt", "mystery"], {"prompt": {"kind": "text"}, "mystery": {"kind": "unknown"}}),
    (
        "options-that-are-not-a-list",
        [{"name": "a", "type": "string", "options": "single"}, {"name": "b", "type": "integer", "options": 7}],
        {
            "a": {"kind": "string", "options": (), "extra": {"options": "single"}},
            "b": {"kind": "integer", "options": ()},
        },
    ),
    (
        "min-greater-than-max",
        [{"name": "a", "type": "integer", "min": 10, "max": 1}],
        {"a": {"kind": "integer", "minimum": None, "maximum": None, "extra": {"min": 10, "max": 1}}},
    ),
    (
        "strings-where-numbers-belong-and-numbers-where-strings-belong",
        [{"name": "a", "type": "integer", "min": "low", "description": 5, "display_name": 7}],
        {
            "a": {
                "kind": "integer",
                "minimum": None,
                "help": "",
                "label": "A",
                "extra": {"min": "low", "description": 5, "display_name": 7},
            }
        },
    ),
    (
        "duplicate-names-keep-the-first",
        [{"name": "a", "type": "string"}, {"name": "a", "type": "integer"}],
        {"a": {"kind": "string"}},
    ),
]


@pytest.mark.parametrize(("raw", "expected"), [(c[1], c[2]) for c in DIALECTS], ids=[c[0] for c in DIALECTS])
def test_read_parameters_normalizes_every_dialect(raw: Any, expected: dict[str, dict[str, Any]]) -> None:
    params = read_parameters(raw)
    assert [p.name for p in params] == list(expected)
    for param in params:
        for attribute, value in expected[param.name].items():
            assert getattr(param, attribute) == value, (param.name, attribute)


@pytest.mark.parametrize(
    ("word", "kind"),
    [
        ("str", "string"), ("STRING", "string"), ("text", "text"), ("int", "integer"), ("Integer", "integer"),
        ("int64", "integer"), ("float", "number"), ("number", "number"), ("Double", "number"), ("bool", "boolean"),
        ("Boolean", "boolean"), ("image", "file"), ("image_url", "file"), ("file", "file"), ("video", "file"),
        ("audio", "file"), ("url", "url"), ("URI", "url"), ("enum", "string"), ("json", "unknown"),
        ("array", "unknown"), ("list", "unknown"), ("tensor", "unknown"),
    ],
)
def test_type_words_in_any_case_and_spelling_map_to_a_kind(word: str, kind: str) -> None:
    [param] = read_parameters([{"name": "value", "type": word}])
    assert param.kind == kind
    assert param.raw_type == word


def test_reader_survives_self_referencing_and_hostile_input() -> None:
    loop: dict[str, Any] = {}
    loop["parameters"] = loop
    hostile: list[Any] = [
        loop, b"\xff\xfe", object(), 1.5, float("nan"), {"parameters": None}, {"properties": []},
        {"type": "object", "properties": {"a": None, "b": 3, 7: {}}}, [{"name": "x", "options": [float("inf")]}],
        [{"name": "x", "schema": "nope", "items": 4, "format": 9}], {"a": [1, 2]}, ["", "  "],
        [{"name": "x", "type": ["null"], "anyOf": "x", "oneOf": [1]}],
    ]
    for raw in hostile:
        params = read_parameters(raw)
        assert isinstance(params, list)
        for param in params:
            param.to_dict()
            validate_payload(params, {param.name: "x"})


def _random_json(rng: random.Random, depth: int = 0) -> Any:
    keys = ["name", "type", "options", "enum", "min", "max", "step", "default", "required", "items", "properties",
            "parameters", "description", "display_name", "format", "anyOf", "schema", "prompt", "image_list"]
    words = [
        "string", "int", "float", "image", "array", "bool", "url", "object", "x", "", "5", "0.5 to 2 with step 0.1",
    ]
    roll = rng.random()
    if depth > 3 or roll < 0.3:
        return rng.choice([None, True, False, 0, -1, 2.5, float("inf"), 10**20, rng.choice(words), rng.choice(keys)])
    if roll < 0.6:
        return [_random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {rng.choice(keys): _random_json(rng, depth + 1) for _ in range(rng.randint(0, 5))}


def test_reader_and_validator_never_raise_on_random_input() -> None:
    rng = random.Random(20240601)
    for _ in range(2000):
        params = read_parameters(_random_json(rng))
        payload = _random_json(rng)
        validate_payload(params, payload)
        payload_json_schema(params)
        requested_seconds(params, payload)
        all_prompt_text(params, payload)
        prompt_text(payload)
