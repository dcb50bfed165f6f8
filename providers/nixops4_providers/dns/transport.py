"""Sending one DNS message and receiving its answer over TCP, or UDP with fallback to TCP."""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from nixops4_protocol.errors import ResourceError

from .server import Server

if TYPE_CHECKING:
    from nixops4_protocol.log import Logger

_TRUNCATED = 0x02
"""The TC bit in the third octet of a DNS header."""

MAX_UDP = 1232
"""The largest message sent over UDP (the DNS flag day 2020 value); larger ones go over TCP."""

_MAYBE_APPLIED = " (the update may or may not have been applied)"

_T = TypeVar("_T")


def exchange(wire: bytes, server: Server, log: Logger, *, is_update: bool) -> bytes:
    """Send a message in wire format and return the raw answer; failures become ResourceErrors.

    With `transport = "udp"`, a message larger than `MAX_UDP` octets is sent over TCP, since it
    may not survive UDP; the whole exchange (UDP try and TCP fallback included) is bounded by
    `server.timeout`.
    """
    udp = server.transport == "udp" and len(wire) <= MAX_UDP
    if server.transport == "udp" and not udp:
        log.debug("message too large for UDP, sending it over TCP", octets=len(wire), limit=MAX_UDP)

    def send() -> bytes:
        deadline = time.monotonic() + server.timeout
        address = _resolve(server)
        if udp:
            answer = _udp(wire, address, deadline)
            if not answer[2] & _TRUNCATED:
                return answer
        return _tcp(wire, address, deadline)

    return _guarded(send, server, is_update=is_update)


def exchange_many(wires: list[bytes], server: Server, log: Logger) -> list[bytes]:
    """Send several queries and return their raw answers in the same order.

    Over TCP the queries share one connection and are pipelined (answers matched by message ID,
    which must be distinct); each answer must arrive within `server.timeout` of the previous one.
    Over UDP they are sent one after the other.
    """
    if server.transport == "udp":
        return [exchange(wire, server, log, is_update=False) for wire in wires]

    def send() -> list[bytes]:
        return _tcp_pipelined(wires, _resolve(server), server.timeout)

    return _guarded(send, server, is_update=False)


def _guarded(send: Callable[[], _T], server: Server, *, is_update: bool) -> _T:
    """Run `send`, turning network failures into ResourceErrors for people."""
    try:
        return send()
    except ConnectionRefusedError:
        raise ResourceError(
            f"the DNS server {server.describe()} refused the connection",
            hint="Check `server.address`, `server.port` and `server.transport`, and that the "
            "server is running and listens there.",
        ) from None
    except TimeoutError:
        raise ResourceError(
            f"no answer from the DNS server {server.describe()} within {server.timeout:g} s"
            + (_MAYBE_APPLIED if is_update else ""),
            hint="Check that the server is up and reachable (firewall, address, port); applying "
            "again is safe, every change is guarded by prerequisites.",
        ) from None
    except OSError as error:
        raise ResourceError(
            f"cannot talk to the DNS server {server.describe()}: {error.strerror or error}"
            + (_MAYBE_APPLIED if is_update else ""),
            hint="Check `server.address` and `server.port` and the network path to the server; "
            "applying again is safe, every change is guarded by prerequisites.",
        ) from None


def _resolve(server: Server) -> tuple[int, tuple[str, int]]:
    try:
        family, _, _, _, sockaddr = socket.getaddrinfo(
            server.address, server.port, type=socket.SOCK_STREAM
        )[0]
    except socket.gaierror as error:
        raise ResourceError(
            f"cannot resolve the DNS server address {server.address!r}: {error.strerror}",
            hint="Set `server.address` to the IP address of the zone's primary server.",
        ) from None
    return family, (str(sockaddr[0]), int(sockaddr[1]))


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    return left


def _udp(wire: bytes, address: tuple[int, tuple[str, int]], deadline: float) -> bytes:
    family, sockaddr = address
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.connect(sockaddr)  # a connected socket learns of ICMP "port unreachable" at once
        sock.settimeout(_remaining(deadline))
        sock.send(wire)
        while True:
            sock.settimeout(_remaining(deadline))
            answer = sock.recv(65535)
            if len(answer) >= 12 and answer[:2] == wire[:2]:
                return answer


def _tcp(wire: bytes, address: tuple[int, tuple[str, int]], deadline: float) -> bytes:
    family, sockaddr = address
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(_remaining(deadline))
        sock.connect(sockaddr)
        sock.sendall(struct.pack("!H", len(wire)) + wire)
        (length,) = struct.unpack("!H", _read_exactly(sock, 2, deadline))
        return _read_exactly(sock, length, deadline)


def _tcp_pipelined(
    wires: list[bytes], address: tuple[int, tuple[str, int]], timeout: float
) -> list[bytes]:
    family, sockaddr = address
    pending = {wire[:2]: index for index, wire in enumerate(wires)}
    answers: list[bytes] = [b""] * len(wires)
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(sockaddr)
        sock.sendall(b"".join(struct.pack("!H", len(wire)) + wire for wire in wires))
        while pending:
            deadline = time.monotonic() + timeout
            (length,) = struct.unpack("!H", _read_exactly(sock, 2, deadline))
            answer = _read_exactly(sock, length, deadline)
            index = pending.pop(answer[:2], None)
            if index is not None:
                answers[index] = answer
    return answers


def _read_exactly(sock: socket.socket, count: int, deadline: float) -> bytes:
    data = b""
    while len(data) < count:
        sock.settimeout(_remaining(deadline))
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionResetError("the server closed the connection before answering")
        data += chunk
    return data
