"""A tolerant reader of GMI model parameter schemas, and the validation and facts derived from it."""
from __future__ import annotations

import difflib
import json
import logging
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

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
    "requested_seconds",
    "size_errors",
    "validate_payload",
]

logger = logging.getLogger(__name__)

KINDS = ("text", "string", "integer", "number", "boolean", "choice", "file", "url", "unknown")
MEDIA_TYPES = ("image", "video", "audio")
NON_FIELD_ERRORS = "non_field_errors"
REQUIRED_MESSAGE = "This parameter is required."
UNKNOWN_PARAMETER_MESSAGE = "Unknown parameter for this model."
MAX_UNKNOWN_REPORTED = 20

_WIDGETS = {
    "text": "textarea",
    "string": "text",
    "integer": "number",
    "number": "number",
    "boolean": "checkbox",
    "choice": "select",
    "file": "file",
    "url": "url",
    "unknown": "text",
}


@dataclass(frozen=True)
class Parameter:
    """One model parameter, normalized from whatever dialect GMI used to describe it.

    ``options`` keep their original JSON types (GMI may want ``"5"`` where a user
    types ``5``); ``option_labels`` runs parallel to them. ``extra`` holds every key
    of the original entry that was not understood (or not usable), and ``raw`` the
    entry itself, so nothing GMI says is ever lost.
    """

    name: str
    label: str = ""
    help: str = ""
    kind: str = "unknown"
    raw_type: str = ""
    required: bool = False
    default: Any = field(default=None, hash=False)
    options: tuple[Any, ...] = field(default=(), hash=False)
    option_labels: tuple[str, ...] = ()
    minimum: int | float | None = None
    maximum: int | float | None = None
    step: int | float | None = None
    min_length: int | None = None
    max_length: int | None = None
    accept: tuple[str, ...] = ()
    multiple: bool = False
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    raw: Any = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        # Hand-built parameters (tests, built-in schemas) get the same label rule as read ones.
        if not self.label:
            object.__setattr__(self, "label", _humanize(self.name))
        if len(self.option_labels) != len(self.options):
            object.__setattr__(self, "option_labels", tuple(_display(o) for o in self.options))

    @property
    def widget(self) -> str:
        """The form control that fits: textarea, select, number, checkbox, file, url or text."""
        if self.multiple and self.kind not in ("file", "choice", "unknown"):
            # A list of URLs or numbers does not fit a single-value control.
            return "textarea" if self.kind in ("url", "text") else "text"
        return _WIDGETS.get(self.kind, "text")

    @property
    def choices(self) -> tuple[tuple[Any, str], ...]:
        """(value, label) pairs for a select."""
        return tuple(zip(self.options, self.option_labels))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description for APIs and form builders (``raw`` is left out; ``extra`` is kept)."""
        return {
            "name": self.name,
            "label": self.label,
            "help": self.help,
            "kind": self.kind,
            "widget": self.widget,
            "raw_type": self.raw_type,
            "required": self.required,
            "default": self.default,
            "options": list(self.options),
            "choices": [{"value": v, "label": label} for v, label in self.choices],
            "minimum": self.minimum,
            "maximum": self.maximum,
            "step": self.step,
            "min_length": self.min_length,
            "max_length": self.max_length,
            "accept": list(self.accept),
            "multiple": self.multiple,
            "extra": dict(self.extra),
        }


# --------------------------------------------------------------------------- reading

_WRAPPER_KEYS = ("parameters", "params", "input_schema", "inputSchema", "schema", "inputs", "fields")
_NAME_KEYS = ("name", "key", "id", "param", "parameter", "field")
_LABEL_KEYS = ("display_name", "displayName", "label", "title")
_HELP_KEYS = ("description", "help", "help_text", "helpText", "hint", "tooltip", "desc")
_TYPE_KEYS = ("type", "data_type", "dataType", "value_type", "valueType", "input_type", "inputType")
_REQUIRED_KEYS = ("required", "is_required", "isRequired", "mandatory")
_DEFAULT_KEYS = ("default", "default_value", "defaultValue")
_OPTION_KEYS = ("options", "enum", "choices", "allowed_values", "allowedValues", "values")
_MIN_KEYS = ("min", "minimum", "min_value", "minValue")
_MAX_KEYS = ("max", "maximum", "max_value", "maxValue")
_STEP_KEYS = ("step", "multiple_of", "multipleOf", "step_size", "stepSize", "increment")
_MIN_LENGTH_KEYS = ("min_length", "minLength")
_MAX_LENGTH_KEYS = ("max_length", "maxLength", "max_chars", "maxChars")
_MAX_DEPTH = 5

_TYPE_WORDS = {
    **dict.fromkeys(("str", "string", "varchar", "char", "keyword"), "string"),
    **dict.fromkeys(("text", "textarea", "long_text", "longtext", "multiline", "prompt"), "text"),
    **dict.fromkeys(("int", "integer", "int32", "int64", "long", "uint", "short", "whole", "seed"), "integer"),
    **dict.fromkeys(
        ("float", "number", "double", "decimal", "float32", "float64", "real", "numeric", "num", "slider", "range"),
        "number",
    ),
    **dict.fromkeys(("bool", "boolean", "checkbox", "switch", "toggle", "flag"), "boolean"),
    **dict.fromkeys(("url", "uri", "link", "href", "http_url", "https_url"), "url"),
    **dict.fromkeys(("file", "upload", "binary", "media", "attachment", "blob", "file_url", "asset"), "file"),
    **dict.fromkeys(("enum", "select", "dropdown", "choice", "choices", "radio", "option", "options"), "choice"),
    **dict.fromkeys(("array", "list", "sequence", "tuple", "set", "multiselect", "multi_select"), "array"),
    **dict.fromkeys(("object", "dict", "map", "json", "any", "mixed", "null", "none"), "unknown"),
}

_NUMERIC_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_NOT_MEDIA_PREFIXES = (
    "num_", "n_", "max_", "min_", "number_of_", "count_", "total_",
    "generate_", "enable_", "use_", "with_", "include_", "add_", "enhance_", "has_", "is_",
)
_IMAGE_NAME = re.compile(
    r"(?:.+_)?(?:image|images|img|imgs|photo|photos|picture|pictures)(?:_(?:url|urls|uri|uris|list|file|files|input))?"
    r"|(?:.+_)?(?:first|last|start|end|tail|key|init|initial|final|head)_frame(?:_(?:url|image|image_url))?"
)
_VIDEO_NAME = re.compile(r"(?:.+_)?(?:video|videos)(?:_(?:url|urls|uri|uris|list|file|files|input))?")
_AUDIO_NAME = re.compile(r"(?:.+_)?(?:audio|audios|sound)(?:_(?:url|urls|uri|uris|list|file|files|input))?")
_URL_NAME = re.compile(r"(?:.+_)?(?:url|urls|uri|uris|link|links|href)")
_PLURAL_NAME = re.compile(r".*(?:images|imgs|photos|pictures|videos|audios|urls|uris|links|_list|_files)")
_PROMPT_NAMES = frozenset(("prompt", "text", "caption", "text_prompt", "prompt_text", "input_text"))
_ACRONYMS = {"url": "URL", "uri": "URI", "id": "ID", "fps": "FPS", "cfg": "CFG", "ai": "AI"}

# Ranges that guides write in prose: "0.5 to 2 with step 0.1", "between 1 and 10", "(1-50)".
# The look-ahead refuses a number that continues ("2^32", "2**31", "1e6"), so it is never cut short.
_NUM = r"([+-]?\d+(?:\.\d+)?)(?![\d^*]|\.\d|[eE][+-]?\d)"
_TEXT_RANGES = (
    re.compile(rf"\bbetween\s+{_NUM}\s+and\s+{_NUM}", re.I),
    re.compile(rf"(?<![\w.^*]){_NUM}\s*(?:to|–|—|~|\.\.\.?)\s*{_NUM}", re.I),
    re.compile(rf"\brange\s*(?:is|of)?\s*[:=]?\s*[\[(]?\s*{_NUM}\s*(?:-|,)\s*{_NUM}", re.I),
    re.compile(rf"[\[(]\s*{_NUM}\s*(?:-|–|,)\s*{_NUM}\s*[\])]", re.I),
)
_TEXT_MIN = re.compile(rf"\b(?:min(?:imum)?(?:\s+value)?|at\s+least)\s*(?:is|of|:|=)?\s*{_NUM}", re.I)
_TEXT_MAX = re.compile(rf"\b(?:max(?:imum)?(?:\s+value)?|at\s+most|up\s+to)\s*(?:is|of|:|=)?\s*{_NUM}", re.I)
_STANDALONE_NUMBER = re.compile(r"(?<![\w.])[+-]?\d+(?:\.\d+)?(?![\w^*]|\.\d)")
_TEXT_STEP = re.compile(
    rf"\b(?:step(?:\s*size)?|in\s+steps\s+of|increments?(?:\s+of)?)\s*(?:of|is|:|=)?\s*{_NUM}", re.I
)


def read_parameters(raw: object) -> list[Parameter]:
    """Read a model's parameter schema in any dialect GMI (or a guide) uses; never raises.

    Accepted shapes: a list of entries (GMI's documented ``[{"name", "display_name",
    "description", "type", "required", ...}]``), a dict keyed by name (values are
    entries or bare type words), a JSON-Schema object (``properties`` + ``required``),
    any of those wrapped in ``{"parameters": ...}``, or the JSON text of any of them.
    Entries without a usable name, and entries that are not objects, are skipped;
    duplicate names keep the first entry. Anything else degrades: an unreadable
    type becomes kind ``"unknown"``, unusable keys move to ``extra``.
    """
    try:
        entries = list(_entries(raw, depth=0))
    except Exception:  # a reader that fails closed would make a model unusable
        logger.warning("Could not read a GMI parameter schema", exc_info=True)
        return []
    params: list[Parameter] = []
    seen: set[str] = set()
    for name, entry, required_hint in entries:
        try:
            param = _read_entry(name, entry, required_hint)
        except Exception:
            logger.warning("Skipped an unreadable GMI parameter entry (%s)", name or "unnamed", exc_info=True)
            continue
        if param is None or param.name in seen:
            continue
        seen.add(param.name)
        params.append(param)
    return params


def _entries(raw: object, depth: int) -> Iterator[tuple[str | None, Any, bool]]:
    """Yield (name or None, entry, required-by-parent) from any accepted container shape."""
    if depth > _MAX_DEPTH:
        return
    if isinstance(raw, (bytes, bytearray)):
        raw = raw.decode("utf-8", "replace")
    if isinstance(raw, str):
        # A catalogue column may hold the JSON text rather than the decoded value.
        if depth == 0:
            try:
                decoded = json.loads(raw)
            except ValueError:
                return
            if isinstance(decoded, (list, dict)):
                yield from _entries(decoded, depth + 1)
        return
    if isinstance(raw, (list, tuple)):
        for item in raw:
            if isinstance(item, Mapping):
                yield None, item, False
            elif isinstance(item, str) and item.strip():
                yield None, item, False  # a bare name, as some guides list them
        return
    if not isinstance(raw, Mapping):
        return
    properties = raw.get("properties")
    if isinstance(properties, Mapping):
        required = raw.get("required")
        required_names = {r for r in required if isinstance(r, str)} if isinstance(required, list) else set()
        for key, value in properties.items():
            if isinstance(key, str):
                yield key, ({} if value is True else value), key in required_names
        return
    for key in _WRAPPER_KEYS:
        inner = raw.get(key)
        if isinstance(inner, (list, Mapping)):
            yield from _entries(inner, depth + 1)
            return
    if isinstance(raw.get("name"), str) and any(
        k in raw for k in (*_TYPE_KEYS, *_LABEL_KEYS, *_HELP_KEYS, *_REQUIRED_KEYS, *_OPTION_KEYS)
    ):
        yield None, raw, False  # one entry on its own
        return
    for key, value in raw.items():
        if isinstance(key, str) and isinstance(value, (Mapping, str)):
            yield key, value, False


class _Entry:
    """An entry's keys, consumed as they are understood; whatever is left becomes ``extra``."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = dict(data)
        self.used: set[str] = set()

    def first(self, keys: Sequence[str], parse: Callable[[Any], Any] = lambda v: v) -> Any:
        for key in keys:
            if key in self.data and key not in self.used:
                value = parse(self.data[key])
                if value is not None:
                    self.used.add(key)
                    return value
        return None

    def consume(self, *keys: str) -> None:
        self.used.update(k for k in keys if k in self.data)

    def extra(self) -> dict[str, Any]:
        return {k: v for k, v in self.data.items() if k not in self.used}


