"""Tests for what is derived from parameters and payloads: the JSON Schema, requested seconds, prompt text."""
from __future__ import annotations

from typing import Any

import pytest

from generations.gmi.schema import (
    all_prompt_text,
    payload_json_schema,
    prompt_text,
    read_parameters,
    requested_seconds,
)

from .samples import SCHEMA, check

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
