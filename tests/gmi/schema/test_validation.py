"""Tests for checking and coercing payloads against a model's parameters."""
from __future__ import annotations

from typing import Any

import pytest

from generations.gmi.schema import (
    NON_FIELD_ERRORS,
    REQUIRED_MESSAGE,
    UNKNOWN_PARAMETER_MESSAGE,
    read_parameters,
    validate_payload,
)

from .samples import SCHEMA, check


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


def test_thousands_of_unknown_keys_are_summarised_not_listed_one_by_one():
    params = read_parameters([{"name": "prompt", "type": "string", "required": True}])
    _, errors = validate_payload(params, {"prompt": "x", **{f"k{i}": i for i in range(5000)}})
    assert len(errors) <= 21 and "5000 parameters are unknown" in errors["non_field_errors"][0]


def test_url_and_file_values_go_through_the_callers_address_check_item_by_item() -> None:
    from generations.gmi.schema.parameter import Parameter

    params = [Parameter(name="image", kind="file"), Parameter(name="refs", kind="url", multiple=True),
              Parameter(name="prompt", kind="text")]
    seen: list[str] = []

    def url_problem(url: str) -> str | None:
        seen.append(url)
        return "Not a public address." if "10.0.0.1" in url else None

    cleaned, errors = validate_payload(params, {
        "image": "http://10.0.0.1/a.png", "refs": ["https://ok.example/1.png", "http://10.0.0.1/2.png"],
        "prompt": "http://10.0.0.1/ is only text here"}, url_problem=url_problem)

    assert errors == {"image": ["Not a public address."], "refs": ["Item 2: not a public address."]}
    assert seen == ["http://10.0.0.1/a.png", "https://ok.example/1.png", "http://10.0.0.1/2.png"]
    assert cleaned == {"prompt": "http://10.0.0.1/ is only text here"}
