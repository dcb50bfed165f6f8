"""The thin client a provider executable runs: hand the run to a warm worker, or serve in process.

Imports only what the interpreter has loaded anyway plus `_socket`: this runs on every resource
operation. Any problem with the server (none yet, stale, broken, refused, slow to answer) makes
the client serve in process as a provider always did, and say why at debug level. The first run
that finds no server starts one in the background for the runs after it.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # `signal` would load enum
import _socket
import os
import sys

from . import wire
from .paths import WarmUnavailableError, freshness_key, import_path, socket_path

TYPE_CHECKING = False  # typing itself is not imported at run time: start-up is paid per process
if TYPE_CHECKING:
    from typing import NoReturn

    from ..provider import Provider

SWITCH = "NIXOPS4_PROVIDER_WARM"
"""Environment variable: `0`, `off`, `false` or `no` serves every run in process."""

HANDSHAKE_TIMEOUT = 3.0
"""Seconds to wait for a worker to take the run before serving in process instead."""

FAILED_RETRY_SECONDS = 600
"""After a server failed to start, clients wait this long before starting another."""

FORWARDED_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT")
"""Signals the client passes on to its worker, as if the worker were this process."""

_SERVER_ENVIRONMENT = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "TZ", "TMPDIR", "XDG_RUNTIME_DIR")
"""Variables a server keeps from the client that starts it (with `LC_*`, `PYTHON*` and
`NIXOPS4_PROVIDER_WARM*`); nothing else, so no credential lives on in the server."""

_BOOTSTRAP = (
    "import sys; sys.path[:] = sys.argv[4:]; "
    "from nixops4_protocol.warm.server import main; main(*sys.argv[1:4])"
)


def launch(spec: str) -> NoReturn:
    """Run the provider `spec` (`module:attribute` of a `Provider`) for this process's stdio."""
    reason = _run_warm(spec)
    _serve_in_process(spec, reason)


def enabled() -> bool:
    """Whether the environment allows the warm server."""
    return os.environ.get(SWITCH, "1").strip().lower() not in {"0", "off", "false", "no"}


def _run_warm(spec: str) -> str:
    """Hand this run to a worker and exit with its status, or return why that cannot be done."""
    if not enabled():
        return f"{SWITCH} turns the warm server off"
    try:
        key = freshness_key(spec)
        path = socket_path(spec, key)
    except (WarmUnavailableError, OSError) as error:
        return f"no usable socket directory: {error}"
    connection = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        connection.settimeout(HANDSHAKE_TIMEOUT)
        try:
            connection.connect(path)
        except (FileNotFoundError, ConnectionRefusedError):
            connection.close()
            return _start_server(spec, path, key)
        worker = _hand_over(connection)
    except OSError as error:
        connection.close()
        return f"the server at {path} did not take the run: {error}"
    if worker is None:
        connection.close()
        return f"the server at {path} closed the connection without taking the run"
    return _relay(connection, path, worker)


