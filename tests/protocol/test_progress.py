"""Polling with backoff, progress lines and bounded retries of transient faults."""

from __future__ import annotations

import time
from typing import Any

import pytest
from nixops4_protocol import progress
from nixops4_protocol.errors import ResourceError


class _Log:
    """A `Logger` that keeps its lines."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, dict[str, Any]]] = []

    def info(self, event: str, *args: Any, **fields: Any) -> None:
        self.lines.append((event, fields))

    debug = warning = error = info

    def bind(self, **fields: Any) -> _Log:
        return self


def test_wait_for_notices_completion_quickly() -> None:
    """A condition that becomes true after 50 ms is noticed well within 150 ms of it."""
    log = _Log()
    done_at = time.monotonic() + 0.05
    with progress.Progress(log, "task", {}) as wait:
        started = time.monotonic()
        result = progress.wait_for(
            lambda: "ok" if time.monotonic() >= done_at else None, progress=wait, timeout=5
        )
    assert result == "ok"
    assert time.monotonic() - started < 0.2
    assert [event for event, _ in log.lines] == ["task: started", "task: done"]


def test_wait_for_times_out_with_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A condition that never holds ends in a ResourceError after the timeout, with progress lines."""
    monkeypatch.setattr(progress, "REPORT_EVERY_SECONDS", 0.05)
    log = _Log()
    with (
        pytest.raises(ResourceError, match="gave up after"),
        progress.Progress(log, "stuck", {}) as wait,
    ):
        progress.wait_for(lambda: None, progress=wait, timeout=0.3, max_delay=0.05)
    events = [event for event, _ in log.lines]
    assert "stuck: waiting" in events
    assert events[-1] == "stuck: failed"


def test_wait_for_raises_the_callers_timeout_error() -> None:
    """`timeout_error` builds the error a caller wants, given the seconds waited."""
    with (
        pytest.raises(ResourceError, match=r"^task still running after 0\.\d s$") as raised,
        progress.Progress(_Log(), "task", {}) as wait,
    ):
        progress.wait_for(
            lambda: None,
            progress=wait,
            timeout=0.1,
            max_delay=0.02,
            timeout_error=lambda elapsed: ResourceError(
                f"task still running after {elapsed:.1f} s"
            ),
        )
    assert raised.value.hint is None


def test_retry_retries_transient_errors_then_succeeds() -> None:
    """Transient failures are retried and logged; the eventual result is returned."""
    log = _Log()
    failures = [ConnectionResetError("reset"), ConnectionResetError("reset")]

    def call() -> str:
        if failures:
            raise failures.pop()
        return "done"

    result = progress.retry(
        call,
        what="op",
        log=log,
        transient=lambda e: isinstance(e, ConnectionError),
        first_delay=0.01,
    )
    assert result == "done"
    assert len(log.lines) == 2


def test_retry_does_not_retry_permanent_errors() -> None:
    """An error the predicate rejects is raised at once."""
    calls = []

    def call() -> None:
        calls.append(1)
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        progress.retry(
            call, what="op", log=_Log(), transient=lambda e: isinstance(e, ConnectionError)
        )
    assert calls == [1]
