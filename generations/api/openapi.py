"""drf-spectacular hook: describes each enabled model's payload in the OpenAPI schema, from the catalogue."""
from __future__ import annotations

import logging
import re

from django.db import DatabaseError

from ..gmi import schema
from ..selectors import enabled_models

logger = logging.getLogger("generations.api")


def add_model_payloads(result, generator, request, public):
    """Replace the free-form ``payload`` of a submission by ``anyOf`` the enabled models' payload schemas."""
    try:
        models = list(enabled_models())
    except DatabaseError:  # schema generated without a database (e.g. in a build step)
        return result
    components = result.setdefault("components", {}).setdefault("schemas", {})
    refs = []
    for model in models:
        name = "Payload_" + re.sub(r"[^A-Za-z0-9_.-]", "_", model.pk)
        components[name] = {
            **schema.payload_json_schema(schema.read_parameters(model.parameters)),
            "title": f"Payload for {model.pk}",
        }
        refs.append({"$ref": f"#/components/schemas/{name}"})
    if not refs:
        return result
    for component in ("GenerationInputRequest", "GenerationInput"):
        properties = components.get(component, {}).get("properties", {})
        if "payload" in properties:
            properties["payload"] = {
                "description": "Parameters of the chosen model; one of these shapes, matching `model`.",
                "anyOf": refs,
            }
    return result
