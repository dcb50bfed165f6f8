"""Credentials passed as file paths: read them, and keep their values out of messages and logs."""

from __future__ import annotations

import os
import stat

from .errors import ResourceError, clip
from .redaction import register_secret_value

MAX_CREDENTIAL_BYTES = 64 * 1024
"""Largest credential file read; a password, a key or a key file is far smaller."""

_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}

_HINT = (
    "Give the path of a regular file holding only the credential (a trailing newline is "
    "ignored); FIFOs, devices, directories and files over 64 KiB are refused."
)


def read_secret_file(path: str, *, what: str) -> str:
    """Read a credential file (trailing newline stripped) and register its value for scrubbing.

    Only a regular file of at most MAX_CREDENTIAL_BYTES is read, and opening never blocks (a FIFO
    is refused, not waited on). `what` names the input for the error message, e.g. "`passwordFile`".
    """
    data = read_regular_file(path, what=what, limit=MAX_CREDENTIAL_BYTES, hint=_HINT)
    try:
        value = data.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        raise ResourceError(
            f"{what} file {clip(repr(path))} is not UTF-8 text",
            hint="The file must hold the credential as text (a trailing newline is ignored).",
        ) from None
    register_secret_value(value)
    return value


def read_regular_file(path: str, *, what: str, limit: int, hint: str) -> bytes:
    """The bytes of the regular file at `path`, refusing anything else and anything over `limit`."""
    shown = clip(repr(path))
    if "\x00" in path:
        raise ResourceError(f"{what} path {shown} contains a NUL character", hint=hint)
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except OSError as error:
        raise ResourceError(
            f"cannot read {what} file {shown}: {error.strerror}",
            hint="Check that the file exists and is readable by the user running nixops4.",
        ) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = _KINDS.get(stat.S_IFMT(mode), "not a regular file")
            raise ResourceError(f"{what} file {shown} is {kind}, not a regular file", hint=hint)
        chunks: list[bytes] = []
        size = 0
        while size <= limit and (chunk := os.read(fd, limit + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
    except OSError as error:
        raise ResourceError(
            f"cannot read {what} file {shown}: {error.strerror}", hint=hint
        ) from None
    finally:
        os.close(fd)
    if size > limit:
        raise ResourceError(f"{what} file {shown} is larger than {limit} bytes", hint=hint)
    return b"".join(chunks)
