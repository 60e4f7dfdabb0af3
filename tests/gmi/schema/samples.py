"""A parameter schema with one parameter of every kind, shared by the validation and JSON Schema tests."""
from __future__ import annotations

from typing import Any

from generations.gmi.schema import read_parameters, validate_payload

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