def _read_entry(name: str | None, entry: Any, required_hint: bool) -> Parameter | None:
    raw = entry
    if isinstance(entry, str):
        if name is None:
            name, entry = entry, {}  # a bare name from a list
        else:
            entry = {"type": entry}  # {"prompt": "string"}: the value is the type word
    if not isinstance(entry, Mapping):
        return None
    data = dict(entry)
    nested_keys: list[str] = []
    # OpenAPI-style entries keep type details under "schema"; the entry's own keys win.
    if isinstance(data.get("schema"), Mapping):
        data = {**data["schema"], **{k: v for k, v in data.items() if k != "schema"}}
        nested_keys.append("schema")
    options_from_union = _union_options(data)
    variant = None
    if options_from_union is None and not any(k in data for k in _TYPE_KEYS):
        variant = _union_variant(data)
        if variant is not None:
            data = {**variant, **data}
    e = _Entry(data)
    e.consume(*nested_keys)
    if options_from_union is not None or variant is not None:
        e.consume("oneOf", "anyOf")

    if name is None:
        name = e.first(_NAME_KEYS, lambda v: v if isinstance(v, str) and v.strip() else None)
    else:
        e.consume(*(k for k in _NAME_KEYS if data.get(k) == name))
    if not isinstance(name, str) or not name.strip():
        return None
    snake = _snake(name)

    label = e.first(_LABEL_KEYS, _text_or_none) or ""
    help_text = e.first(_HELP_KEYS, _text_or_none) or ""
    raw_type = e.first(_TYPE_KEYS, _type_word) or ""
    required = bool(e.first(_REQUIRED_KEYS, _bool_or_none)) or required_hint
    optional = _bool_or_none(data.get("optional"))
    if optional is not None:
        e.consume("optional")
        required = required and not optional
    default = e.first(_DEFAULT_KEYS, lambda v: v)
    e.consume(*(k for k in _DEFAULT_KEYS if data.get(k, 0) is None))  # a null default is no default
    min_length = e.first(_MIN_LENGTH_KEYS, _length_or_none)
    max_length = e.first(_MAX_LENGTH_KEYS, _length_or_none)
    if min_length is not None and max_length is not None and min_length > max_length:
        e.used.difference_update(_MIN_LENGTH_KEYS + _MAX_LENGTH_KEYS)
        min_length = max_length = None

    base, media, multiple = _classify_type(raw_type)
    fmt = data.get("format")
    if isinstance(fmt, str):
        fmt_base = {"uri": "url", "url": "url", "iri": "url", "uri-reference": "url", "binary": "file",
                    "data-url": "file", "textarea": "text", "multiline": "text"}.get(fmt.strip().lower())
        if fmt_base and base in (None, "string", "array"):
            e.consume("format")
            if base == "array":
                multiple = True
            base = fmt_base

    options: tuple[Any, ...] = ()
    labels: tuple[str, ...] = ()
    if options_from_union is not None:
        options, labels = options_from_union
    else:
        found = e.first(_OPTION_KEYS, _read_options)
        if found:
            options, labels = found

    items = data.get("items")
    if base == "array" or (base is None and isinstance(items, Mapping)):
        multiple = True
        base = None
        if isinstance(items, Mapping):
            e.consume("items")
            item_base, item_media, _ = _classify_type(_type_word(items.get("type")) or "")
            item_format = items.get("format")
            if item_base in (None, "string") and isinstance(item_format, str) and item_format.lower() in ("uri", "url"):
                item_base = "url"
            base, media = item_base, item_media
            if not options:
                found = _first_options(items)
                if found:
                    options, labels = found
        if base is None and not options and not _media_from_name(snake):
            base = "unknown"  # a list of we-know-not-what: passed through as given

    # With no type word at all, a typed default is the best evidence left.
    if base is None and not options:
        if isinstance(default, bool):
            base = "boolean"
        elif isinstance(default, int):
            base = "integer"
        elif isinstance(default, float):
            base = "number"

    name_media = _media_from_name(snake)
    accept: tuple[str, ...] = ()
    if base == "file":
        kind = "file"
        accept = media or name_media or MEDIA_TYPES
        multiple = multiple or bool(_PLURAL_NAME.fullmatch(snake))
    elif base == "boolean":
        kind = "boolean"
    elif options:
        kind = "choice"
    elif base in ("integer", "number"):
        kind = base
    elif base in (None, "string", "text", "url", "choice") and name_media:
        kind = "file"
        accept = name_media
        multiple = multiple or bool(_PLURAL_NAME.fullmatch(snake))
    elif base == "url" or (base in (None, "string", "choice") and _URL_NAME.fullmatch(snake)):
        kind = "url"
        multiple = multiple or bool(_PLURAL_NAME.fullmatch(snake))
    elif base == "text" or (
        base in (None, "string", "choice") and (_is_prompt_name(snake) or (max_length or 0) >= 256)
    ):
        kind = "text"
    elif base in ("string", "choice") or (base is None and isinstance(default, str)):
        kind = "string"
    else:
        kind = "unknown"

    minimum = e.first(_MIN_KEYS, _number_or_none)
    maximum = e.first(_MAX_KEYS, _number_or_none)
    step = e.first(_STEP_KEYS, lambda v: n if (n := _number_or_none(v)) is not None and n > 0 else None)
    if minimum is not None and maximum is not None and minimum > maximum:
        # Contradictory bounds enforce nothing sensible; keep them visible in extra.
        e.used.difference_update(_MIN_KEYS + _MAX_KEYS)
        minimum = maximum = None
    if kind in ("integer", "number") and help_text:
        text_min, text_max, text_step = _range_from_text(help_text)
        if minimum is None and maximum is None and text_min is not None and text_max is not None:
            minimum, maximum = text_min, text_max
        else:
            if minimum is None and text_min is not None and (maximum is None or text_min <= maximum):
                minimum = text_min
            if maximum is None and text_max is not None and (minimum is None or text_max >= minimum):
                maximum = text_max
        if step is None:
            step = text_step

    return Parameter(
        name=name,
        label=label,
        help=help_text,
        kind=kind,
        raw_type=raw_type,
        required=required,
        default=default,
        options=options,
        option_labels=labels,
        minimum=minimum,
        maximum=maximum,
        step=step,
        min_length=min_length,
        max_length=max_length,
        accept=accept,
        multiple=multiple,
        extra=e.extra(),
        raw=raw,
    )


