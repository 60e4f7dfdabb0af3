"""A tolerant reader of GMI's parameter schemas: every dialect GMI and its guides use, read into ``Parameter``s."""
from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from .names import PLURAL_NAME, URL_NAME, is_prompt_name, media_from_name, snake_case
from .parameter import MEDIA_TYPES, Parameter
from .prose import range_from_text
from .values import MAX_DEPTH, bool_or_none, display, number_or_none, same_value

logger = logging.getLogger(__name__)

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
    if depth > MAX_DEPTH:
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
    snake = snake_case(name)

    label = e.first(_LABEL_KEYS, _text_or_none) or ""
    help_text = e.first(_HELP_KEYS, _text_or_none) or ""
    raw_type = e.first(_TYPE_KEYS, _type_word) or ""
    required = bool(e.first(_REQUIRED_KEYS, bool_or_none)) or required_hint
    optional = bool_or_none(data.get("optional"))
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
        if base is None and not options and not media_from_name(snake):
            base = "unknown"  # a list of we-know-not-what: passed through as given

    # With no type word at all, a typed default is the best evidence left.
    if base is None and not options:
        if isinstance(default, bool):
            base = "boolean"
        elif isinstance(default, int):
            base = "integer"
        elif isinstance(default, float):
            base = "number"

    name_media = media_from_name(snake)
    accept: tuple[str, ...] = ()
    if base == "file":
        kind = "file"
        accept = media or name_media or MEDIA_TYPES
        multiple = multiple or bool(PLURAL_NAME.fullmatch(snake))
    elif base == "boolean":
        kind = "boolean"
    elif options:
        kind = "choice"
    elif base in ("integer", "number"):
        kind = base
    elif base in (None, "string", "text", "url", "choice") and name_media:
        kind = "file"
        accept = name_media
        multiple = multiple or bool(PLURAL_NAME.fullmatch(snake))
    elif base == "url" or (base in (None, "string", "choice") and URL_NAME.fullmatch(snake)):
        kind = "url"
        multiple = multiple or bool(PLURAL_NAME.fullmatch(snake))
    elif base == "text" or (
        base in (None, "string", "choice") and (is_prompt_name(snake) or (max_length or 0) >= 256)
    ):
        kind = "text"
    elif base in ("string", "choice") or (base is None and isinstance(default, str)):
        kind = "string"
    else:
        kind = "unknown"

    minimum = e.first(_MIN_KEYS, number_or_none)
    maximum = e.first(_MAX_KEYS, number_or_none)
    step = e.first(_STEP_KEYS, lambda v: n if (n := number_or_none(v)) is not None and n > 0 else None)
    if minimum is not None and maximum is not None and minimum > maximum:
        # Contradictory bounds enforce nothing sensible; keep them visible in extra.
        e.used.difference_update(_MIN_KEYS + _MAX_KEYS)
        minimum = maximum = None
    if kind in ("integer", "number") and help_text:
        text_min, text_max, text_step = range_from_text(help_text)
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
                pairs.append((item, display(item)))
            elif isinstance(item, Mapping):
                key = next((k for k in ("value", "const", "id", "key", "name") if k in item), None)
                if key is None or not _is_scalar(item[key]):
                    continue
                label = next(
                    (item[k] for k in ("label", "display_name", "displayName", "title", "name", "text")
                     if k != key and isinstance(item.get(k), str) and item[k].strip()),
                    None,
                )
                pairs.append((item[key], label.strip() if label else display(item[key])))
    else:
        return None
    unique: list[tuple[Any, str]] = []
    for v, label in pairs:
        if not any(same_value(v, u) for u, _ in unique):
            unique.append((v, label))
    if not unique:
        return None
    return tuple(v for v, _ in unique), tuple(label for _, label in unique)


def _type_word(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, list):  # JSON Schema's ["string", "null"]
        words = [v.strip() for v in value if isinstance(v, str) and v.strip() and v.strip().lower() != "null"]
        return words[0] if words else None
    return None


def _text_or_none(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _length_or_none(value: Any) -> int | None:
    n = number_or_none(value)
    return int(n) if n is not None and n >= 0 and float(n).is_integer() else None


def _is_scalar(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, (str, int, bool))
