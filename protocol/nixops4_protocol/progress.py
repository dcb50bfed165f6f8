"""Long-running work: progress lines, polling with backoff, retrying transient faults."""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from .errors import ResourceError
from .log import Logger

T = TypeVar("T")

REPORT_EVERY_SECONDS = 5.0


class Progress:
    """A wait that logs when it starts, every few seconds while it lasts, and when it ends."""

    def __init__(self, log: Logger, what: str, details: dict[str, Any]) -> None:
        """Describe the wait; nothing is logged until it is entered."""
        self._log = log
        self.what = what
        self._details = details
        self._started = 0.0
        self._last_report = 0.0

    def __enter__(self) -> Progress:
        """Log the start of the wait."""
        self._started = self._last_report = time.monotonic()
        self._log.info(f"{self.what}: started", **self._details)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Log how the wait ended and how long it took."""
        outcome = "done" if kind is None else "failed"
        self._log.info(f"{self.what}: {outcome}", elapsed=round(self.elapsed, 2), **self._details)

    @property
    def elapsed(self) -> float:
        """Seconds since the wait started."""
        return time.monotonic() - self._started

    def tick(self, **status: Any) -> None:
        """Log a still-waiting line if the last one is a few seconds old."""
        now = time.monotonic()
        if now - self._last_report >= REPORT_EVERY_SECONDS:
            self._last_report = now
            self._log.info(f"{self.what}: waiting", elapsed=round(self.elapsed, 1), **status)


def wait_for(
    check: Callable[[], T | None],
    *,
    progress: Progress,
    timeout: float,
    first_delay: float = 0.02,
    max_delay: float = 1.0,
    timeout_error: Callable[[float], ResourceError] | None = None,
) -> T:
    """Poll `check` with exponential backoff until it returns a value other than None.

    The first polls come quickly, so a short task is noticed within tens of milliseconds.
    After `timeout` seconds raises `timeout_error(elapsed)`, or a generic ResourceError.
    """
    delay = first_delay
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result is not None:
            return result
        if time.monotonic() + delay > deadline:
            if timeout_error is not None:
                raise timeout_error(progress.elapsed)
            raise ResourceError(
                f"{progress.what}: gave up after {progress.elapsed:.1f} s",
                hint="The backend may be overloaded or the operation stuck; raise the timeout or check the backend.",
            )
        progress.tick()
        time.sleep(delay)
        delay = min(delay * 2, max_delay)


def retry(
    call: Callable[[], T],
    *,
    what: str,
    log: Logger,
    transient: Callable[[BaseException], bool],
    total_seconds: float = 30.0,
    first_delay: float = 0.2,
    max_delay: float = 5.0,
) -> T:
    """Run `call`, retrying with backoff while it raises errors `transient` accepts.

    Gives up (re-raising the last error) once `total_seconds` have passed; each retry is logged.
    """
    delay = first_delay
    deadline = time.monotonic() + total_seconds
    attempt = 1
    while True:
        try:
            return call()
        except Exception as error:
            if not transient(error) or time.monotonic() + delay > deadline:
                raise
            log.warning(
                f"{what}: transient failure, retrying",
                attempt=attempt,
                retry_in=round(delay, 2),
                error=f"{type(error).__name__}: {error}",
            )
        time.sleep(delay)
        delay = min(delay * 2, max_delay)
        attempt += 1
