"""GMI model parameter schemas: a tolerant reader, payload validation, and the facts derived from them.

The modules split the work by job: ``reading`` (every dialect GMI and its guides use),
``validation`` (payloads, size caps), ``facts`` (JSON Schema, requested seconds, prompt
text) and ``legacy`` (the built-in schema of the legacy API). Callers import from here:
``from generations.gmi import schema; schema.read_parameters(...)``. Which HTML control
a parameter gets is the forms' business (``generations.forms.widget_for``), not this package's.
"""
from __future__ import annotations

from .facts import all_prompt_text, payload_json_schema, prompt_text, requested_aspect_ratio, requested_seconds
from .legacy import LEGACY_IMAGE_TO_VIDEO_PARAMETERS
from .parameter import KINDS, MEDIA_TYPES, Parameter
from .reading import read_parameters
from .validation import (
    NON_FIELD_ERRORS,
    REQUIRED_MESSAGE,
    UNKNOWN_PARAMETER_MESSAGE,
    size_errors,
    validate_payload,
)

__all__ = [
    "KINDS",
    "LEGACY_IMAGE_TO_VIDEO_PARAMETERS",
    "MEDIA_TYPES",
    "NON_FIELD_ERRORS",
    "REQUIRED_MESSAGE",
    "UNKNOWN_PARAMETER_MESSAGE",
    "Parameter",
    "all_prompt_text",
    "payload_json_schema",
    "prompt_text",
    "read_parameters",
    "requested_aspect_ratio",
    "requested_seconds",
    "size_errors",
    "validate_payload",
]
