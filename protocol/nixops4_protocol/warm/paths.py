"""Where a provider's warm server listens, and the freshness key that names its socket.

The thin client computes these on every run, so only cheap modules are imported here.
"""

from __future__ import annotations

import os
import stat
import sys

TYPE_CHECKING = False  # typing itself is not imported at run time: start-up is paid per process
if TYPE_CHECKING:
    from collections.abc import Iterator

DIRECTORY_NAME = "nixops4-providers"
"""The directory under `$XDG_RUNTIME_DIR` (or `nixops4-providers-<uid>` under the temp dir)."""

_INTERPRETER_ENVIRONMENT = "PYTHON"
"""Environment variables read by the interpreter at start-up (and so frozen in a server)."""


class WarmUnavailableError(Exception):
    """The warm server cannot be used; the message says why (logged at debug level)."""


def runtime_directory() -> str:
    """Return the private directory of this user's sockets, creating it (mode 0700) if needed.

    Refuses a directory another user owns, others may enter, or that is not a directory.
    """
    base = os.environ.get("XDG_RUNTIME_DIR")
    if base:
        path = os.path.join(base, DIRECTORY_NAME)
    else:
        temp = os.environ.get("TMPDIR") or "/tmp"  # noqa: S108 - a 0700 directory of our own
        path = os.path.join(temp, f"{DIRECTORY_NAME}-{os.getuid()}")
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError as error:
        raise WarmUnavailableError(f"cannot create {path}: {error.strerror}") from None
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode):
        raise WarmUnavailableError(f"{path} is not a directory")
    if info.st_uid != os.getuid():
        raise WarmUnavailableError(f"{path} belongs to uid {info.st_uid}, not {os.getuid()}")
    if info.st_mode & 0o077:
        raise WarmUnavailableError(f"{path} is open to others (mode {info.st_mode & 0o777:o})")
    return path


def socket_path(spec: str, key: str) -> str:
    """The socket of the server of `spec` (`module:attribute`) built from code with `key`."""
    label = spec.partition(":")[0].rpartition(".")[2]
    return os.path.join(runtime_directory(), f"{label}-{key}.sock")


def freshness_key(spec: str, search_path: list[str] | None = None) -> str:
    """A digest of everything that decides what code a server of `spec` runs.

    The interpreter (path, version, flags, `PYTHON*` variables), `sys.path` with each entry's
    modification time (an install changes a site-packages directory), and path, size and
    modification time of the source files of the library and of the provider (`_package_sources`).
    A server built from other code has another key, so its socket is never reached.
    """
    parts = [spec, sys.executable, sys.version, repr(sys.flags)]
    parts += sorted(
        f"{k}={v}" for k, v in os.environ.items() if k.startswith(_INTERPRETER_ENVIRONMENT)
    )
    for entry in import_path(search_path):
        parts.append(f"{entry}\t{_mtime(entry)}")
    parts += _package_sources(spec)
    return _sha256_hex("\n".join(parts).encode("utf-8", "surrogateescape"))[:24]


def _sha256_hex(data: bytes) -> str:
    """SHA-256 from the interpreter's own small module (hashlib would load OpenSSL: ~1 ms)."""
    try:
        from _sha2 import sha256  # type: ignore[import-not-found,unused-ignore]  # Python >= 3.12
    except ImportError:
        from _sha256 import sha256  # type: ignore[import-not-found,no-redef,unused-ignore]
    digest: str = sha256(data).hexdigest()
    return digest


def import_path(search_path: list[str] | None = None) -> list[str]:
    """`sys.path` (or `search_path`) with relative entries (`''`: the working directory) absolute."""
    entries = sys.path if search_path is None else search_path
    return [entry if entry.startswith("/") else os.path.abspath(entry) for entry in entries]


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1


def _package_sources(spec: str) -> list[str]:
    """`path size mtime` of the source files that decide what `spec` runs.

    Every file of this library, every file of the package of `spec`'s module, and the modules
    directly in its top-level package (shared helpers), without importing `spec`'s module.
    """
    module_name = spec.partition(":")[0]
    top, _, rest = module_name.partition(".")
    found: list[str] = []
    for directory in getattr(sys.modules[__package__.rpartition(".")[0]], "__path__", []):
        found += _source_files(directory)
    __import__(top)
    for directory in getattr(sys.modules[top], "__path__", []):
        found += _source_files(directory, recursive=False)
        if rest:
            found += _source_files(os.path.join(directory, *rest.split(".")))
    return found


def _source_files(directory: str, *, recursive: bool = True) -> Iterator[str]:
    """`path size mtime` of every .py file in (or under) `directory`, skipping bytecode caches."""
    try:
        entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
    except OSError:
        return
    for entry in entries:
        if entry.name.endswith(".py") and entry.is_file():
            info = entry.stat()
            yield f"{entry.path}\t{info.st_size}\t{info.st_mtime_ns}"
        elif recursive and entry.name != "__pycache__" and entry.is_dir(follow_symlinks=False):
            yield from _source_files(entry.path)