def _classify_type(word: str) -> tuple[str | None, tuple[str, ...], bool]:
    """A type word → (base kind or None, media it names, whether it names a list)."""
    w = re.sub(r"[\s\-]+", "_", word.strip().lower())
    if not w:
        return None, (), False
    multiple = False
    match = re.fullmatch(r"(?:list|array|sequence|tuple|set)_?[\[<(](.+?)[\]>)]", w)
    if match:
        w, multiple = match.group(1).strip("_"), True
    elif w.endswith("[]"):
        w, multiple = w[:-2], True
    elif w.endswith("_list") and len(w) > 5:
        w, multiple = w[:-5], True
    elif w.startswith(("list_of_", "array_of_")):
        w, multiple = w.split("_of_", 1)[1], True
    for media, pattern in (("image", r"image|img|picture|photo"), ("video", r"video"), ("audio", r"audio|sound")):
        if re.search(pattern, w):
            return "file", (media,), multiple or bool(re.search(r"(?:images|imgs|pictures|photos|videos|audios)", w))
    base = _TYPE_WORDS.get(w)
    if base is None and w.endswith("s") and _TYPE_WORDS.get(w[:-1]) in ("file", "url"):
        return _TYPE_WORDS[w[:-1]], (), True
    if base is None:
        return ("array" if multiple else "unrecognized"), (), multiple
    if multiple and base != "array":
        return base, (), True
    return base, (), base == "array"


