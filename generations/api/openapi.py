"""drf-spectacular hooks: each enabled model's payload (from the catalogue), and the 429 every operation may answer."""
from __future__ import annotations

import logging
import re

from django.db import DatabaseError

from ..gmi import schema
from ..selectors.catalogue import enabled_models

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


THROTTLED = {
    "description": "Too many calls (`code` `throttled`): wait the seconds in `Retry-After`, then try again.",
    "headers": {
        "Retry-After": {"description": "Seconds to wait before calling again.", "schema": {"type": "integer"}},
    },
}


def document_throttling(result, generator, request, public):
    """Every API operation may answer 429 with ``Retry-After`` (SPEC §3.4, "Throttling"): say so in each.

    A 429 the view already documents (quota exceeded) keeps its body schema and gains the header and the words.
    """
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in {"get", "put", "post", "patch", "delete"} or not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            documented = responses.get("429")
            if documented is None:
                responses["429"] = {**THROTTLED, "content": error}
            else:
                documented["description"] = (f"{documented.get('description', '').rstrip('.')}; or too many calls "
                                             "(`code` `throttled`): wait the seconds in `Retry-After`.")
                documented.setdefault("headers", {}).update(THROTTLED["headers"])
    return result