def _hand_over(connection: _socket.socket) -> int | None:
    """Once a worker has taken the connection, pass it the run; the worker's pid, or None.

    Nothing is sent before the worker says it took the connection, so a server that never
    answers keeps none of this process's file descriptors, and serving in process is safe.
    """
    hello = wire.receive_message(connection)
    if hello is None or hello[0] != wire.ACCEPTED:
        return None
    cwd = os.open(".", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        umask = os.umask(0o077)
        os.umask(umask)
        data = wire.encode_preamble(
            umask,
            [os.fsencode(argument) for argument in sys.argv],
            [name + b"=" + value for name, value in os.environb.items()],
        )
        rights = (_socket.SOL_SOCKET, _socket.SCM_RIGHTS, wire.pack_fds([0, 1, 2, cwd]))
        connection.settimeout(None)  # committed: from here on the worker serves this run
        sent = connection.sendmsg([data], [rights])
        if sent < len(data):
            connection.sendall(data[sent:])
    finally:
        os.close(cwd)
    return hello[1]


def _relay(connection: _socket.socket, path: str, worker: int) -> NoReturn:
    """Forward signals to the worker until it reports its end; end this process the same way."""

    def forward(signal_number: int, _frame: object) -> None:
        try:  # noqa: SIM105 - contextlib is not loaded in the thin client
            os.kill(worker, signal_number)
        except ProcessLookupError:
            pass

    for name in FORWARDED_SIGNALS:
        _signal.signal(getattr(_signal, name), forward)
    reply = wire.receive_message(connection) or _reported_end(path, worker)
    if reply is None:
        sys.stderr.write("nixops4 provider: the warm worker ended without an exit status\n")
        sys.stderr.flush()
        os._exit(1)
    kind, value = reply
    if kind == wire.SIGNALLED:
        if value in {getattr(_signal, name) for name in FORWARDED_SIGNALS}:
            _signal.signal(value, _signal.SIG_DFL)
        os.kill(os.getpid(), value)
        os._exit(128 + value)
    os._exit(value)


def _reported_end(path: str, worker: int) -> tuple[bytes, int] | None:
    """How a worker that ended abruptly (`os._exit`, a crash) ended, as its server reports it."""
    import time

    end_file = os.path.join(os.path.dirname(path), f".{worker}.end")
    for _ in range(200):
        try:
            with open(end_file, "rb") as file:
                data = file.read()
        except FileNotFoundError:
            time.sleep(0.01)
            continue
        os.unlink(end_file)
        return data[:1], int.from_bytes(data[1:5], "big", signed=True)
    return None


def _start_server(spec: str, path: str, key: str) -> str:
    """Start the server of `spec` in the background unless one is starting or failed to start."""
    try:
        with open(path + ".failed", encoding="utf-8", errors="replace") as failed:
            if os.fstat(failed.fileno()).st_mtime > _now() - FAILED_RETRY_SECONDS:
                return f"the server of this code failed to start: {failed.read().strip()}"
        os.unlink(path + ".failed")  # long ago: perhaps it was transient; try again
    except FileNotFoundError:
        pass
    import fcntl

    lock = os.open(path + ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return "the server is starting"
    finally:
        os.close(lock)
    environment = {
        name: value
        for name, value in os.environ.items()
        if name in _SERVER_ENVIRONMENT or name.startswith(("LC_", "PYTHON", SWITCH))
    }
    arguments = [sys.executable, *_interpreter_options(), "-c", _BOOTSTRAP, spec, path, key]
    null = os.devnull
    os.posix_spawn(
        sys.executable,
        arguments + import_path(),
        environment,
        file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, null, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, null, os.O_WRONLY, 0),
            (os.POSIX_SPAWN_OPEN, 2, null, os.O_WRONLY, 0),
        ],
        setsid=True,
    )
    return "no server was running; started one for the next runs"


def _now() -> float:
    import time

    return time.time()


def _interpreter_options() -> list[str]:
    """The options this interpreter was started with that change what code a server runs."""
    flags = sys.flags
    options = [
        option
        for option, on in (
            ("-I", flags.isolated),
            ("-E", flags.ignore_environment and not flags.isolated),
            ("-s", flags.no_user_site and not flags.isolated),
            ("-B", flags.dont_write_bytecode),
            ("-P", flags.safe_path and not flags.isolated),
        )
        if on
    ]
    options += ["-O"] * flags.optimize
    for name, value in sys._xoptions.items():
        options += ["-X", name if value is True else f"{name}={value}"]
    return options


def _serve_in_process(spec: str, reason: str) -> NoReturn:
    """Serve as a provider always did: import the provider here and run it."""
    module_name, _, attribute = spec.partition(":")
    provider: Provider = getattr(__import__(module_name, fromlist=[attribute]), attribute)
    if os.environ.get("NIXOPS4_PROVIDER_LOG_LEVEL", "").strip().lower() == "debug":
        from ..log import get_logger

        get_logger(provider=provider.name).debug("serving in process", warm_server=reason)
    provider.main()