def _union_options(data: Mapping[str, Any]) -> tuple[tuple[Any, ...], tuple[str, ...]] | None:
    """JSON Schema's labelled enum idiom: ``oneOf: [{"const": v, "title": label}, ...]``."""
    for key in ("oneOf", "anyOf"):
        variants = data.get(key)
        if isinstance(variants, list) and variants and all(
            isinstance(v, Mapping) and "const" in v for v in variants
        ):
            found = _read_options([{"value": v["const"], "label": v.get("title")} for v in variants])
            if found:
                return found
    return None


def _union_variant(data: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The first non-null alternative of ``anyOf``/``oneOf`` (how JSON Schema spells "optional X")."""
    for key in ("anyOf", "oneOf"):
        variants = data.get(key)
        if isinstance(variants, list):
            for v in variants:
                if isinstance(v, Mapping) and v.get("type") not in (None, "null"):
                    return v
    return None


def _first_options(data: Mapping[str, Any]) -> tuple[tuple[Any, ...], tuple[str, ...]] | None:
    for key in _OPTION_KEYS:
        found = _read_options(data.get(key))
        if found:
            return found
    return None


def _read_options(value: Any) -> tuple[tuple[Any, ...], tuple[str, ...]] | None:
    """Allowed values (original JSON types) and their labels, or None when there are none usable."""
    pairs: list[tuple[Any, str]] = []
    if isinstance(value, str):
        # "16:9 | 9:16 | 1:1" or "5, 10": only trusted when it clearly lists several values.
        parts = [p.strip() for p in value.split("|" if "|" in value else ",")]
        parts = [p for p in parts if p]
        if len(parts) < 2:
            return None
        pairs = [(p, p) for p in parts]
    elif isinstance(value, Mapping):
        pairs = [(k, _text_or_none(v) or k) for k, v in value.items() if isinstance(k, str)]
    elif isinstance(value, (list, tuple)):
        for item in value:
            if _is_scalar(item):
                pairs.append((item, _display(item)))
            elif isinstance(item, Mapping):
                key = next((k for k in ("value", "const", "id", "key", "name") if k in item), None)
                if key is None or not _is_scalar(item[key]):
                    continue
                label = next(
                    (item[k] for k in ("label", "display_name", "displayName", "title", "name", "text")
                     if k != key and isinstance(item.get(k), str) and item[k].strip()),
                    None,
                )
                pairs.append((item[key], label.strip() if label else _display(item[key])))
    else:
        return None
    unique: list[tuple[Any, str]] = []
    for v, label in pairs:
        if not any(_same(v, u) for u, _ in unique):
            unique.append((v, label))
    if not unique:
        return None
    return tuple(v for v, _ in unique), tuple(label for _, label in unique)


def _range_from_text(text: str) -> tuple[int | float | None, int | float | None, int | float | None]:
    """(minimum, maximum, step) written in prose, each None when absent or not believable."""
    low = high = step = None
    spans: list[tuple[int, int]] = []
    for pattern in _TEXT_RANGES:
        match = pattern.search(text)
        if match:
            a, b = _number_or_none(match.group(1)), _number_or_none(match.group(2))
            if a is not None and b is not None and a <= b:
                low, high = a, b
                spans.append(match.span())
                break
    if low is None and (match := _TEXT_MIN.search(text)):
        low = _number_or_none(match.group(1))
        spans.append(match.span())
    if high is None and (match := _TEXT_MAX.search(text)):
        high = _number_or_none(match.group(1))
        spans.append(match.span())
    if low is not None and high is not None and low > high:
        low = high = None
    if match := _TEXT_STEP.search(text):
        step = _number_or_none(match.group(1))
        spans.append(match.span())
        if step is not None and step <= 0:
            step = None
    # Prose that also names a value outside its own range ("0 to 4294967295; -1 for
    # random") is not a plain range; refusing that value would be wrong, so trust neither bound.
    rest = "".join(" " if any(a <= i < b for a, b in spans) else c for i, c in enumerate(text))
    for word in _STANDALONE_NUMBER.findall(rest):
        number = _number_or_none(word)
        below = low is not None and number is not None and number < low - _tolerance(low)
        above = high is not None and number is not None and number > high + _tolerance(high)
        if below or above:
            return None, None, step
    return low, high, step


def _media_from_name(snake: str) -> tuple[str, ...]:
    if snake.startswith(_NOT_MEDIA_PREFIXES):
        return ()
    if _IMAGE_NAME.fullmatch(snake):
        return ("image",)
    if _VIDEO_NAME.fullmatch(snake):
        return ("video",)
    if _AUDIO_NAME.fullmatch(snake):
        return ("audio",)
    return ()


def _is_prompt_name(snake: str) -> bool:
    return snake in _PROMPT_NAMES or snake.endswith("_prompt")


def _snake(name: str) -> str:
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    return re.sub(r"[^0-9a-zA-Z]+", "_", s).strip("_").lower()


def _humanize(name: str) -> str:
    words = [_ACRONYMS.get(w, w) for w in _snake(name).split("_") if w]
    if not words:
        return name
    first = words[0]
    return " ".join([first if first.isupper() else first.capitalize(), *words[1:]])


def _type_word(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, list):  # JSON Schema's ["string", "null"]
        words = [v.strip() for v in value if isinstance(v, str) and v.strip() and v.strip().lower() != "null"]
        return words[0] if words else None
    return None


def _text_or_none(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _bool_or_none(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("true", "yes", "1", "on", "required", "y"):
            return True
        if word in ("false", "no", "0", "off", "optional", "n"):
            return False
    return None


def _number_or_none(value: Any) -> int | float | None:
    """A finite JSON number, or a numeric string read as one; bools and the rest are None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        # Beyond 64 bits no upstream takes it, and float arithmetic on it overflows.
        return value if abs(value) < _LARGEST_INT else None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str) and _NUMERIC_TEXT.fullmatch(value.strip()):
        text = value.strip()
        if re.fullmatch(r"[+-]?\d+", text):
            return int(text) if len(text) < 25 and abs(int(text)) < _LARGEST_INT else None
        number = float(text)
        return number if math.isfinite(number) else None
    return None


