"""PVE worker tasks: wait for a UPID to end, and retry calls that hit a VM config lock."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from nixops4_protocol.errors import ResourceError

from .connection import PveError, is_lock_timeout

if TYPE_CHECKING:
    from nixops4_protocol.context import Context

    from .connection import PveClient

T = TypeVar("T")

FIRST_POLL = 0.01
"""Seconds before the first status poll: most PVE tasks end in well under a second."""
MAX_POLL = 1.0
LOG_TAIL = 12
"""Lines of a failed task's log quoted in the error."""


class TaskFailedError(ResourceError):
    """A PVE task ended with an exit status other than OK."""


def upid_node(upid: str) -> str:
    """The node a task runs on: the second field of `UPID:node:pid:...`."""
    parts = upid.split(":")
    if len(parts) < 3 or parts[0] != "UPID":
        raise ResourceError(f"PVE returned {upid!r} where a task id (UPID) was expected")
    return parts[1]


def wait_task(client: PveClient, upid: str, ctx: Context, what: str) -> None:
    """Poll the task with a short, growing backoff until it stops; raise TaskFailedError with its log."""
    from nixops4_protocol.progress import wait_for

    node = upid_node(upid)
    path = f"nodes/{node}/tasks/{quote(upid, safe='')}"

    def stopped() -> dict[str, Any] | None:
        status: dict[str, Any] = client.get(f"{path}/status")
        return status if status.get("status") == "stopped" else None

    def still_running(elapsed: float) -> ResourceError:
        return ResourceError(
            f"{what}: task {upid} still running after {elapsed:.0f} s",
            hint="Raise `connection.timeouts.task`, or look at the task in the PVE UI.",
        )

    with ctx.progress(what, upid=upid) as progress:
        status = wait_for(
            stopped,
            progress=progress,
            timeout=client.connection.timeouts.task,
            first_delay=FIRST_POLL,
            max_delay=MAX_POLL,
            timeout_error=still_running,
        )
    exit_status = str(status.get("exitstatus", ""))
    if exit_status == "OK":
        return
    if exit_status.startswith("WARNINGS"):
        ctx.log.warning(f"{what}: task ended with warnings", upid=upid, exitstatus=exit_status)
        return
    tail = task_log_tail(client, path)
    raise TaskFailedError(
        f"{what} failed: {exit_status}\ntask {upid} log (last lines):\n{tail}",
        hint="The task log above is PVE's own; fix its cause and apply again.",
    )


def task_log_tail(client: PveClient, path: str) -> str:
    """The last lines of a task's log, one per line."""
    try:
        lines = client.get(f"{path}/log", start=0, limit=5000)
    except PveError as error:
        return f"(the log could not be read: {error})"
    texts = [str(line.get("t", "")) for line in lines or []]
    return "\n".join(f"  {text}" for text in texts[-LOG_TAIL:])


def run_task(client: PveClient, ctx: Context, what: str, start: Callable[[], Any]) -> None:
    """Start a task with `start()` (which returns its UPID) and wait for it, retrying lock timeouts."""

    def attempt() -> None:
        upid = start()
        if isinstance(upid, str) and upid.startswith("UPID:"):
            wait_task(client, upid, ctx, what)

    with_lock_retry(client, ctx, what, attempt)


def with_lock_retry(client: PveClient, ctx: Context, what: str, call: Callable[[], T]) -> T:
    """Run `call`, retrying with backoff while PVE reports `can't lock file ... got timeout`."""
    from nixops4_protocol.progress import retry

    try:
        return retry(
            call,
            what=f"{what}: VM config locked by another task",
            log=ctx.log,
            transient=is_lock_timeout,
            total_seconds=client.connection.timeouts.retry,
        )
    except ResourceError as error:
        if not is_lock_timeout(error):
            raise
        raise ResourceError(
            f"{what}: the VM config stayed locked by another task: {_first_line(error)}",
            hint="Wait for the other task (backup, migration, ...) to end, or raise "
            "`connection.timeouts.retry`.",
        ) from None


def _first_line(error: BaseException) -> str:
    for line in str(error).splitlines():
        if "can't lock file" in line:
            return line.strip()
    return str(error).splitlines()[0]
