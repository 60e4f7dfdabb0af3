"""Tests for ``Parameter``, the normalized description of one model parameter."""
from __future__ import annotations

import json

from generations.gmi.schema import Parameter, read_parameters


def test_parameter_keeps_the_raw_entry_and_serializes_to_json() -> None:
    entry = {"name": "duration", "type": "string", "options": ["5", "10"], "default": "5", "ui": {"order": 2}}
    [param] = read_parameters([entry])
    assert param.raw == entry
    assert param.extra == {"ui": {"order": 2}}
    data = param.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert "widget" not in data  # the control that fits is the forms' choice: forms.widget_for
    assert data["choices"] == [{"value": "5", "label": "5"}, {"value": "10", "label": "10"}]
    assert "raw" not in data


def test_hand_built_parameter_gets_a_label_and_option_labels() -> None:
    param = Parameter(name="imageURL", kind="choice", options=(True, 2.0))
    assert param.label == "Image URL"
    assert param.option_labels == ("true", "2")
