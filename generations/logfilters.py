"""Logging filters on every handler: secrets out of every record, and the request's and job's ids onto it."""
from __future__ import annotations

import functools
import logging
import re

from django.core.exceptions import ImproperlyConfigured

from . import log_context, request_context
from .conf import app_settings
from .gmi.redaction import REDACTED, Redactor

_formatter = logging.Formatter()

#: Secrets with a shape of their own, whoever logs them: personal API tokens, webhook
#: secrets, bearer credentials, and the query of a signed URL (S3, GCS, CloudFront...).
SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bgmi_[A-Za-z0-9_-]{20,}"), REDACTED),
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=_-]{8,}"), REDACTED),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 " + REDACTED),
    (re.compile(r"(?i)\b(token|api_key|apikey|secret|password)([\"']?\s*[=:]\s*[\"']?)[^\s\"'&,;]{8,}"),
     r"\1\2" + REDACTED),
    (re.compile(r"(?i)(https?://[^\s?#\"'<>]+)\?[^\s\"'<>]*"
                r"(?:signature|x-amz-credential|x-goog-credential|sig=|token=|expires=|key-pair-id)[^\s\"'<>]*"),
     r"\1?" + REDACTED),
)
#: The generation a line is about, when its message follows the app's "generation <id>: ..." convention.
_GENERATION_IN_MESSAGE = re.compile(r"\bgeneration ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b")


@functools.lru_cache(maxsize=4)
def _redactor(key: str) -> Redactor:
    return Redactor([key])


def redact(text: str) -> str:
    """``text`` without the configured GMI key nor any secret of a known shape."""
    redactor = _redactor(_configured_key())
    if redactor:
        text = redactor.text(text)
    for pattern, replacement in SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactGMIKey(logging.Filter):
    """Rewrites a record's message, traceback and stack without the GMI key (in any case, or partial),
    personal tokens, webhook secrets, bearer credentials and signed URLs' queries.

    The ``gmi`` layer already redacts every upstream text; this catches what other code
    (a third-party library, a traceback's locals, a debug print of settings) might log.
    Attach it to every handler (``"filters": ["redact_gmi_key"]``): filters on a logger
    do not apply to records propagated from its children. Never drops a record.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = _formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class AddContext(logging.Filter):
    """Puts ``request_id``, ``user_id``, ``generation_id`` and ``upstream_request_id`` on every record.

    Values given with ``extra=`` win; then the bound job (``log_context``) and request
    (``request_context``); then a "generation <uuid>" in the message itself.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        request = request_context.current()
        job = log_context.current()
        if not getattr(record, "request_id", None):
            record.request_id = request.request_id or None
        if getattr(record, "user_id", None) is None:
            record.user_id = request.user_id
        if not getattr(record, "generation_id", None):
            found = _GENERATION_IN_MESSAGE.search(record.getMessage()) if job is None else None
            record.generation_id = job.generation_id if job is not None else (found.group(1) if found else None)
        if not getattr(record, "upstream_request_id", None):
            record.upstream_request_id = (job.upstream_request_id or None) if job is not None else None
        return True


def _configured_key() -> str:
    try:
        return str(app_settings.API_KEY or "")
    except ImproperlyConfigured:  # settings not ready yet: nothing configured to redact
        return ""
