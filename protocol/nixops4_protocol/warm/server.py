"""The per-user warm server of one provider: everything imported, a worker forked per run.

Started in the background by the thin client (`client._start_server`) with the client's
`sys.path`. It imports the provider, every resource module and the library, then listens on its
socket and keeps one forked worker waiting for the next connection. The server itself never
accepts a connection, reads a request or holds a credential: each worker serves one run and
exits. It exits when idle for `NIXOPS4_PROVIDER_WARM_IDLE` seconds (default 300), when any
source file it loaded changes, or when its socket is removed or replaced.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import importlib
import importlib.util
import os
import pkgutil
import select
import socket
import sys
import time
from typing import TYPE_CHECKING, NoReturn

from . import wire
from .paths import freshness_key

if TYPE_CHECKING:
    from ..provider import Provider

IDLE_VARIABLE = "NIXOPS4_PROVIDER_WARM_IDLE"
DEFAULT_IDLE_SECONDS = 300.0
CHECK_SECONDS = 2.0
"""How often the server checks its socket, its sources and its idle time."""
REPLENISH_SECONDS = 0.05
"""Longest wait before replacing a taken worker (see `Server.run`)."""

LIBRARY_MODULES = ("messages", "context", "log", "resource", "credentials", "progress", "state")
"""Library modules every request needs, imported ahead of the first one."""


def main(spec: str, path: str, key: str) -> NoReturn:
    """Become the server of `spec` on `path`, for code with freshness `key`; never returns."""
    os.closerange(3, 1 << 16)  # nothing inherited from the client's parent stays open here
    os.chdir("/")
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    lock = os.open(path + ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os._exit(0)  # another server of this code is starting or running
    try:
        search_path = list(sys.path)  # as the client had it; importing the provider may change it
        if freshness_key(spec, search_path) != key:
            raise RuntimeError("the code changed between the client's start and the server's")
        provider = warm_up(spec)
        sources = Sources(spec, key, search_path)
        listener = listen(path)
    except BaseException as error:  # recorded for the clients, which then stop trying
        with open(path + ".failed", "w", encoding="utf-8") as failed:
            failed.write(f"{type(error).__name__}: {error}\n")
        os._exit(1)
    Server(provider, listener, path, sources, lock).run()
    os._exit(0)


def warm_up(spec: str) -> Provider:
    """Import the provider, its resource types, every module of its package and the library."""
    module_name, _, attribute = spec.partition(":")
    module = importlib.import_module(module_name)
    provider: Provider = getattr(module, attribute)
    for type_name in provider.type_names:
        provider.resource_class(type_name)
    for info in pkgutil.walk_packages(getattr(module, "__path__", []), module_name + "."):
        if not info.name.endswith(".__main__"):
            # An optional backend that is not installed stays out: its requests will say so.
            with contextlib.suppress(ImportError):
                importlib.import_module(info.name)
    library = __package__.rpartition(".")[0]
    for name in LIBRARY_MODULES:
        importlib.import_module(f"{library}.{name}")
    import_deferred((module_name.partition(".")[0], library))
    complete_models()
    from .worker import rehearse

    rehearse(provider, provider.type_names)
    gc.collect()
    gc.freeze()  # workers then leave the imported objects' pages shared
    return provider


def import_deferred(packages: tuple[str, ...]) -> None:
    """Import what loaded modules of `packages` import inside functions (backend clients).

    Providers defer heavy imports into the functions that need them, so that a process that
    does not need them does not pay for them; a worker needs them ready.
    """
    import ast

    loaded = [
        module
        for name, module in list(sys.modules.items())
        if name.partition(".")[0] in packages and getattr(module, "__file__", None)
    ]
    for module in loaded:
        try:
            with open(module.__file__, "rb") as source:  # type: ignore[arg-type]
                tree = ast.parse(source.read())
        except (OSError, SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            package = (module.__spec__.parent if module.__spec__ else None) or ""
            for name in _imported_names(node, package):
                with contextlib.suppress(Exception):  # what cannot be imported stays out
                    importlib.import_module(name)


def _imported_names(node: object, package: str) -> list[str]:
    """The modules an import statement names (for `from m import n`: m, and m.n if a module)."""
    import ast

    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = "." * node.level + (node.module or "")
    try:
        absolute = importlib.util.resolve_name(base, package) if node.level else base
    except (ImportError, ValueError):
        return []
    return [absolute] + [f"{absolute}.{alias.name}" for alias in node.names if alias.name != "*"]


def complete_models() -> None:
    """Build the validators pydantic defers to a model's first use (~5 ms per process)."""
    from pydantic import BaseModel

    pending: list[type[BaseModel]] = [BaseModel]
    while pending:
        cls = pending.pop()
        pending += cls.__subclasses__()
        if not cls.__pydantic_complete__:
            with contextlib.suppress(Exception):  # an unparametrised generic stays as it is
                cls.model_rebuild()


class Sources:
    """Whether the code this server runs is still the code on disk."""

    def __init__(self, spec: str, key: str, search_path: list[str]) -> None:
        """Record the size and modification time of every file the server has loaded."""
        self.spec = spec
        self.key = key
        self.search_path = search_path
        self.files = {
            path: _signature(path)
            for path in (getattr(module, "__file__", None) for module in list(sys.modules.values()))
            if isinstance(path, str)
        }

    def stale(self) -> str | None:
        """Why the server's code is stale (a changed file, a changed key), or None."""
        for path, signature in self.files.items():
            if _signature(path) != signature:
                return f"{path} changed"
        if freshness_key(self.spec, self.search_path) != self.key:
            return "the provider's source files changed"
        return None


def _signature(path: str) -> tuple[int, int]:
    try:
        info = os.stat(path)
    except OSError:
        return (-1, -1)
    return (info.st_size, info.st_mtime_ns)


def listen(path: str) -> socket.socket:
    """Listen on `path`, replacing atomically whatever is there (a stale socket, garbage)."""
    temporary = os.path.join(os.path.dirname(path), f".{os.getpid()}.new")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(temporary)
    listener.bind(temporary)
    os.chmod(temporary, 0o600)
    listener.listen(128)
    os.rename(temporary, path)
    return listener


class _Worker:
    """A forked worker as the server sees it: its pid and the read end of its pipe."""

    def __init__(self, pid: int, pipe: int) -> None:
        self.pid = pid
        self.pipe = pipe
        self.reported = b""
        """What the worker wrote: `a` when it took a connection, `d` once it told its client."""


class Server:
    """The loop: keep one worker waiting for a connection; exit when idle, stale or replaced."""

    def __init__(
        self, provider: Provider, listener: socket.socket, path: str, sources: Sources, lock: int
    ) -> None:
        """Serve `provider` on `listener` (bound at `path`) while `sources` stay fresh."""
        self.provider = provider
        self.listener = listener
        self.path = path
        self.inode = os.stat(path).st_ino
        self.sources = sources
        self.lock = lock
        self.idle = _idle_seconds()
        self.lifeline_read, self.lifeline = os.pipe()
        self.ended: dict[int, int] = {}
        """Wait statuses of reaped workers not yet looked at."""

    def run(self) -> None:
        """Keep a worker waiting for the next connection, until idle, stale or replaced.

        A taken worker is replaced once it ends, once another client waits, or after
        REPLENISH_SECONDS, whichever comes first: the fork then rarely competes for the CPU with
        the run that took the last worker.
        """
        now = last_used = checked = replenish_at = time.monotonic()
        spare: _Worker | None = None
        running: dict[int, _Worker] = {}
        failures = 0
        try:
            while failures < 5:
                if spare is None and now >= replenish_at:
                    spare = self._fork_worker()
                    running[spare.pipe] = spare
                watched = list(running) + ([] if spare else [self.listener.fileno()])
                timeout = CHECK_SECONDS if spare else replenish_at - now
                ready, _, _ = select.select(watched, [], [], max(timeout, 0))
                self._reap()
                now = time.monotonic()
                for fd in ready:
                    worker = running.get(fd)
                    if worker is None:  # a client waits and no worker is waiting for it
                        replenish_at = now
                        continue
                    data = os.read(fd, 8)
                    worker.reported += data
                    if worker is spare and data:
                        spare, last_used = None, now
                        failures, replenish_at = 0, now + REPLENISH_SECONDS
                    elif not data:
                        del running[fd]
                        os.close(fd)
                        self._ended(worker)
                        if worker is spare:  # it died waiting
                            spare = None
                            failures, replenish_at = failures + 1, now + 0.1 * failures
                        else:
                            replenish_at = now
                if spare is not None and now - last_used > self.idle:
                    return
                if now - checked >= CHECK_SECONDS:
                    checked = now
                    if not self._still_ours() or self.sources.stale() is not None:
                        return
        finally:
            self._stop()

    def _fork_worker(self) -> _Worker:
        """Fork the worker that takes the next connection.

        The worker writes `a` to its pipe when it takes a connection and `d` once it has sent
        its client the end of the run; the pipe reaches its end when the worker does.
        """
        pipe, pipe_write = os.pipe()
        pid = os.fork()
        if pid == 0:
            from .worker import serve_one

            os.close(pipe)
            os.close(self.lifeline)
            os.close(self.lock)
            serve_one(self.provider, self.listener, self.lifeline_read, pipe_write)
        os.close(pipe_write)
        return _Worker(pid, pipe)

    def _ended(self, worker: _Worker) -> None:
        """A worker that took a run but did not tell its client how it ended: tell it here.

        Its wait status goes to `.<pid>.end` beside the socket, where the client looks for it.
        """
        if worker.reported != b"a":
            self.ended.pop(worker.pid, None)
            return
        status = self.ended.pop(worker.pid, None)
        if status is None:
            _, status = os.waitpid(worker.pid, 0)
        if os.WIFSIGNALED(status):
            report = wire.status_message(wire.SIGNALLED, os.WTERMSIG(status))
        else:
            report = wire.status_message(wire.EXITED, os.waitstatus_to_exitcode(status))
        end_file = os.path.join(os.path.dirname(self.path), f".{worker.pid}.end")
        with open(end_file + ".new", "wb") as file:
            file.write(report)
        os.rename(end_file + ".new", end_file)

    def _reap(self) -> None:
        """Collect ended workers, keeping their wait statuses for `_ended`."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.ended[pid] = status

    def _still_ours(self) -> bool:
        try:
            return os.stat(self.path).st_ino == self.inode
        except OSError:
            return False

    def _stop(self) -> None:
        """Unlink the socket (if still ours) and close it; the waiting worker then ends."""
        if self._still_ours():
            os.unlink(self.path)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path + ".lock")
        self.listener.close()
        os.close(self.lifeline)


def _idle_seconds() -> float:
    """`NIXOPS4_PROVIDER_WARM_IDLE` if it is a positive number, else the default."""
    try:
        seconds = float(os.environ.get(IDLE_VARIABLE) or DEFAULT_IDLE_SECONDS)
    except ValueError:
        return DEFAULT_IDLE_SECONDS
    return seconds if seconds > 0 else DEFAULT_IDLE_SECONDS
