"""The messages between the thin client and a worker, on the connected Unix socket.

worker → client: `A` and its pid, once it has taken the connection (and checked the peer's uid);
client → worker: the preamble (umask, argv, environment) with fds 0, 1, 2 and the working
directory attached (`SCM_RIGHTS`); worker → client at the end: `X` and the exit status, or `S`
and the signal that ended the run.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing itself is not imported at run time: start-up is paid per process
if TYPE_CHECKING:
    from _socket import socket

MAGIC = b"NXW1"
ACCEPTED = b"A"
EXITED = b"X"
SIGNALLED = b"S"
PASSED_FDS = 4
"""stdin, stdout, stderr and the working directory."""


def encode_preamble(umask: int, argv: list[bytes], environment: list[bytes]) -> bytes:
    """The preamble: magic, body length, then NUL-separated umask, argc, argv, `KEY=value`s."""
    body = b"\0".join([b"%d" % umask, b"%d" % len(argv), *argv, *environment])
    return MAGIC + len(body).to_bytes(4, "big") + body


def decode_body(body: bytes) -> tuple[int, list[bytes], list[bytes]]:
    """Umask, argv and environment entries of a preamble body."""
    fields = body.split(b"\0")
    umask, argc = int(fields[0]), int(fields[1])
    return umask, fields[2 : 2 + argc], [entry for entry in fields[2 + argc :] if entry]


def pack_fds(fds: list[int]) -> bytes:
    """File descriptors as the C int array `SCM_RIGHTS` carries."""
    return b"".join(fd.to_bytes(4, sys.byteorder) for fd in fds)


def unpack_fds(data: bytes) -> list[int]:
    """The file descriptors in a `SCM_RIGHTS` payload."""
    return [int.from_bytes(data[i : i + 4], sys.byteorder) for i in range(0, len(data) - 3, 4)]


def status_message(kind: bytes, value: int) -> bytes:
    """An `A`, `X` or `S` message: one byte and a signed 32-bit integer."""
    return kind + value.to_bytes(4, "big", signed=True)


def receive_exactly(connection: socket, size: int) -> bytes:
    """Read `size` bytes; fewer only if the peer closed the connection."""
    data = b""
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def receive_message(connection: socket) -> tuple[bytes, int] | None:
    """Read one 5-byte message; None if the connection closed first."""
    data = receive_exactly(connection, 5)
    if len(data) < 5:
        return None
    return data[:1], int.from_bytes(data[1:], "big", signed=True)
