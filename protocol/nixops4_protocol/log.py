"""Structured logging to stderr: readable on a terminal, JSON lines otherwise, secrets redacted."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import MutableMapping
from typing import Any, Protocol, TextIO, cast

import structlog
from pydantic import SecretStr

from .redaction import REDACTED, is_registered_secret_key, scrub


class Logger(Protocol):
    """A structured logger bound to context (`ctx.log`): an event text and key-value fields.

    Values of secret fields, and registered secret values, are redacted before anything is written.
    """

    def debug(self, event: str, *args: Any, **fields: Any) -> Any:
        """Log at debug level (shown with NIXOPS4_PROVIDER_LOG_LEVEL=debug)."""

    def info(self, event: str, *args: Any, **fields: Any) -> Any:
        """Log at info level."""

    def warning(self, event: str, *args: Any, **fields: Any) -> Any:
        """Log at warning level."""

    def error(self, event: str, *args: Any, **fields: Any) -> Any:
        """Log at error level."""

    def bind(self, **fields: Any) -> Logger:
        """Return a logger that adds `fields` to every event."""


_SECRET_KEY = re.compile(r"(password|passwd|secret|token|private|credential|psk|api_?key)", re.I)
_PATH_KEY = re.compile(r"(file|path|dir|directory)$", re.I)

_configured = False


def is_secret_key(key: str) -> bool:
    """Whether a log key names a secret value (a path to a secret file is not one)."""
    if is_registered_secret_key(key):
        return True
    return bool(_SECRET_KEY.search(key)) and not _PATH_KEY.search(key)


def redact(value: Any, key: str = "") -> Any:
    """Return `value` with secrets replaced, recursing into mappings and lists."""
    if isinstance(value, SecretStr) or (key and is_secret_key(key)):
        return REDACTED
    if isinstance(value, MutableMapping | dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return scrub(value)
    return value


def _redact_processor(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    return {key: redact(value, key) for key, value in event.items()}


def configure(*, json_lines: bool | None = None, level: str | None = None) -> None:
    """Configure structlog for providers; called once, lazily, by get_logger."""
    global _configured  # noqa: PLW0603 - process-wide logging configuration
    fmt = os.environ.get("NIXOPS4_PROVIDER_LOG_FORMAT", "")
    if json_lines is None:
        json_lines = fmt == "json" or (fmt != "console" and not sys.stderr.isatty())
    level_name = (level or os.environ.get("NIXOPS4_PROVIDER_LOG_LEVEL", "info")).upper()
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json_lines
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    # JSON has no traceback renderer of its own: `exc_info` becomes an `exception` text field
    # (before redaction, so secrets in it are scrubbed); the console renderer draws it itself.
    tracebacks = [structlog.processors.format_exc_info] if json_lines else []
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            *tracebacks,
            _redact_processor,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_level_number(level_name)),
        logger_factory=structlog.PrintLoggerFactory(file=cast(TextIO, _CurrentStderr())),
        cache_logger_on_first_use=True,
    )
    _configured = True


class _CurrentStderr:
    """A stream that writes to whatever `sys.stderr` is at the time of writing."""

    def write(self, text: str) -> int:
        """Write to the current stderr."""
        return sys.stderr.write(text)

    def flush(self) -> None:
        """Flush the current stderr."""
        sys.stderr.flush()


def _level_number(name: str) -> int:
    levels = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "WARN": 30, "ERROR": 40, "CRITICAL": 50}
    return levels.get(name, 20)


def get_logger(**context: Any) -> Logger:
    """Return a logger bound to `context`, configuring logging on first use."""
    if not _configured:
        configure()
    return cast(Logger, structlog.get_logger().bind(**context))
