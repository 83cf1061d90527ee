"""JSON logs, one object per line on stdout, for Fluent-bit's `json` parser.

Each line has `time` (UTC, RFC 3339 with milliseconds), `level`, `service`, `logger` and
`message`; `exception` when one is logged; and any `extra={...}` fields the caller passed.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_HANDLER_NAME = "streamforge-json"


class JsonFormatter(logging.Formatter):
    """Format a record as one line of JSON."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            # "+00:00" -> "Z": what Fluent-bit's Time_Format %Y-%m-%dT%H:%M:%S.%LZ expects.
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and key not in entry:
                entry[key] = value
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(service: str, level: str = "INFO", stream: TextIO | None = None) -> None:
    """Send every log record (root logger) to `stream` (default stdout) as JSON lines.

    Idempotent: calling it again replaces the handler it installed before.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME:
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter(service))
    root.addHandler(handler)
    root.setLevel(level)
    # aiokafka logs every reconnect at INFO/ERROR; keep its INFO chatter out unless debugging.
    if logging.getLevelName(level) > logging.DEBUG:
        logging.getLogger("aiokafka").setLevel(logging.WARNING)
