"""Structured JSON logs, one object per line, carrying the run and delivery being worked on.

The ids live in context variables set by the pipeline, so every record logged while a
delivery is handled (by reportd, dramatiq, or a library) says which delivery it was.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

run_id_var: ContextVar[int | None] = ContextVar("run_id", default=None)
delivery_id_var: ContextVar[int | None] = ContextVar("delivery_id", default=None)


@contextmanager
def delivery_context(*, delivery_id: int, run_id: int | None = None) -> Iterator[None]:
    """Tag every log record in this block with the delivery (and run) ids."""
    delivery_token = delivery_id_var.set(delivery_id)
    run_token = run_id_var.set(run_id)
    try:
        yield
    finally:
        delivery_id_var.reset(delivery_token)
        run_id_var.reset(run_token)


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", "run_id", "delivery_id", ...}`` per line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, var in (("run_id", run_id_var), ("delivery_id", delivery_id_var)):
            value = var.get()
            if value is not None:
                entry[key] = value
        for key in ("outcome", "state", "attempt", "duration_ms"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str = "INFO", *, json_lines: bool = True) -> None:
    """Send logs to stderr, as JSON lines (services) or plain text (interactive use)."""
    handler = logging.StreamHandler(sys.stderr)
    formatter: logging.Formatter = (
        JsonFormatter() if json_lines else logging.Formatter("%(levelname)s %(name)s: %(message)s")
    )
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
