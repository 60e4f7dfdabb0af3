"""Tolerant readers of GMI's JSON: the several spellings its undocumented answers come in, for both API generations.

Every place that interprets vendor words (status names, error keys, outcome shapes,
"content policy" in a refusal) is here, so the mapping to one vocabulary has one home.
"""
from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from .errors import ErrorCode, UpstreamUnavailable
from .objects import RemoteState

_POLICY_WORDS = re.compile(r"policy|safety", re.IGNORECASE)

_STATES: dict[str, RemoteState] = {
    **dict.fromkeys(("queued", "pending", "in_queue"), RemoteState.QUEUED),
    "dispatched": RemoteState.DISPATCHED,
    **dict.fromkeys(("processing", "running", "in_progress"), RemoteState.PROCESSING),
    **dict.fromkeys(("success", "succeeded", "completed", "complete", "done"), RemoteState.SUCCEEDED),
    **dict.fromkeys(("failed", "failure", "error"), RemoteState.FAILED),
    **dict.fromkeys(("cancelled", "canceled"), RemoteState.CANCELLED),
}
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif")
_VIDEO_KEYS = ("video_url", "video_urls", "video", "videos", "url")
_THUMBNAIL_KEYS = ("thumbnail_image_url", "thumbnail_url", "thumbnail", "cover_image_url")
_MEDIA_LIST_KEYS = ("media_urls", "media", "outputs")


def normalize_status(word: Any) -> RemoteState:
    """GMI's status word (either API generation, any case) as a ``RemoteState``.

    Words we do not know mean "still running" (UNKNOWN), never an error.
    """
    key = str(word or "").strip().lower().replace("-", "_").replace(" ", "_")
    return _STATES.get(key, RemoteState.UNKNOWN)


def mentions_content_policy(text: str) -> bool:
    """Whether GMI's refusal or failure text blames its content policy ("policy", "safety")."""
    return bool(_POLICY_WORDS.search(text or ""))


def failure_code(text: str) -> ErrorCode:
    """The normalized code of a job that ran and failed, from GMI's reason."""
    return ErrorCode.CONTENT_POLICY if mentions_content_policy(text) else ErrorCode.GENERATION_FAILED


def message_from(data: Any) -> str:
    """Error text from a decoded body, in the shapes GMI and its gateways use."""
    if isinstance(data, str):
        return data
    if isinstance(data, list):
        # FastAPI-style validation errors: [{"loc": [...], "msg": "..."}]
        return "; ".join(filter(None, (message_from(item) for item in data)))
    if isinstance(data, dict):
        for key in ("error", "message", "detail", "msg", "error_message"):
            value = data.get(key)
            if value:
                return message_from(value)
    return ""


def parse_time(value: Any) -> datetime | None:
    """An aware datetime from epoch seconds (int, float or numeric string; milliseconds
    are recognised by size) or an ISO-8601 string; None for anything else."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            value = float(text)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError:
                return None
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if isinstance(value, (int, float)):
        seconds = float(value)
        if seconds > 1e11:  # too far in the future for seconds: milliseconds
            seconds /= 1000
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return None


def outcome_media(outcome: Any) -> tuple[tuple[str, ...], str | None]:
    """Video URLs and a thumbnail URL from an outcome in any of GMI's shapes.

    Flat ``{"video_url", "thumbnail_image_url"}``, ``{"video": {"url"}}``, or the envelope
    ``{"media_urls": [{"id", "url"} | "url", ...]}`` whose entries are told apart by their
    type hints or, failing that, by file extension. Unknown keys are ignored.
    """
    if isinstance(outcome, (str, list)):
        outcome = {"media_urls": outcome if isinstance(outcome, list) else [outcome]}
    if not isinstance(outcome, dict):
        return (), None
    videos: list[str] = []
    images: list[str] = []
    for keys, forced in ((_VIDEO_KEYS, "video"), (_THUMBNAIL_KEYS, "image"), (_MEDIA_LIST_KEYS, "")):
        for key in keys:
            for entry in _as_list(outcome.get(key)):
                url, kind = _url_and_kind(entry)
                if url:
                    (images if (forced or kind) == "image" else videos).append(url)
    return tuple(dict.fromkeys(videos)), (images[0] if images else None)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _url_and_kind(entry: Any) -> tuple[str | None, str]:
    """(URL, "video" | "image") of one media entry; the URL is None if there is none."""
    hint = ""
    if isinstance(entry, dict):
        hint = " ".join(str(entry.get(key) or "") for key in ("type", "mime_type", "content_type", "kind")).lower()
        entry = entry.get("url") or entry.get("uri")
    if not isinstance(entry, str) or not entry.strip().lower().startswith(("http://", "https://")):
        return None, ""
    url = entry.strip()
    if "image" in hint or (not hint and url.split("?", 1)[0].lower().endswith(_IMAGE_SUFFIXES)):
        return url, "image"
    return url, "video"


# Shape errors name the keys they saw rather than quoting bodies, which keeps them short
# and free of anything sensitive.


def describe_keys(body: Any) -> str:
    return ", ".join(map(str, body)) if isinstance(body, dict) else type(body).__name__


def as_object(body: Any, what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise UpstreamUnavailable(
            f"GMI sent an unexpected {what} answer: {describe_keys(body)}, not an object", code=ErrorCode.BAD_RESPONSE
        )
    return body


def list_in(body: Any, *keys: str) -> list[Any]:
    """The list in a bare-list answer or under the first of ``keys`` holding one."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        for key in keys:
            if isinstance(body.get(key), list):
                return body[key]
    raise UpstreamUnavailable(
        f"GMI sent an unexpected list answer (keys: {describe_keys(body)})", code=ErrorCode.BAD_RESPONSE
    )


def first_of(data: Any, *keys: str) -> Any:
    if not isinstance(data, dict):
        return None
    return next((data[key] for key in keys if data.get(key) not in (None, "")), None)


def model_id_of(entry: Any) -> str:
    """A model id from a catalogue entry: a bare string or an object naming it."""
    return entry if isinstance(entry, str) else str(first_of(entry, "id", "model", "model_id", "name") or "")
