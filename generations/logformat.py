"""``LOG_FORMAT=json``: one JSON object per line, with the request's and the job's ids and any duration.

Fields: ``time`` (UTC, ISO 8601 with milliseconds), ``level``, ``logger``, ``message``,
``request_id``, ``user_id``, ``generation_id``, ``upstream_request_id`` (null when not
known; ``logfilters.AddContext`` sets them), ``duration_ms`` when the line timed something,
and ``exception`` with the traceback. Secrets are already gone: ``logfilters.RedactGMIKey``
runs on the handler before any formatter.
"""
from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

CONTEXT_FIELDS = ("request_id", "user_id", "generation_id", "upstream_request_id")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace(
                "+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            entry[name] = None if value is None else str(value) if name != "user_id" else value
        duration = getattr(record, "duration_ms", None)
        if duration is not None:
            entry["duration_ms"] = round(float(duration), 1)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        # default=str: a stray object in a message's arguments must not cost the line.
        return json.dumps(entry, ensure_ascii=False, default=str)
