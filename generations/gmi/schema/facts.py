"""Facts derived from a model's parameters and a payload: its JSON Schema, the seconds it asks for, its prompt text."""
from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from .names import URL_NAME, is_prompt_name, media_from_name, snake_case
from .parameter import Parameter
from .values import display, strings_in


def payload_json_schema(params: Sequence[Parameter]) -> dict[str, Any]:
    """A JSON Schema (valid as an OpenAPI 3 schema object) describing a payload for these parameters.

    Unknown kinds are unconstrained (``{}`` plus title/description). ``required``
    lists only parameters without a default, since ``validate_payload`` fills in
    the defaults of the others. An empty parameter list gives an open object.
    """
    if not params:
        return {"type": "object", "additionalProperties": True}
    properties = {p.name: _property_schema(p) for p in params}
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    required = [p.name for p in params if p.required and p.default is None]
    if required:  # OpenAPI 3.0 refuses an empty "required" array
        schema["required"] = required
    return schema


def _property_schema(param: Parameter) -> dict[str, Any]:
    schema: dict[str, Any] = {}
    if param.label:
        schema["title"] = param.label
    description = param.help
    item = _value_schema(param)
    if param.step and param.kind in ("integer", "number") and "multipleOf" not in item:
        # JSON Schema's multipleOf counts from 0; a step counted from the minimum is said in words.
        note = f"In steps of {display(param.step)} from {display(param.minimum)}."
        description = f"{description} {note}".strip()
    if description:
        schema["description"] = description
    if param.multiple and param.kind != "unknown":
        schema.update({"type": "array", "items": item})
    else:
        schema.update(item)
    if param.default is not None:
        schema["default"] = param.default
    return schema


def _value_schema(param: Parameter) -> dict[str, Any]:
    kind = param.kind
    if kind in ("text", "string"):
        schema: dict[str, Any] = {"type": "string"}
        if param.min_length is not None:
            schema["minLength"] = param.min_length
        if param.max_length is not None:
            schema["maxLength"] = param.max_length
        return schema
    if kind in ("integer", "number"):
        schema = {"type": kind}
        if param.minimum is not None:
            schema["minimum"] = param.minimum
        if param.maximum is not None:
            schema["maximum"] = param.maximum
        if param.step:
            base = param.minimum or 0
            ratio = base / param.step
            if abs(ratio - round(ratio)) <= 1e-6:
                schema["multipleOf"] = param.step
        return schema
    if kind == "boolean":
        return {"type": "boolean"}
    if kind == "choice":
        schema = {"enum": list(param.options)}
        types = {_json_type(o) for o in param.options}
        if types == {"integer", "number"}:
            types = {"number"}
        if len(types) == 1:
            schema["type"] = types.pop()
        return schema
    if kind in ("file", "url"):
        schema = {"type": "string", "format": "uri"}
        if kind == "file":
            schema["x-accept"] = list(param.accept)
        return schema
    return {}


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string"


_DURATION_NAMES = (
    "duration", "duration_seconds", "duration_secs", "duration_sec", "duration_s",
    "video_duration", "video_length", "video_seconds", "length_seconds", "length", "seconds",
)
_SECONDS_TEXT = re.compile(
    r"(\d+(?:\.\d+)?)\s*(s|secs?|seconds?|m|mins?|minutes?)?\.?", re.I
)


def requested_seconds(params: Sequence[Parameter], payload: object) -> int | None:
    """The video length in whole seconds that a payload asks for, or None when it cannot tell.

    Looks for a duration-like parameter (``duration``, ``durationSeconds``,
    ``duration_seconds``, ``video_length`` ...), reads values such as ``5``, ``"5"``,
    ``"5s"``, ``"10 seconds"``, ``"1m"``, and rounds fractions up (quotas must not
    undercount). Falls back to that parameter's default when the payload has no
    readable value.
    """
    candidates = sorted(
        (p for p in params if snake_case(p.name) in _DURATION_NAMES),
        key=lambda p: _DURATION_NAMES.index(snake_case(p.name)),
    )
    if isinstance(payload, Mapping):
        for param in candidates:
            seconds = _seconds(payload.get(param.name))
            if seconds is not None:
                return seconds
        # With no (readable) schema, the payload's own keys are all there is.
        loose = [k for k in payload if isinstance(k, str) and snake_case(k) in _DURATION_NAMES]
        for key in sorted(loose, key=lambda k: _DURATION_NAMES.index(snake_case(k))):
            seconds = _seconds(payload[key])
            if seconds is not None:
                return seconds
    for param in candidates:
        seconds = _seconds(param.default)
        if seconds is not None:
            return seconds
    return None


