"""The schema-driven parameter form of the submit page: which control each parameter gets, and its values as JSON.

Forms only parse and convert input. Whether a payload is acceptable is decided by
``services.submissions`` (through ``gmi.schema.validate_payload``), whose per-field
errors the views attach back to these forms.
"""
from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from django import forms

from .. import media
from ..gmi.schema import Parameter

# The name the module had before forms became a package, so logging settings keep matching.
logger = logging.getLogger("generations.forms")

#: MIME types and extensions the upload API takes, per media kind (SPEC 2.1: jpeg, png, mp4, mp3, wav).
ACCEPT_BY_MEDIA = {kind: media.accepted_of_kind(kind) for kind in ("image", "video", "audio")}
ACCEPT_BY_FILE_TYPE = {file_type: media.accepted(file_type) for file_type in media.FORMATS}
FREEFORM_PROMPT = "prompt"
FREEFORM_EXTRA = "__payload_json"
UPLOAD_SUFFIX = "__file"
_INTEGER_TEXT = re.compile(r"[+-]?\d+")

#: The HTML control each parameter kind gets, before lists are taken into account.
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


def widget_for(param: Parameter) -> str:
    """The form control that fits a parameter: textarea, select, number, checkbox, file, url or text."""
    if param.multiple and param.kind not in ("file", "choice", "unknown"):
        # A list of URLs or numbers does not fit a single-value control.
        return "textarea" if param.kind in ("url", "text") else "text"
    return _WIDGETS.get(param.kind, "text")


def json_text(value: Any) -> str:
    """A value as JSON text: how select options travel, so ``"5"`` and ``5`` stay apart."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def display_value(value: Any) -> str:
    """A payload value as a person would type it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (str, int, float)):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def accept_attribute(param: Parameter) -> str:
    """The ``accept`` of a file input: the file types the schema names, else those of its media kinds."""
    file_types = param.extra.get("file_types") or param.extra.get("accept") or param.extra.get("formats")
    found: list[str] = []
    if isinstance(file_types, (list, tuple)):
        for item in file_types:
            found.extend(ACCEPT_BY_FILE_TYPE.get(str(item).lower().lstrip("."), ()))
    if not found:
        for media in param.accept or ACCEPT_BY_MEDIA:
            found.extend(ACCEPT_BY_MEDIA.get(media, ()))
    return ",".join(dict.fromkeys(found))


