"""A worker: forked by the server before any request, it takes one run and serves it.

It waits for a connection, refuses any peer of another uid (`SO_PEERCRED`), takes the client's
stdin, stdout, stderr, working directory, umask, argv and environment, and then runs exactly what
a provider process runs (`Provider.run`). Its end (exit status or signal) goes back to the client.
"""

from __future__ import annotations

import _thread
import os
import select
import signal
import socket
import struct
import sys
import threading
import time
from typing import TYPE_CHECKING, NoReturn

from . import wire
from .client import HANDSHAKE_TIMEOUT

if TYPE_CHECKING:
    from ..provider import Provider


def serve_one(provider: Provider, listener: socket.socket, lifeline: int, notify: int) -> NoReturn:
    """Wait for a connection (or the server's end, when `lifeline` closes), serve it, exit."""
    try:
        rehearse(provider, provider.type_names[:1])
        connection = _accept(listener, lifeline)
        if connection is None:
            os._exit(0)
        os.write(notify, b"a")  # kept open: the server sees this worker end when it closes
        os.close(lifeline)
        listener.close()
        _serve(provider, connection, notify)
    except BaseException:  # a worker never returns into the server's loop
        os._exit(1)


def rehearse(provider: Provider, type_names: list[str]) -> None:
    """Answer an invalid request per type: builds lazy caches, touches the pages a run needs.

    Needs no backend and no secret (the request is refused at input validation). In the server
    this leaves what it builds shared by all workers; in a waiting worker it copies the pages a
    run writes to before the run, not during it (~1 ms).
    """
    for type_name in type_names:
        body = {"type": type_name, "inputProperties": {"\u0000": 0}, "isStateful": False}
        provider.handle({"createResourceRequest": body})


def _accept(listener: socket.socket, lifeline: int) -> socket.socket | None:
    """The next connection; None once the server has ended."""
    listener.setblocking(False)
    while True:
        ready, _, _ = select.select([listener.fileno(), lifeline], [], [])
        if lifeline in ready:
            return None
        try:
            connection, _ = listener.accept()
        except (BlockingIOError, InterruptedError):
            continue
        connection.setblocking(True)
        return connection


def peer_uid(connection: socket.socket) -> int:
    """The uid of the process at the other end, from the kernel (`SO_PEERCRED`)."""
    size = struct.calcsize("3i")
    _, uid, _ = struct.unpack(
        "3i", connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, size)
    )
    return int(uid)


def _serve(provider: Provider, connection: socket.socket, notify: int) -> NoReturn:
    if peer_uid(connection) != os.getuid():
        os._exit(0)  # refused: closing the connection tells the client to serve in process
    connection.sendall(wire.status_message(wire.ACCEPTED, os.getpid()))
    connection.settimeout(HANDSHAKE_TIMEOUT)
    taken = _take(connection)
    if taken is None:
        os._exit(0)  # no run to serve: the client went away or sent something else
    _become_client(*taken)
    connection.settimeout(None)
    _thread.start_new_thread(_end_with_client, (connection,))
    kind, value = _run(provider)
    _finished.set()  # from here on the client ending is expected, not a reason to die
    os.write(notify, b"d")
    connection.sendall(wire.status_message(kind, value))
    os._exit(value if kind == wire.EXITED else 128 + value)


def _take(connection: socket.socket) -> tuple[list[int], int, list[bytes], list[bytes]] | None:
    """The preamble and the passed fds; None (all fds closed) if it is malformed."""
    data, ancillary, flags, _ = connection.recvmsg(1 << 16, socket.CMSG_SPACE(4 * wire.PASSED_FDS))
    fds: list[int] = []
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds += wire.unpack_fds(payload)
    if flags & socket.MSG_CTRUNC or len(fds) != wire.PASSED_FDS or data[:4] != wire.MAGIC:
        for fd in fds:
            os.close(fd)
        return None
    length = int.from_bytes(data[4:8], "big")
    body = data[8:]
    body += wire.receive_exactly(connection, length - len(body))
    umask, argv, environment = wire.decode_body(body)
    return fds, umask, argv, environment


def _become_client(fds: list[int], umask: int, argv: list[bytes], environment: list[bytes]) -> None:
    """Take the client's stdio, working directory, umask, argv and environment."""
    *stdio, cwd = fds
    os.fchdir(cwd)
    os.close(cwd)
    os.umask(umask)
    for target, fd in enumerate(stdio):
        os.dup2(fd, target)
    for fd in stdio:
        if fd > 2:
            os.close(fd)
    os.environb.clear()
    os.environb.update(entry.split(b"=", 1) for entry in environment if b"=" in entry)  # type: ignore[misc]
    time.tzset()
    sys.argv = [os.fsdecode(argument) for argument in argv]


_finished = threading.Event()
"""Set once the run has ended and only its report to the client remains."""


def _end_with_client(connection: socket.socket) -> None:
    """End this worker if the client goes away before the run ends, as its process would."""
    try:
        data = connection.recv(1)
    except OSError:
        data = b""
    if not data and not _finished.is_set():
        os.kill(os.getpid(), signal.SIGKILL)


def _run(provider: Provider) -> tuple[bytes, int]:
    """Run the provider as its own process would; how the run ended (exit status or signal)."""
    try:
        return wire.EXITED, provider.run()
    except SystemExit as exit_:
        code = exit_.code
        if code is None or isinstance(code, int):
            return wire.EXITED, code or 0
        sys.stderr.write(f"{code}\n")
        return wire.EXITED, 1
    except KeyboardInterrupt:
        sys.excepthook(*sys.exc_info())
        return wire.SIGNALLED, signal.SIGINT
    except BaseException:
        sys.excepthook(*sys.exc_info())
        return wire.EXITED, 1
    finally:
        sys.stderr.flush()
