"""structlog setup: readable console lines on a TTY, one JSON object per line otherwise.

Libraries log through the standard ``logging`` module (pymodbus: "Failed to connect …", "Repeating …"); their
records go through the same processors and renderer as the daemon's own, so a JSON log stays one JSON object
per line whoever wrote it, with the library's logger name beside the message.
"""

from __future__ import annotations

import logging
import sys

import structlog


def _stderr_logger(*_args: object) -> structlog.PrintLogger:
    return structlog.PrintLogger(sys.stderr)


class _StderrHandler(logging.StreamHandler):
    """A stream handler writing to whatever ``sys.stderr`` is at each record (like ``_stderr_logger``)."""

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:  # StreamHandler.__init__ assigns it; the property wins
        pass


def configure_logging(level: str = "INFO", *, json: bool | None = None) -> None:
    """Configure structlog and stdlib logging once per process. ``json=None`` decides by TTY."""
    if json is None:
        json = not sys.stderr.isatty()
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    # Library records (stdlib logging): the same fields and renderer as structlog's own lines.
    handler = _StderrHandler()
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    ))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _StderrHandler) or type(h) is logging.StreamHandler]:
        root.removeHandler(old)  # configured again (tests, a second CLI call): one handler, never two
    root.addHandler(handler)
    root.setLevel(numeric)
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        # Resolve sys.stderr at each call, not once: a stream captured at configure time may be closed later
        # (test runners swap it), and logging to a closed stream must never crash a device loop.
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )
