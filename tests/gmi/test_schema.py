"""Tests for the tolerant GMI parameter-schema reader and what is derived from it."""
from __future__ import annotations

import json
import random
from typing import Any

import pytest

from generations.gmi.schema import (
    LEGACY_IMAGE_TO_VIDEO_PARAMETERS,
    NON_FIELD_ERRORS,
    REQUIRED_MESSAGE,
    UNKNOWN_PARAMETER_MESSAGE,
    Parameter,
    all_prompt_text,
    payload_json_schema,
    prompt_text,
    read_parameters,
    requested_seconds,
    validate_payload,
)

# --------------------------------------------------------------------------- reading

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
            "image_url": {"kind": "file", "accept": ("image",), "multiple": False, "widget": "file"},
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
            "palette": {"kind": "unknown", "raw_type": "color", "widget": "text"},
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
    words = ["string", "int", "float", "image", "array", "bool", "url", "object", "x", "", "5", "0.5 to 2 with step 0.1"]
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


def test_parameter_keeps_the_raw_entry_and_serializes_to_json() -> None:
    entry = {"name": "duration", "type": "string", "options": ["5", "10"], "default": "5", "ui": {"order": 2}}
    [param] = read_parameters([entry])
    assert param.raw == entry
    assert param.extra == {"ui": {"order": 2}}
    data = param.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["widget"] == "select"
    assert data["choices"] == [{"value": "5", "label": "5"}, {"value": "10", "label": "10"}]
    assert "raw" not in data


@pytest.mark.parametrize(
    ("kind", "multiple", "widget"),
    [
        ("text", False, "textarea"), ("string", False, "text"), ("integer", False, "number"),
        ("number", False, "number"), ("boolean", False, "checkbox"), ("choice", False, "select"),
        ("file", False, "file"), ("file", True, "file"), ("url", False, "url"), ("url", True, "textarea"),
        ("unknown", False, "text"), ("integer", True, "text"),
    ],
)
def test_widget_follows_kind(kind: str, multiple: bool, widget: str) -> None:
    assert Parameter(name="x", kind=kind, multiple=multiple).widget == widget


def test_hand_built_parameter_gets_a_label_and_option_labels() -> None:
    param = Parameter(name="imageURL", kind="choice", options=(True, 2.0))
    assert param.label == "Image URL"
    assert param.option_labels == ("true", "2")


# --------------------------------------------------------------------------- validating

SCHEMA = read_parameters(
    [
        {"name": "prompt", "type": "string", "required": True},
        {"name": "duration", "type": "string", "options": ["5", "10"], "default": "5"},
        {"name": "frames", "type": "integer", "options": [24, 48]},
        {"name": "steps", "type": "integer", "min": 1, "max": 50},
        {"name": "speed", "type": "float", "description": "0.5 to 2 with step 0.1"},
        {"name": "loop", "type": "boolean"},
        {"name": "image_url", "type": "image"},
        {"name": "image_list", "type": "array"},
        {"name": "webhook", "type": "url"},
        {"name": "extras", "type": "object"},
        {"name": "seed_value", "type": "string", "max_length": 10},
    ]
)


def check(payload: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    return validate_payload(SCHEMA, {"prompt": "a cat", **payload})


def test_valid_payload_is_returned_cleaned_without_errors() -> None:
    cleaned, errors = check({"duration": "10", "steps": 20, "speed": 1.5, "loop": True})
    assert errors == {}
    assert cleaned == {"prompt": "a cat", "duration": "10", "steps": 20, "speed": 1.5, "loop": True}


@pytest.mark.parametrize("blank", [None, "", "   "])
def test_missing_or_blank_required_parameter_is_refused(blank: Any) -> None:
    _, errors = validate_payload(SCHEMA, {} if blank is None else {"prompt": blank})
    assert errors == {"prompt": [REQUIRED_MESSAGE]}


def test_optional_defaults_are_left_for_gmi_to_apply() -> None:
    cleaned, errors = check({"duration": "", "steps": None})
    assert errors == {}
    assert cleaned == {"prompt": "a cat"}


def test_required_parameter_with_a_default_gets_the_default_when_missing() -> None:
    params = read_parameters(
        [{"name": "ratio", "type": "string", "required": True, "default": "16:9", "options": ["16:9", "1:1"]}]
    )
    assert validate_payload(params, {}) == ({"ratio": "16:9"}, {})
    assert validate_payload(params, {"ratio": ""}) == ({"ratio": "16:9"}, {})


def test_number_is_coerced_to_a_string_option() -> None:
    cleaned, errors = check({"duration": 5})
    assert errors == {}
    assert cleaned["duration"] == "5"


def test_string_is_coerced_to_an_integer_option() -> None:
    cleaned, errors = check({"frames": "48"})
    assert errors == {}
    assert cleaned["frames"] == 48


def test_option_outside_the_list_names_the_allowed_values() -> None:
    _, errors = check({"duration": "7"})
    assert errors == {"duration": ["Must be one of: 5, 10."]}


def test_options_match_case_insensitively_and_return_gmi_spelling() -> None:
    params = read_parameters([{"name": "mode", "options": ["Pro", "Std"]}])
    assert validate_payload(params, {"mode": "pro"}) == ({"mode": "Pro"}, {})


@pytest.mark.parametrize(("given", "expected"), [("7", 7), (7.0, 7), (" 12 ", 12), ("3e1", 30), (50, 50)])
def test_integer_accepts_whole_numbers_in_any_spelling(given: Any, expected: int) -> None:
    cleaned, errors = check({"steps": given})
    assert errors == {}
    assert cleaned["steps"] == expected
    assert type(cleaned["steps"]) is int


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (7.5, "Must be a whole number, not 7.5."),
        ("abc", 'Must be a whole number, not "abc".'),
        (True, "Must be a whole number, not true."),
        ([7], "Must be a single value, not a list or object."),
    ],
)
def test_integer_refuses_fractions_and_words(given: Any, message: str) -> None:
    _, errors = check({"steps": given})
    assert errors == {"steps": [message]}


def test_integer_range_is_enforced() -> None:
    assert check({"steps": 0})[1] == {"steps": ["Must be between 1 and 50."]}
    assert check({"steps": 51})[1] == {"steps": ["Must be between 1 and 50."]}
    one_sided = read_parameters([{"name": "n", "type": "integer", "minimum": 2}])
    assert validate_payload(one_sided, {"n": 1})[1] == {"n": ["Must be at least 2."]}


@pytest.mark.parametrize("given", ["1.3", 0.5, 2, 0.1 * 3 + 0.5, "0.7"])
def test_number_on_its_step_is_accepted_with_float_tolerance(given: Any) -> None:
    cleaned, errors = check({"speed": given})
    assert errors == {}
    assert isinstance(cleaned["speed"], (int, float))


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (1.25, "Must be a multiple of 0.1 from 0.5."),
        (0.4, "Must be between 0.5 and 2."),
        (2.1, "Must be between 0.5 and 2."),
        ("fast", 'Must be a number, not "fast".'),
        (False, "Must be a number, not false."),
    ],
)
def test_number_off_range_or_step_is_refused(given: Any, message: str) -> None:
    _, errors = check({"speed": given})
    assert errors == {"speed": [message]}


def test_step_without_a_minimum_counts_from_zero() -> None:
    params = read_parameters([{"name": "g", "type": "number", "step": 0.25}])
    assert validate_payload(params, {"g": 0.75})[1] == {}
    assert validate_payload(params, {"g": 123456789.25})[1] == {}
    assert validate_payload(params, {"g": 0.8})[1] == {"g": ["Must be a multiple of 0.25."]}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (True, True), (False, False), ("true", True), ("False", False), ("on", True),
        ("1", True), ("0", False), (1, True), (0, False),
    ],
)
def test_boolean_accepts_common_spellings(given: Any, expected: bool) -> None:
    cleaned, errors = check({"loop": given})
    assert errors == {}
    assert cleaned["loop"] is expected


@pytest.mark.parametrize("given", ["maybe", 2, 0.5])
def test_boolean_refuses_other_values(given: Any) -> None:
    assert check({"loop": given})[1] == {"loop": ["Must be true or false."]}


def test_string_parameter_gets_numbers_as_text_and_length_enforced() -> None:
    assert check({"seed_value": 42})[0]["seed_value"] == "42"
    assert check({"seed_value": "12345678901"})[1] == {"seed_value": ["Must be at most 10 characters (it has 11)."]}
    assert check({"seed_value": {"a": 1}})[1] == {"seed_value": ["Must be a single value, not a list or object."]}
    assert check({"seed_value": True})[1] == {"seed_value": ["Must be text."]}


def test_prompt_is_passed_exactly_as_written() -> None:
    assert check({"prompt": "  two cats\n dancing "})[0]["prompt"] == "  two cats\n dancing "