def _number_text(value: Any) -> str:
    return display_value(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else ""


def _hint(param: Parameter) -> str:
    """A short line about the value's rules that the schema's own description may not say."""
    parts = []
    if param.kind in ("integer", "number") and not param.multiple:
        if param.minimum is not None and param.maximum is not None:
            parts.append(f"{display_value(param.minimum)} to {display_value(param.maximum)}")
        elif param.minimum is not None:
            parts.append(f"at least {display_value(param.minimum)}")
        elif param.maximum is not None:
            parts.append(f"at most {display_value(param.maximum)}")
        if param.step:
            parts.append(f"step {display_value(param.step)}")
    if param.multiple:
        widget = widget_for(param)
        if param.kind in ("file", "url"):
            parts.append("one link per line")
        elif widget == "textarea":
            parts.append("one per line")
        elif widget == "text" and param.kind != "unknown":
            parts.append("separate values with commas")
    if param.kind == "unknown":
        parts.append(f"type {param.raw_type!r}, sent as typed" if param.raw_type else "sent as typed")
    if param.default is not None and param.kind != "boolean":
        parts.append(f"default {display_value(param.default)}")
    return "; ".join(parts)


class ParameterForm(forms.Form):
    """A form built only from a model's parameters (``gmi.schema.read_parameters``).

    Widgets follow ``widget_for``: textarea, select, number (min/max/step),
    checkbox, file-or-URL, URL and a plain text input for anything unknown. Fields
    are lenient: they keep what the user typed, and ``payload()`` converts it to
    JSON types. With no readable parameters the form offers a prompt and a JSON
    object of extra parameters, so a model with a broken schema stays usable.
    """

    prefix = "p"

    def __init__(self, params: Sequence[Parameter], *args: Any, payload: Mapping[str, Any] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params = list(params)
        self.by_name = {p.name: p for p in self.params}
        self.freeform = not self.params
        payload = payload if isinstance(payload, Mapping) else None
        if self.freeform:
            self._add_freeform_fields(payload)
            return
        for param in self.params:
            try:
                field = self._field_for(param)
                field.initial = self._initial_for(param, field, payload)
            except Exception:  # a schema we misread must cost one control, never the page
                logger.warning("Falling back to a text input for parameter %s", param.name, exc_info=True)
                field = forms.CharField(required=False, label=param.label or param.name)
                field.gmi_widget, field.gmi_widget_kind = "text", "unknown"
            field.gmi_param = param
            field.gmi_hint = _safe_hint(param)
            field.widget.attrs.update({"data-param": param.name, "data-kind": field.gmi_widget_kind})
            if param.kind == "file":
                field.gmi_upload_name = self.add_prefix(param.name + UPLOAD_SUFFIX)
                field.gmi_accept = _safe_accept(param)
            if param.required:
                field.widget.attrs["aria-required"] = "true"
            self.fields[param.name] = field

    # ------------------------------------------------------------------ building

    def _field_for(self, param: Parameter) -> forms.Field:
        widget = widget_for(param)
        label = param.label or param.name
        # Browsers may block only what they can check themselves; a file field can be met by an upload.
        browser_required = param.required and param.default is None and param.kind != "file"
        attrs: dict[str, Any] = {"required": True} if browser_required else {}
        if widget == "select":
            choices = [(json_text(value), text) for value, text in param.choices]
            if param.multiple:
                field: forms.Field = forms.MultipleChoiceField(
                    choices=choices, required=False, label=label, widget=forms.SelectMultiple(attrs=attrs))
                field.gmi_widget_kind = "select-multiple"
            else:
                blank = "Choose…" if param.required and param.default is None else "Default"
                if param.default is None or not param.required:
                    choices = [("", blank), *choices]
                field = forms.ChoiceField(
                    choices=choices, required=False, label=label, widget=forms.Select(attrs=attrs)
                )
                field.gmi_widget_kind = "select"
        elif widget == "checkbox":
            field = forms.BooleanField(required=False, label=label)
            field.gmi_widget_kind = "boolean"
        elif widget == "number":
            attrs["step"] = _number_text(param.step) or ("1" if param.kind == "integer" else "any")
            if param.minimum is not None:
                attrs["min"] = _number_text(param.minimum)
            if param.maximum is not None:
                attrs["max"] = _number_text(param.maximum)
            attrs["inputmode"] = "numeric" if param.kind == "integer" else "decimal"
            field = forms.CharField(required=False, label=label, widget=forms.NumberInput(attrs=attrs))
            field.gmi_widget_kind = param.kind  # "integer" or "number"
        elif widget in ("file", "url") or param.kind == "url":
            # Files arrive as URLs too (uploaded first, or pasted); only the hint differs.
            placeholder = "https://… or upload a file" if widget == "file" else "https://…"
            attrs.update({"placeholder": placeholder, "autocomplete": "off"})
            if param.multiple:
                field = forms.CharField(required=False, label=label, widget=forms.Textarea(attrs={**attrs, "rows": 2}))
                field.gmi_widget_kind = "url-list"
            else:
                field = forms.CharField(required=False, label=label, widget=forms.URLInput(attrs=attrs))
                field.gmi_widget_kind = "url"
        elif widget == "textarea":
            if param.max_length:
                # A counter, not maxlength: a pasted prompt is refused with a message, never cut silently.
                attrs["data-max-chars"] = param.max_length
            field = forms.CharField(required=False, label=label, strip=False,
                                    widget=forms.Textarea(attrs={**attrs, "rows": 4 if param.kind == "text" else 2}))
            field.gmi_widget_kind = "url-list" if param.multiple and param.kind == "url" else (
                "text-list" if param.multiple else "text")
        else:
            if param.max_length and not param.multiple:
                attrs["data-max-chars"] = param.max_length
            field = forms.CharField(required=False, label=label, widget=forms.TextInput(attrs=attrs))
            if param.kind == "unknown":
                field.gmi_widget_kind = "unknown"
            elif param.multiple:
                field.gmi_widget_kind = {"integer": "integer-list", "number": "number-list",
                                         "boolean": "boolean-list"}.get(param.kind, "text-csv")
            else:
                field.gmi_widget_kind = "text"
        field.gmi_widget = widget
        field.help_text = param.help
        return field

    def _initial_for(self, param: Parameter, field: forms.Field, payload: Mapping[str, Any] | None) -> Any:
        value = payload.get(param.name) if payload is not None and param.name in payload else param.default
        if value is None:
            return None
        kind = field.gmi_widget_kind
        if kind == "boolean":
            return bool(value) if isinstance(value, bool) else str(value).strip().lower() in ("1", "true", "yes", "on")
        if kind == "select":
            return self._option_key(param, value)
        if kind == "select-multiple":
            values = value if isinstance(value, (list, tuple)) else [value]
            return [key for key in (self._option_key(param, v) for v in values) if key]
        if kind in ("url-list", "text-list") and isinstance(value, (list, tuple)):
            return "\n".join(display_value(v) for v in value)
        if (kind.endswith("-list") or kind == "text-csv") and isinstance(value, (list, tuple)):
            return ", ".join(display_value(v) for v in value)
        return display_value(value)

    @staticmethod
    def _option_key(param: Parameter, value: Any) -> str:
        keys = [json_text(option) for option in param.options]
        if json_text(value) in keys:
            return json_text(value)
        for option in param.options:  # "5" where the option is 5, and the like
            if display_value(option) == display_value(value):
                return json_text(option)
        return ""

    def _add_freeform_fields(self, payload: Mapping[str, Any] | None) -> None:
        payload = dict(payload or {})
        prompt = payload.pop(FREEFORM_PROMPT, "")
        field = forms.CharField(required=False, label="Prompt", strip=False,
                                widget=forms.Textarea(attrs={"rows": 4, "data-param": FREEFORM_PROMPT,
                                                             "data-kind": "text"}))
        field.initial = display_value(prompt)
        field.gmi_widget = "textarea"
        field.gmi_hint = ""
        self.fields[FREEFORM_PROMPT] = field
        extra = forms.CharField(
            required=False, label="Other parameters (JSON object)",
            help_text='This model publishes no readable parameter list. Add parameters as JSON, '
                      'for example {"duration": 5}.',
            widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "data-kind": "payload-json",
                                         "class": "gmi-mono"}),
        )
        extra.initial = json.dumps(payload, indent=2, ensure_ascii=False) if payload else ""
        extra.gmi_widget = "textarea"
        extra.gmi_hint = ""
        self.fields[FREEFORM_EXTRA] = extra

    # ------------------------------------------------------------------ reading

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if self.freeform:
            text = (cleaned.get(FREEFORM_EXTRA) or "").strip()
            if text:
                try:
                    extra = json.loads(text)
                except json.JSONDecodeError as exc:
                    self.add_error(FREEFORM_EXTRA, f"This is not valid JSON: {exc.msg} (line {exc.lineno}).")
                else:
                    if not isinstance(extra, dict):
                        self.add_error(FREEFORM_EXTRA, 'Write a JSON object, such as {"duration": 5}.')
        return cleaned

    def payload(self) -> dict[str, Any]:
        """The JSON payload the form describes. Blank values are left out, so GMI's defaults apply."""
        if self.freeform:
            payload: dict[str, Any] = {}
            text = (self.cleaned_data.get(FREEFORM_EXTRA) or "").strip()
            if text:
                payload.update(json.loads(text))
            prompt = self.cleaned_data.get(FREEFORM_PROMPT) or ""
            if prompt.strip():
                payload[FREEFORM_PROMPT] = prompt
            return payload
        payload = {}
        for name, field in self.fields.items():
            value = _convert(field.gmi_widget_kind, self.cleaned_data.get(name))
            if value is not None:
                payload[name] = value
        return payload

    def uploads(self, files: Any) -> dict[str, list[Any]]:
        """Files chosen for file parameters when the page posted them itself (no JavaScript)."""
        found: dict[str, list[Any]] = {}
        if files is None:
            return found
        for param in self.params:
            if param.kind != "file":
                continue
            chosen = [f for f in files.getlist(self.upload_name(param.name)) if f]
            if chosen:
                found[param.name] = chosen if param.multiple else chosen[:1]
        return found

    def upload_name(self, name: str) -> str:
        return self.add_prefix(name + UPLOAD_SUFFIX)

    def add_service_errors(self, errors: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
        """Attach the service's per-parameter messages to their fields; return those with no field."""
        left: dict[str, list[str]] = {}
        for name, messages in errors.items():
            messages = [str(m) for m in (messages if isinstance(messages, (list, tuple)) else [messages])]
            if name in self.fields and name != FREEFORM_EXTRA:
                for message in messages:
                    self.add_error(name, message)
            elif self.freeform and name not in self.fields:
                for message in messages:
                    self.add_error(FREEFORM_EXTRA, f"{name}: {message}")
            else:
                left[name] = messages
        return left

    def rows(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields]


def _safe_accept(param: Parameter) -> str:
    try:
        return accept_attribute(param)
    except Exception:
        return ""


def _safe_hint(param: Parameter) -> str:
    try:
        return _hint(param)
    except Exception:
        return ""


def _convert(kind: str, value: Any) -> Any:
    """One field's input as a JSON value, or None to leave the parameter out."""
    if kind == "boolean":
        return bool(value)
    if kind == "select":
        return json.loads(value) if value else None
    if kind == "select-multiple":
        return [json.loads(v) for v in value] if value else None
    if value is None:
        return None
    text = str(value)
    if not text.strip():
        return None
    if kind == "integer":
        return _to_number(text.strip(), integer=True)
    if kind == "number":
        return _to_number(text.strip(), integer=False)
    if kind == "url":
        return text.strip()
    if kind == "url-list":
        return text.split()
    if kind == "text-list":
        return [line.strip() for line in text.splitlines() if line.strip()]
    if kind == "text-csv":
        return [part.strip() for part in text.split(",") if part.strip()]
    if kind in ("integer-list", "number-list"):
        return [_to_number(part.strip(), integer=kind == "integer-list") for part in text.split(",") if part.strip()]
    if kind == "boolean-list":
        return [part.strip() for part in text.split(",") if part.strip()]
    if kind == "unknown":
        stripped = text.strip()
        if stripped[:1] in "[{":
            try:
                return json.loads(stripped)
            except ValueError:
                pass
        return text
    return text


def _to_number(text: str, *, integer: bool) -> Any:
    """A number where the text is one (whole numbers as ints); otherwise the text, which the service explains."""
    if _INTEGER_TEXT.fullmatch(text):
        return int(text)
    try:
        number = float(text)
    except ValueError:
        return text
    if not math.isfinite(number):
        return text
    return int(number) if integer and number.is_integer() else number
