"""Log lines as an operator-sdk operator writes them: logr over zap's development console.

controller-runtime's `zap.New(zap.UseDevMode(true))` writes one line per entry: the time
(ISO 8601 with milliseconds and zone), the level in capitals, the logger's name, the
message, and the key/value pairs as a JSON object, tab-separated:

    2020-10-02T15:09:07.588+0900	INFO	controllers.Memcached	Creating a new Deployment	{"memcached": "default/memcached-sample", "Deployment.Namespace": "default", "Deployment.Name": "memcached-sample"}

`log_values` puts the message and the pairs into a `logging` record (so any formatter shows
them, and they are also on the record as `zap_fields`); `ZapConsoleFormatter` adds the time,
level and name in front.
"""

from __future__ import annotations

import datetime
import json
import logging
from typing import Any

FIELDS_ATTRIBUTE = "zap_fields"
"""The record attribute holding the key/value pairs, for handlers that want them as data."""

_LEVELS = {"WARNING": "WARN", "CRITICAL": "DPANIC"}


def encode_fields(values: dict[str, Any]) -> str:
    """Key/value pairs as zap's console encoder writes them: `{"k": "v", "n": 1}`."""
    return json.dumps(values, ensure_ascii=False, default=str)


def log_values(logger: logging.Logger, level: int, message: str, **values: Any) -> None:
    """Log `message` with logr-style key/value pairs (`log.Info(msg, "k", v, ...)`)."""
    if not logger.isEnabledFor(level):
        return
    text = f"{message}\t{encode_fields(values)}" if values else message
    logger.log(level, "%s", text, extra={FIELDS_ATTRIBUTE: dict(values)})


def zap_time(created: float) -> str:
    """zap's ISO8601TimeEncoder: `2006-01-02T15:04:05.000Z0700`."""
    moment = datetime.datetime.fromtimestamp(created).astimezone()
    offset = moment.utcoffset() or datetime.timedelta(0)
    zone = "Z" if offset == datetime.timedelta(0) else moment.strftime("%z")
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}{zone}"


class ZapConsoleFormatter(logging.Formatter):
    """Formats records as zap's development console encoder does (see the module doc)."""

    def format(self, record: logging.LogRecord) -> str:
        level = _LEVELS.get(record.levelname, record.levelname)
        line = f"{zap_time(record.created)}\t{level}\t{record.name}\t{record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line
