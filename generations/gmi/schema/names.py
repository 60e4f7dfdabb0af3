"""What a parameter's name says: its snake-case form, a human label, and whether it names media, links or a prompt."""
from __future__ import annotations

import re

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
URL_NAME = re.compile(r"(?:.+_)?(?:url|urls|uri|uris|link|links|href)")
PLURAL_NAME = re.compile(r".*(?:images|imgs|photos|pictures|videos|audios|urls|uris|links|_list|_files)")
_PROMPT_NAMES = frozenset(("prompt", "text", "caption", "text_prompt", "prompt_text", "input_text"))
_ACRONYMS = {"url": "URL", "uri": "URI", "id": "ID", "fps": "FPS", "cfg": "CFG", "ai": "AI"}


def media_from_name(snake: str) -> tuple[str, ...]:
    """The media kind a snake-case name points at (``image_url`` → image), or () for none."""
    if snake.startswith(_NOT_MEDIA_PREFIXES):
        return ()
    if _IMAGE_NAME.fullmatch(snake):
        return ("image",)
    if _VIDEO_NAME.fullmatch(snake):
        return ("video",)
    if _AUDIO_NAME.fullmatch(snake):
        return ("audio",)
    return ()


def is_prompt_name(snake: str) -> bool:
    """Whether a snake-case name is a prompt (``prompt``, ``text``, ``*_prompt`` ...)."""
    return snake in _PROMPT_NAMES or snake.endswith("_prompt")


def snake_case(name: str) -> str:
    """``durationSeconds``, ``Duration-Seconds`` and ``duration_seconds`` all as ``duration_seconds``."""
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    return re.sub(r"[^0-9a-zA-Z]+", "_", s).strip("_").lower()


def humanize(name: str) -> str:
    """A label for a bare parameter name: ``imageURL`` → "Image URL"."""
    words = [_ACRONYMS.get(w, w) for w in snake_case(name).split("_") if w]
    if not words:
        return name
    first = words[0]
    return " ".join([first if first.isupper() else first.capitalize(), *words[1:]])
