"""A logging filter that redacts the configured GMI key from every record, whoever logged it."""
from __future__ import annotations

import functools
import logging

from django.core.exceptions import ImproperlyConfigured

from .conf import app_settings
from .gmi.redaction import Redactor

_formatter = logging.Formatter()


@functools.lru_cache(maxsize=4)
def _redactor(key: str) -> Redactor:
    return Redactor([key])


class RedactGMIKey(logging.Filter):
    """Rewrites a record's message, traceback and stack without the GMI key (in any case, or partial).

    The ``gmi`` layer already redacts every upstream text; this catches what other code
    (a third-party library, a traceback's locals, a debug print of settings) might log.
    Attach it to every handler (``"filters": ["redact_gmi_key"]``): filters on a logger
    do not apply to records propagated from its children. Never drops a record.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        redactor = _redactor(_configured_key())
        if not redactor:
            return True
        message = record.getMessage()
        redacted = redactor.text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = _formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redactor.text(record.exc_text)
        if record.stack_info:
            record.stack_info = redactor.text(record.stack_info)
        return True


def _configured_key() -> str:
    try:
        return str(app_settings.API_KEY or "")
    except ImproperlyConfigured:  # settings not ready yet: nothing configured to redact
        return ""