_LARGEST_INT = 2**63


def _length_or_none(value: Any) -> int | None:
    n = _number_or_none(value)
    return int(n) if n is not None and n >= 0 and float(n).is_integer() else None


def _is_scalar(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, (str, int, bool))


def _same(a: Any, b: Any) -> bool:
    """Equality that keeps True apart from 1 and "5" apart from 5."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, str) != isinstance(b, str):
        return False
    return a == b


def _display(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float, str)):
        return str(value)
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


# --------------------------------------------------------------------------- validating


def validate_payload(params: Sequence[Parameter], payload: object) -> tuple[dict[str, Any], dict[str, list[str]]]:
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
      http(s) URLs; parameters of unknown kind pass through unchanged.
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
            value, problems = _clean(param, _as_list(param, param.default) if param.multiple else param.default)
            # GMI's own default is trusted even where our reading of its rules disagrees.
            cleaned[param.name] = param.default if problems else value
            continue
        value, problems = _clean(param, value)
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
            longest = max((len(text) for text in _strings_in(value)), default=0)
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


def _clean(param: Parameter, value: Any) -> tuple[Any, list[str]]:
    if param.kind == "unknown":
        return value, []
    if not param.multiple:
        if isinstance(value, (list, tuple, Mapping)):
            return value, ["Must be a single value, not a list or object."]
        cleaned, problem = _clean_one(param, value)
        return cleaned, [problem] if problem else []
    items: list[Any] = []
    problems: list[str] = []
    for index, item in enumerate(value, start=1):
        if isinstance(item, (list, tuple, Mapping)):
            problems.append(f"Item {index}: must be a single value, not a list or object.")
            continue
        cleaned, problem = _clean_one(param, item)
        if problem:
            problems.append(f"Item {index}: {problem[0].lower()}{problem[1:]}")
        else:
            items.append(cleaned)
    return items, problems


def _clean_one(param: Parameter, value: Any) -> tuple[Any, str | None]:
    kind = param.kind
    if kind == "choice":
        return _clean_choice(param, value)
    if kind in ("text", "string"):
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            return value, "Must be text."
        text = value if isinstance(value, str) else _display(value)
        if param.max_length is not None and len(text) > param.max_length:
            return text, f"Must be at most {param.max_length} characters (it has {len(text)})."
        if param.min_length is not None and len(text.strip()) < param.min_length:
            return text, f"Must be at least {param.min_length} characters."
        return text, None
    if kind == "integer":
        number = value if not isinstance(value, str) else _number_or_none(value)
        if isinstance(number, float) and number.is_integer():
            number = int(number)
        if isinstance(number, bool) or not isinstance(number, int):
            return value, f"Must be a whole number, not {_quoted(value)}."
        return number, _range_problem(param, number)
    if kind == "number":
        number = _number_or_none(value)
        if number is None:
            return value, f"Must be a number, not {_quoted(value)}."
        return number, _range_problem(param, number)
    if kind == "boolean":
        flag = _bool_or_none(value)
        if flag is None:
            return value, "Must be true or false."
        return flag, None
    if kind in ("file", "url"):
        if isinstance(value, str) and _is_http_url(value.strip()):
            return value.strip(), None
        if kind == "file":
            return value, "Must be an http(s) URL: upload the file here or paste a public link."
        return value, "Must be an http(s) URL."
    return value, None


def _clean_choice(param: Parameter, value: Any) -> tuple[Any, str | None]:
    options = param.options
    for option in options:
        if _same(option, value):
            return option, None
    if isinstance(value, str):
        text = value.strip()
        for option in options:
            if _display(option) == text:
                return option, None
        folded = [o for o in options if _display(o).casefold() == text.casefold()]
        if len(folded) == 1:
            return folded[0], None
    number = _number_or_none(value)
    if number is not None:
        for option in options:
            other = _number_or_none(option)
            if other is not None and _close(other, number):
                return option, None
    flag = _bool_or_none(value) if isinstance(value, str) else None
    if flag is not None:
        for option in options:
            if isinstance(option, bool) and option == flag:
                return option, None
    return value, f"Must be one of: {_option_list(param)}."


def _option_list(param: Parameter, limit: int = 20) -> str:
    shown = [_display(o) for o in param.options[:limit]]
    text = ", ".join(shown)
    if len(param.options) > limit:
        text += f", … ({len(param.options)} in all)"
    return text


def _range_problem(param: Parameter, number: int | float) -> str | None:
    low, high = param.minimum, param.maximum
    too_low = low is not None and number < low - _tolerance(low)
    too_high = high is not None and number > high + _tolerance(high)
    if too_low or too_high:
        if low is not None and high is not None:
            return f"Must be between {_display(low)} and {_display(high)}."
        if too_low:
            return f"Must be at least {_display(low)}."
        return f"Must be at most {_display(high)}."
    if param.step:
        base = low if low is not None else 0
        ratio = (number - base) / param.step
        # Relative slack too: far from the base, float error grows with the ratio.
        if abs(ratio - round(ratio)) > max(1e-6, abs(ratio) * 1e-12):
            if low is not None:
                return f"Must be a multiple of {_display(param.step)} from {_display(low)}."
            return f"Must be a multiple of {_display(param.step)}."
    return None


def _tolerance(bound: int | float) -> float:
    # Bounds like 0.1 * 3 arrive as 0.30000000000000004; do not refuse those.
    return 1e-9 * max(1.0, abs(float(bound)))


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
    return _display(value)


# --------------------------------------------------------------------------- derived facts


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
        note = f"In steps of {_display(param.step)} from {_display(param.minimum)}."
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
        (p for p in params if _snake(p.name) in _DURATION_NAMES),
        key=lambda p: _DURATION_NAMES.index(_snake(p.name)),
    )
    if isinstance(payload, Mapping):
        for param in candidates:
            seconds = _seconds(payload.get(param.name))
            if seconds is not None:
                return seconds
        # With no (readable) schema, the payload's own keys are all there is.
        loose = [k for k in payload if isinstance(k, str) and _snake(k) in _DURATION_NAMES]
        for key in sorted(loose, key=lambda k: _DURATION_NAMES.index(_snake(k))):
            seconds = _seconds(payload[key])
            if seconds is not None:
                return seconds
    for param in candidates:
        seconds = _seconds(param.default)
        if seconds is not None:
            return seconds
    return None


def _close(a: int | float, b: int | float) -> bool:
    try:
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    except OverflowError:  # an integer beyond any float: only exact equality can match
        return a == b


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
    by_snake = {_snake(k): v for k, v in payload.items() if isinstance(k, str)}
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
        snake = _snake(key)
        if not include_negative and "negative" in snake:
            continue
        param = by_name.get(key)
        if param is None:
            # Keys outside a known schema are refused anyway; with no schema every
            # key goes to GMI, so all its free text counts (links excepted).
            if params or _media_from_name(snake) or _URL_NAME.fullmatch(snake):
                continue
        elif param.kind not in ("text", "string", "unknown"):
            continue
        order = 0 if _is_prompt_name(snake) else 1
        chunks.extend((order, text) for text in _strings_in(value))
    chunks.sort(key=lambda c: c[0])
    return "\n".join(text for _, text in chunks)


def _strings_in(value: Any, depth: int = 0) -> Iterator[str]:
    if depth > _MAX_DEPTH:
        return
    if isinstance(value, str):
        if value.strip():
            yield value.strip()
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from _strings_in(v, depth + 1)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings_in(v, depth + 1)


# --------------------------------------------------------------------------- built-in schemas

# The legacy queue API publishes no parameter schemas; this is its image-to-video input
# (SPEC 2.2), written in the request-queue API's raw list dialect so it goes through
# read_parameters like any catalogue entry. Copy it before changing it.
LEGACY_IMAGE_TO_VIDEO_PARAMETERS: list[dict[str, Any]] = [
    {
        "name": "prompt",
        "display_name": "Prompt",
        "description": "What should happen in the video.",
        "type": "string",
        "required": True,
    },
    {
        "name": "image_url",
        "display_name": "Image",
        "description": "The image to animate: upload one, or paste a public http(s) link.",
        "type": "string",
        "required": True,
    },
    {
        "name": "duration",
        "display_name": "Duration (seconds)",
        "description": "Length of the video in seconds.",
        "type": "string",
        "required": False,
        "default": "5",
        "options": ["5", "10"],
    },
    {
        "name": "aspect_ratio",
        "display_name": "Aspect ratio",
        "description": "Shape of the video: landscape, portrait or square.",
        "type": "string",
        "required": False,
        "default": "16:9",
        "options": ["16:9", "9:16", "1:1"],
    },
    {
        "name": "negative_prompt",
        "display_name": "Negative prompt",
        "description": "What the video should avoid.",
        "type": "string",
        "required": False,
        "default": "blur, distort, and low quality",
    },
    {
        "name": "seed_value",
        "display_name": "Seed",
        "description": "Digits that make a result repeatable; leave empty for a random one.",
        "type": "string",
        "required": False,
    },
]