def test_file_parameter_needs_an_http_url() -> None:
    cleaned, errors = check({"image_url": " https://storage.googleapis.com/b/cat.png "})
    assert errors == {}
    assert cleaned["image_url"] == "https://storage.googleapis.com/b/cat.png"
    for bad in ("cat.png", "file:///etc/passwd", "ftp://x/y.png", "https://", "data:image/png;base64,AA", 5):
        assert check({"image_url": bad})[1] == {
            "image_url": ["Must be an http(s) URL: upload the file here or paste a public link."]
        }, bad


def test_list_file_parameter_takes_a_list_or_lines_of_urls() -> None:
    urls = ["http://a/1.png", "https://b/2.jpg"]
    assert check({"image_list": urls})[0]["image_list"] == urls
    assert check({"image_list": "http://a/1.png\nhttps://b/2.jpg\n"})[0]["image_list"] == urls
    assert check({"image_list": "http://a/1.png"})[0]["image_list"] == ["http://a/1.png"]
    _, errors = check({"image_list": ["http://a/1.png", "nope"]})
    assert errors == {"image_list": ["Item 2: must be an http(s) URL: upload the file here or paste a public link."]}
    assert "image_list" not in check({"image_list": []})[0]


def test_url_parameter_needs_an_http_url() -> None:
    assert check({"webhook": "https://example.com/hook"})[1] == {}
    assert check({"webhook": "example.com/hook"})[1] == {"webhook": ["Must be an http(s) URL."]}


@pytest.mark.parametrize("value", [{"a": [1, {"b": None}]}, [1, "two"], "text", 3.25, False])
def test_unknown_kind_passes_through_unchanged(value: Any) -> None:
    cleaned, errors = check({"extras": value})
    assert errors == {}
    assert cleaned["extras"] == value


def test_keys_not_in_the_schema_are_refused_with_a_suggestion() -> None:
    _, errors = check({"colour": "red", "promt": "x"})
    assert errors == {
        "colour": [UNKNOWN_PARAMETER_MESSAGE],
        "promt": [f'{UNKNOWN_PARAMETER_MESSAGE} Did you mean "prompt"?'],
    }


def test_empty_schema_passes_the_payload_through() -> None:
    payload = {"anything": [1, 2], "prompt": "x"}
    assert validate_payload([], payload) == (payload, {})
    assert validate_payload(read_parameters("garbage"), payload) == (payload, {})


@pytest.mark.parametrize("payload", [None, [], "text", 5])
def test_payload_that_is_not_an_object_is_a_whole_payload_error(payload: Any) -> None:
    cleaned, errors = validate_payload(SCHEMA, payload)
    assert cleaned == {}
    assert list(errors) == [NON_FIELD_ERRORS]
    assert "payload must be a JSON object" in errors[NON_FIELD_ERRORS][0]


def test_all_errors_are_reported_at_once() -> None:
    _, errors = validate_payload(SCHEMA, {"steps": "x", "loop": "x", "nope": 1})
    assert set(errors) == {"prompt", "steps", "loop", "nope"}


def test_multiple_choice_validates_each_item() -> None:
    params = read_parameters([{"name": "styles", "type": "array", "items": {"type": "string", "enum": ["a", "b"]}}])
    assert params[0].kind == "choice" and params[0].multiple
    assert validate_payload(params, {"styles": ["a", "B"]}) == ({"styles": ["a", "b"]}, {})
    assert validate_payload(params, {"styles": ["c"]})[1] == {"styles": ["Item 1: must be one of: a, b."]}


# --------------------------------------------------------------------------- JSON Schema


def test_payload_json_schema_describes_types_enums_ranges_and_required() -> None:
    schema = payload_json_schema(SCHEMA)
    props = schema["properties"]
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    assert schema["required"] == ["prompt"]
    assert props["prompt"] == {"title": "Prompt", "type": "string"}
    assert props["duration"] == {"title": "Duration", "enum": ["5", "10"], "type": "string", "default": "5"}
    assert props["frames"]["enum"] == [24, 48] and props["frames"]["type"] == "integer"
    assert props["steps"] == {"title": "Steps", "type": "integer", "minimum": 1, "maximum": 50}
    assert props["speed"]["minimum"] == 0.5 and props["speed"]["maximum"] == 2 and props["speed"]["multipleOf"] == 0.1
    assert props["loop"]["type"] == "boolean"
    assert props["image_url"] == {"title": "Image URL", "type": "string", "format": "uri", "x-accept": ["image"]}
    assert props["image_list"]["type"] == "array" and props["image_list"]["items"]["format"] == "uri"
    assert props["webhook"]["format"] == "uri"
    assert "type" not in props["extras"]
    assert props["seed_value"]["maxLength"] == 10


