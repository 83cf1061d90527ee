"""streamforge_utils JSON logs: one JSON object per line, the fields Fluent-bit parses."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from streamforge_utils import configure_logging

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """configure_logging into a buffer; the root logger is put back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    aiokafka_level = logging.getLogger("aiokafka").level
    buffer = io.StringIO()
    configure_logging("orders", "DEBUG", stream=buffer)
    yield buffer
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("aiokafka").setLevel(aiokafka_level)


def lines(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_one_json_object_per_line(stream: io.StringIO) -> None:
    log = logging.getLogger("orders.handler")
    log.info("order %s accepted", 42, extra={"order_id": 42, "topic": "orders"})
    log.warning("multi\nline — ünïcode")
    first, second = lines(stream)
    assert first.keys() == {"time", "level", "service", "logger", "message", "order_id", "topic"}
    assert TIME.match(str(first["time"]))
    assert first["level"] == "info"
    assert first["service"] == "orders"
    assert first["logger"] == "orders.handler"
    assert first["message"] == "order 42 accepted"
    assert (first["order_id"], first["topic"]) == (42, "orders")
    assert second["level"] == "warning"
    assert second["message"] == "multi\nline — ünïcode"
    assert len(stream.getvalue().splitlines()) == 2  # the newline stayed inside the JSON string


def test_exception_is_one_field(stream: io.StringIO) -> None:
    try:
        raise ValueError("bad record")
    except ValueError:
        logging.getLogger("orders").exception("could not handle a record")
    (entry,) = lines(stream)
    assert entry["level"] == "error"
    assert entry["message"] == "could not handle a record"
    exception = str(entry["exception"])
    assert exception.startswith("Traceback (most recent call last):")
    assert exception.endswith("ValueError: bad record")


def test_unserialisable_extra_is_stringified(stream: io.StringIO) -> None:
    logging.getLogger("orders").info("with an object", extra={"thing": object()})
    (entry,) = lines(stream)
    assert str(entry["thing"]).startswith("<object object at")


def test_configure_twice_keeps_one_handler(stream: io.StringIO) -> None:
    configure_logging("orders", "INFO", stream=stream)
    logging.getLogger("x").info("once")
    logging.getLogger("x").debug("filtered out at INFO")
    assert [entry["message"] for entry in lines(stream)] == ["once"]
    assert logging.getLogger("aiokafka").level == logging.WARNING
