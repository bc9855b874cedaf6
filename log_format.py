"""How log lines look: text for people, or one JSON object per line for log pipelines (LOG_FORMAT).

Both carry the request id of the request a line belongs to (see request_log.py). The
same formatters serve the app's lines and gunicorn's own (gunicorn.conf.py).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
# The attributes every LogRecord has; anything else on a record was passed as `extra`.
_RECORD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, and any extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(
            (key, value)
            for key, value in record.__dict__.items()
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_")
        )
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str)


def formatter(log_format: str) -> logging.Formatter:
    """The formatter for LOG_FORMAT ("text" or "json")."""
    if log_format == "json":
        return JsonFormatter()
    return logging.Formatter(TEXT_FORMAT, defaults={"request_id": "-"})


def configure(log_format: str) -> None:
    """INFO lines to stderr, unless the server or the test runner set logging up already."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(log_format))
    root.addHandler(handler)
    root.setLevel(logging.INFO)
