"""The normalized description of one model parameter that the rest of the schema package works on."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .names import humanize
from .values import display

KINDS = ("text", "string", "integer", "number", "boolean", "choice", "file", "url", "unknown")
MEDIA_TYPES = ("image", "video", "audio")


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
            object.__setattr__(self, "label", humanize(self.name))
        if len(self.option_labels) != len(self.options):
            object.__setattr__(self, "option_labels", tuple(display(o) for o in self.options))

    @property
    def choices(self) -> tuple[tuple[Any, str], ...]:
        """(value, label) pairs for a select."""
        return tuple(zip(self.options, self.option_labels, strict=False))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description for APIs and form builders (``raw`` is left out; ``extra`` is kept)."""
        return {
            "name": self.name,
            "label": self.label,
            "help": self.help,
            "kind": self.kind,
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
