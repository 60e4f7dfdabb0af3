"""What members read: statuses, failures and sizes in plain words, and URLs with their query strings redacted."""
from __future__ import annotations

import re
from typing import Any

from .net.errors import redact_url

#: A status as a person says it; the API keeps the values (``queued``, ``dispatched`` …).
STATUS_WORDS = {
    "queued": "Waiting in line",
    "dispatched": "Starting",
    "processing": "Rendering",
    "mirroring": "Saving",
    "succeeded": "Ready",
    "failed": "Failed",
    "cancelled": "Cancelled",
}

#: A failed job's normalized error code, as a sentence and what to do next. A failed or
#: cancelled job always gives its usage back (lifecycle.transition refunds it).
FAILURE_WORDS = {
    "content_policy": "GMI refused this prompt under its content policy — your credits were returned. "
                      "Reword the prompt and try again.",
    "upstream_rejected": "GMI refused this request — your credits were returned. "
                         "Check the parameters and try again.",
    "upstream_failed": "GMI could not make this video — your credits were returned. "
                       "Run it again; another seed or wording may help.",
    "upstream_lost": "GMI lost track of this job — your credits were returned. Run it again.",
    "timeout": "GMI took too long, so the job was stopped — your credits were returned. Try again later.",
    "no_output": "GMI finished without a video — your credits were returned. Run it again.",
    "unconfirmed": "GMI never confirmed it received this job — your credits were returned. Run it again.",
    "mirror_refused": "The finished video could not be saved here — your credits were returned. Run it again.",
    "mirror_failed": "The finished video could not be saved here — your credits were returned. Run it again.",
}
FAILURE_FALLBACK = "This video could not be made — your credits were returned. Run it again."
CANCELLED_WORDS = "Cancelled — your credits were returned."

_URL = re.compile(r"""https?://[^\s<>"'`]+""", re.IGNORECASE)


def status_words(status: str) -> str:
    return STATUS_WORDS.get(status, status.replace("_", " ").capitalize())


def failure_words(generation: Any) -> str:
    """What a member reads about a generation that did not finish (empty while it has not failed or been cancelled)."""
    if generation.status == "cancelled":
        return CANCELLED_WORDS
    if generation.status != "failed":
        return ""
    return FAILURE_WORDS.get(generation.error_code or "", FAILURE_FALLBACK)


def redact_urls(text: str) -> str:
    """``text`` with every URL's credentials, query string and fragment removed (signed URLs carry keys there)."""
    if not text:
        return text
    return _URL.sub(lambda match: _redact_one(match.group(0)), str(text))


def _redact_one(url: str) -> str:
    trail = ""
    while url and url[-1] in ".,;:)]}!":  # punctuation closing the sentence, not the URL
        trail = url[-1] + trail
        url = url[:-1]
    redacted = redact_url(url)
    return redacted + ("?…" if redacted != url and ("?" in url or "#" in url) else "") + trail


def file_size(size: Any) -> str:
    """Bytes as B, KB or MB (decimal, as a file manager shows them)."""
    try:
        value = int(size)
    except (TypeError, ValueError):
        return ""
    if value < 1000:
        return f"{value} B"
    if value < 1_000_000:
        return f"{value / 1000:.0f} KB"
    if value < 1_000_000_000:
        return f"{value / 1_000_000:.1f} MB".replace(".0 MB", " MB")
    return f"{value / 1_000_000_000:.1f} GB".replace(".0 GB", " GB")