_ASPECT_NAMES = ("aspect_ratio", "aspect", "ratio", "video_aspect_ratio")
_ASPECT_TEXT = re.compile(r"(\d+(?:\.\d+)?)\s*[:x/]\s*(\d+(?:\.\d+)?)", re.I)


def requested_aspect_ratio(params: Sequence[Parameter], payload: object) -> str | None:
    """The aspect ratio a payload asks for, as "W:H" ("16:9", "9:16", "1:1"), or None when it cannot tell.

    Reads an aspect-ratio-like parameter (``aspectRatio``, ``aspect_ratio``, ``ratio`` …) of
    the payload, else that parameter's default.
    """
    names = {p.name for p in params if snake_case(p.name) in _ASPECT_NAMES}
    if isinstance(payload, Mapping):
        names |= {k for k in payload if isinstance(k, str) and snake_case(k) in _ASPECT_NAMES}
        for name in sorted(names):
            ratio = _ratio(payload.get(name))
            if ratio:
                return ratio
    for param in params:
        if param.name in names:
            ratio = _ratio(param.default)
            if ratio:
                return ratio
    return None


def _ratio(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    match = _ASPECT_TEXT.fullmatch(value.strip())
    if not match:
        return None
    width, height = float(match.group(1)), float(match.group(2))
    if width <= 0 or height <= 0:
        return None
    return f"{display(width)}:{display(height)}"



def _seconds(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        if isinstance(value, (int, float)):
            number, unit = float(value), ""
        elif isinstance(value, str):
            match = _SECONDS_TEXT.fullmatch(value.strip())
            if not match:
                return None
            number, unit = float(match.group(1)), (match.group(2) or "").lower()
        else:
            return None
    except OverflowError:
        return None
    if not math.isfinite(number) or number <= 0:
        return None
    if unit.startswith("m"):
        number *= 60
    return math.ceil(number - 1e-9)


def prompt_text(payload: object) -> str:
    """The prompt a user wrote (``prompt``, ``text``, ``caption``, ``*_prompt`` ...), stripped; "" when none."""
    if not isinstance(payload, Mapping):
        return ""
    by_snake = {snake_case(k): v for k, v in payload.items() if isinstance(k, str)}
    for name in ("prompt", "text", "caption", "text_prompt", "prompt_text", "input_text"):
        value = by_snake.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    for name, value in by_snake.items():
        if name.endswith("_prompt") and "negative" not in name and isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def all_prompt_text(params: Sequence[Parameter], payload: object, *, include_negative: bool = False) -> str:
    """All free text a user put in a payload, one field per line, for blocked-term checks.

    Covers text, string and unknown-kind parameters (strings nested in lists and
    objects too) and, when the schema is empty, every payload key except file and
    link ones. Prompt-like fields come first. Negative prompts are left out unless
    asked for: they name what the video must *not* show, and refusing a user for
    steering away from a blocked subject would be wrong.
    """
    if not isinstance(payload, Mapping):
        return ""
    by_name = {p.name: p for p in params}
    chunks: list[tuple[int, str]] = []
    for key, value in payload.items():
        if not isinstance(key, str):
            continue
        snake = snake_case(key)
        if not include_negative and "negative" in snake:
            continue
        param = by_name.get(key)
        if param is None:
            # Keys outside a known schema are refused anyway; with no schema every
            # key goes to GMI, so all its free text counts (links excepted).
            if params or media_from_name(snake) or URL_NAME.fullmatch(snake):
                continue
        elif param.kind not in ("text", "string", "unknown"):
            continue
        order = 0 if is_prompt_name(snake) else 1
        chunks.extend((order, text) for text in strings_in(value))
    chunks.sort(key=lambda c: c[0])
    return "\n".join(text for _, text in chunks)