def test_payload_json_schema_says_steps_that_do_not_start_at_zero_in_words() -> None:
    params = read_parameters(
        [{"name": "x", "type": "number", "min": 0.25, "max": 1, "step": 0.5, "description": "Zoom."}]
    )
    prop = payload_json_schema(params)["properties"]["x"]
    assert "multipleOf" not in prop
    assert prop["description"] == "Zoom. In steps of 0.5 from 0.25."


def test_payload_json_schema_of_an_empty_schema_is_an_open_object() -> None:
    assert payload_json_schema([]) == {"type": "object", "additionalProperties": True}


def test_payload_json_schema_leaves_required_parameters_with_defaults_optional() -> None:
    params = read_parameters([{"name": "a", "required": True, "default": "x"}, {"name": "b", "type": "string"}])
    assert "required" not in payload_json_schema(params)


def test_cleaned_payloads_satisfy_the_json_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = payload_json_schema(SCHEMA)
    jsonschema.Draft7Validator.check_schema(schema)
    cleaned, errors = check({"duration": 10, "frames": "24", "steps": "7", "speed": "1.5", "loop": "on",
                             "image_url": "https://a/b.png", "image_list": "https://a/c.png", "extras": {"k": 1}})
    assert errors == {}
    jsonschema.validate(cleaned, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"prompt": "x", "steps": 99}, schema)


# --------------------------------------------------------------------------- durations and prompts


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("duration", 5, 5), ("duration", "5", 5), ("duration", "5s", 5), ("duration", "10 seconds", 10),
        ("durationSeconds", 8, 8), ("duration_seconds", "6", 6), ("video_length", "1m", 60), ("duration", 5.2, 6),
        ("duration", "auto", None), ("duration", 0, None), ("duration", True, None), ("duration", [5], None),
    ],
)
def test_requested_seconds_reads_duration_spellings(name: str, value: Any, expected: int | None) -> None:
    params = read_parameters([{"name": name, "type": "string"}])
    assert requested_seconds(params, {name: value}) == expected


def test_requested_seconds_falls_back_to_the_default_then_none() -> None:
    params = read_parameters([{"name": "duration", "type": "string", "options": ["5s", "10s"], "default": "5s"}])
    assert requested_seconds(params, {}) == 5
    assert requested_seconds(params, {"duration": "ten"}) == 5
    assert requested_seconds(params, {"duration": "10s"}) == 10
    assert requested_seconds(read_parameters([{"name": "prompt"}]), {"prompt": "x"}) is None
    assert requested_seconds([], None) is None


def test_requested_seconds_reads_payload_keys_when_the_schema_is_empty() -> None:
    assert requested_seconds([], {"durationSeconds": "8"}) == 8


def test_prompt_text_finds_the_users_prompt() -> None:
    assert prompt_text({"prompt": "  a cat  ", "negative_prompt": "blur"}) == "a cat"
    assert prompt_text({"text": "hello"}) == "hello"
    assert prompt_text({"scene_prompt": "x", "negativePrompt": "y"}) == "x"
    assert prompt_text({"negativePrompt": "y"}) == ""
    assert prompt_text(None) == ""


def test_all_prompt_text_joins_free_text_fields_for_blocked_term_checks() -> None:
    params = read_parameters(
        [
            {"name": "style", "type": "string"},
            {"name": "prompt", "type": "string"},
            {"name": "negative_prompt", "type": "string"},
            {"name": "image_url", "type": "image"},
            {"name": "steps", "type": "integer"},
            {"name": "meta", "type": "object"},
        ]
    )
    payload = {"style": "noir", "prompt": "a cat", "negative_prompt": "gore", "image_url": "https://a/b.png",
               "steps": 5, "meta": {"note": ["hidden words"]}}
    assert all_prompt_text(params, payload) == "a cat\nnoir\nhidden words"
    assert "gore" in all_prompt_text(params, payload, include_negative=True)
    assert all_prompt_text([], {"prompt": "a", "caption": "b", "image_url": "https://x/y", "extra": "c"}) == "a\nb\nc"


# --------------------------------------------------------------------------- the legacy API's built-in schema


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


def test_thousands_of_unknown_keys_are_summarised_not_listed_one_by_one():
    params = read_parameters([{"name": "prompt", "type": "string", "required": True}])
    _, errors = validate_payload(params, {"prompt": "x", **{f"k{i}": i for i in range(5000)}})
    assert len(errors) <= 21 and "5000 parameters are unknown" in errors["non_field_errors"][0]
