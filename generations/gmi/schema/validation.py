"""Checking and coercing a payload against a model's parameters, and the size caps applied before that."""
from __future__ import annotations

import difflib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from .parameter import Parameter
from .values import bool_or_none, display, number_or_none, same_value, strings_in, tolerance

NON_FIELD_ERRORS = "non_field_errors"
REQUIRED_MESSAGE = "This parameter is required."
UNKNOWN_PARAMETER_MESSAGE = "Unknown parameter for this model."
MAX_UNKNOWN_REPORTED = 20


UrlCheck = Callable[[str], "str | None"]


def validate_payload(params: Sequence[Parameter], payload: object, *,
                     url_problem: UrlCheck | None = None) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Check and coerce a payload against a model's parameters.

    Returns ``(cleaned, errors)``: ``errors`` maps a parameter name (or
    ``NON_FIELD_ERRORS`` for the payload as a whole) to messages telling the user
    what to change; ``cleaned`` holds the values that passed, in the types GMI expects.

    - Missing or blank required values are an error, except that a required
      parameter with a default gets that default. Optional values that are missing
      or blank are left out rather than filled with their default, so GMI applies
      its own current defaults (ours may be stale).
    - Values are coerced where the intent is plain: ``5`` → ``"5"`` when the
      options are strings, ``"7"``/``7.0`` → ``7`` for integers, ``"on"`` → ``True``.
    - Options, ranges, steps and lengths are enforced; file and URL parameters need
      http(s) URLs, each of which ``url_problem`` (when given) may refuse with a message
      (the caller's address policy: GMI fetches these URLs, so none may point at a private,
      loopback, link-local or metadata address); parameters of unknown kind pass through unchanged.
    - Keys the schema does not list are refused, unless the schema is empty: an
      unreadable schema must not make a model unusable.
    """
    if not isinstance(payload, Mapping):
        return {}, {NON_FIELD_ERRORS: ['The payload must be a JSON object, such as {"prompt": "..."}.']}
    if not params:
        return dict(payload), {}
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    known = {p.name for p in params}
    unknown = [key for key in payload if key not in known]
    if len(unknown) > MAX_UNKNOWN_REPORTED:
        # Naming each of thousands of stray keys helps nobody and bloats the answer.
        errors[NON_FIELD_ERRORS] = [f"{len(unknown)} parameters are unknown to this model; "
                                    f"the first {MAX_UNKNOWN_REPORTED} are listed."]
        unknown = unknown[:MAX_UNKNOWN_REPORTED]
    for key in unknown:
        message = UNKNOWN_PARAMETER_MESSAGE
        close = difflib.get_close_matches(str(key), sorted(known), n=1, cutoff=0.75)
        if close:
            message += f' Did you mean "{close[0]}"?'
        errors[str(key)] = [message]
    for param in params:
        value = payload.get(param.name)
        if param.multiple and param.kind != "unknown":
            value = _as_list(param, value)
        if _is_blank(value):
            if not param.required:
                continue
            if param.default is None:
                errors[param.name] = [REQUIRED_MESSAGE]
                continue
            value, problems = _clean(param, _as_list(param, param.default) if param.multiple else param.default,
                                     url_problem)
            # GMI's own default is trusted even where our reading of its rules disagrees.
            cleaned[param.name] = param.default if problems else value
            continue
        value, problems = _clean(param, value, url_problem)
        if problems:
            errors[param.name] = problems
        else:
            cleaned[param.name] = value
    return cleaned, errors


def size_errors(payload: object, *, max_text: int, max_total: int) -> dict[str, list[str]]:
    """Field errors for text longer than ``max_text`` characters, or a payload over ``max_total`` as JSON.

    Cheap on any input (one pass, no per-character work in Python), so it can run
    before anything that reads the text closely. Over-long keys are reported without
    being echoed.
    """
    errors: dict[str, list[str]] = {}
    if isinstance(payload, Mapping):
        for key, value in payload.items():
            name = str(key)
            if len(name) > max_text:
                errors.setdefault(NON_FIELD_ERRORS, []).append(
                    f"A parameter name is {len(name)} characters long; use the model's parameter names.")
                continue
            longest = max((len(text) for text in strings_in(value)), default=0)
            if longest > max_text:
                errors[name] = [f"Must be at most {max_text} characters (it has {longest})."]
    if not errors:
        total = len(json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str))
        if total > max_total:
            errors[NON_FIELD_ERRORS] = [f"The parameters add up to {total} characters; the most is {max_total}. "
                                        "Shorten the longest texts."]
    return errors


def _as_list(param: Parameter, value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, str) and param.kind in ("file", "url"):
        value = value.split()  # one URL per line or space, as a textarea gives them
    elif not isinstance(value, (list, tuple)):
        value = [value]
    return [v for v in value if not _is_blank(v)]


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _clean(param: Parameter, value: Any, url_problem: UrlCheck | None = None) -> tuple[Any, list[str]]:
    if param.kind == "unknown":
        return value, []
    if not param.multiple:
        if isinstance(value, (list, tuple, Mapping)):
            return value, ["Must be a single value, not a list or object."]
        cleaned, problem = _clean_one(param, value, url_problem)
        return cleaned, [problem] if problem else []
    items: list[Any] = []
    problems: list[str] = []
    for index, item in enumerate(value, start=1):
        if isinstance(item, (list, tuple, Mapping)):
            problems.append(f"Item {index}: must be a single value, not a list or object.")
            continue
        cleaned, problem = _clean_one(param, item, url_problem)
        if problem:
            problems.append(f"Item {index}: {problem[0].lower()}{problem[1:]}")
        else:
            items.append(cleaned)
    return items, problems


def _clean_one(param: Parameter, value: Any, url_problem: UrlCheck | None = None) -> tuple[Any, str | None]:
    kind = param.kind
    if kind == "choice":
        return _clean_choice(param, value)
    if kind in ("text", "string"):
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            return value, "Must be text."
        text = value if isinstance(value, str) else display(value)
        if param.max_length is not None and len(text) > param.max_length:
            return text, f"Must be at most {param.max_length} characters (it has {len(text)})."
        if param.min_length is not None and len(text.strip()) < param.min_length:
            return text, f"Must be at least {param.min_length} characters."
        return text, None
    if kind == "integer":
        number = value if not isinstance(value, str) else number_or_none(value)
        if isinstance(number, float) and number.is_integer():
            number = int(number)
        if isinstance(number, bool) or not isinstance(number, int):
            return value, f"Must be a whole number, not {_quoted(value)}."
        return number, _range_problem(param, number)
    if kind == "number":
        number = number_or_none(value)
        if number is None:
            return value, f"Must be a number, not {_quoted(value)}."
        return number, _range_problem(param, number)
    if kind == "boolean":
        flag = bool_or_none(value)
        if flag is None:
            return value, "Must be true or false."
        return flag, None
    if kind in ("file", "url"):
        if isinstance(value, str) and _is_http_url(value.strip()):
            return value.strip(), url_problem(value.strip()) if url_problem is not None else None
        if kind == "file":
            return value, "Must be an http(s) URL: upload the file here or paste a public link."
        return value, "Must be an http(s) URL."
    return value, None


def _clean_choice(param: Parameter, value: Any) -> tuple[Any, str | None]:
    options = param.options
    for option in options:
        if same_value(option, value):
            return option, None
    if isinstance(value, str):
        text = value.strip()
        for option in options:
            if display(option) == text:
                return option, None
        folded = [o for o in options if display(o).casefold() == text.casefold()]
        if len(folded) == 1:
            return folded[0], None
    number = number_or_none(value)
    if number is not None:
        for option in options:
            other = number_or_none(option)
            if other is not None and _close(other, number):
                return option, None
    flag = bool_or_none(value) if isinstance(value, str) else None
    if flag is not None:
        for option in options:
            if isinstance(option, bool) and option == flag:
                return option, None
    return value, f"Must be one of: {_option_list(param)}."


def _option_list(param: Parameter, limit: int = 20) -> str:
    shown = [display(o) for o in param.options[:limit]]
    text = ", ".join(shown)
    if len(param.options) > limit:
        text += f", … ({len(param.options)} in all)"
    return text


def _range_problem(param: Parameter, number: int | float) -> str | None:
    low, high = param.minimum, param.maximum
    too_low = low is not None and number < low - tolerance(low)
    too_high = high is not None and number > high + tolerance(high)
    if too_low or too_high:
        if low is not None and high is not None:
            return f"Must be between {display(low)} and {display(high)}."
        if too_low:
            return f"Must be at least {display(low)}."
        return f"Must be at most {display(high)}."
    if param.step:
        base = low if low is not None else 0
        ratio = (number - base) / param.step
        # Relative slack too: far from the base, float error grows with the ratio.
        if abs(ratio - round(ratio)) > max(1e-6, abs(ratio) * 1e-12):
            if low is not None:
                return f"Must be a multiple of {display(param.step)} from {display(low)}."
            return f"Must be a multiple of {display(param.step)}."
    return None




def _is_http_url(text: str) -> bool:
    if any(c.isspace() for c in text):
        return False
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def _quoted(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return display(value)



def _close(a: int | float, b: int | float) -> bool:
    try:
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    except OverflowError:  # an integer beyond any float: only exact equality can match
        return a == b
