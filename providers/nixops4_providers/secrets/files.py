"""A private directory of secret files on the deployer machine: 0700, one 0600 file per secret.

Files are written atomically (temporary file, fsync, rename or link, fsync of the directory) and
are 0600 from the moment they exist. A directory or file that others can read, or that belongs to
another user, is refused rather than repaired: its secrets may already have been read, so the user
must decide (fix the modes and rotate).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from nixops4_protocol.errors import ResourceError

DIRECTORY_MODE = 0o700
FILE_MODE = 0o600
NIX_STORE = Path("/nix/store")


class SecretDirectory:
    """A directory holding one file per secret, named by the secret's name."""

    def __init__(self, path: str, parent: SecretDirectory | None = None) -> None:
        """Use the directory at `path` (relative paths are relative to the working directory)."""
        self.path = Path(os.path.abspath(path))
        self.parent = parent
        if self.path.resolve().is_relative_to(NIX_STORE):
            raise ResourceError(
                f"the secret directory {str(self.path)!r} is inside the Nix store, which every "
                "local user can read",
                hint="Set `directory` to a path outside /nix/store (the default is "
                "`.nixops4-secrets` in the directory nixops4 runs in).",
            )

    def child(self, name: str) -> SecretDirectory:
        """A private directory inside this one, created (0700) together with it."""
        return SecretDirectory(str(self.path / name), parent=self)

    def file(self, name: str) -> Path:
        """The path of the file holding secret `name`."""
        return self.path / name

    def ensure(self) -> None:
        """Create the directory (0700) if it is missing; refuse one that others can reach."""
        if self.parent is not None:
            self.parent.ensure()
        try:
            self.path.mkdir(mode=DIRECTORY_MODE, parents=True)
        except FileExistsError:
            pass
        except OSError as error:
            raise ResourceError(
                f"cannot create the secret directory {str(self.path)!r}: {error.strerror}",
                hint="Check `directory` and the permissions of its parent.",
            ) from None
        info = self.path.lstat()
        if not stat.S_ISDIR(info.st_mode):
            raise ResourceError(
                f"the secret directory {str(self.path)!r} is not a directory",
                hint="Point `directory` at a directory (symbolic links are not followed).",
            )
        check_private(info, self.path, SECRET_FILE)

    def read(self, name: str) -> str | None:
        """The content of secret `name`, or None if there is no such file."""
        path = self.file(name)
        data = read_private_file(path, SECRET_FILE, follow_symlinks=False)
        if data is None:
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise ResourceError(
                f"the secret file {str(path)!r} is not UTF-8 text, so this provider did not write it",
                hint="Move it away, or choose another `name`.",
            ) from None

    def create(self, name: str, value: str) -> str:
        """Store `value` as secret `name` unless it exists; return the value that is stored.

        The file appears complete or not at all (hard link of a finished temporary file), so of
        two processes creating the same secret at once exactly one wins and both see its value.
        """
        temporary = self._write_temporary(name, value)
        try:
            os.link(temporary, self.file(name))
        except FileExistsError:
            existing = self.read(name)
            if existing is None:  # removed between our link and read: try again
                return self.create(name, value)
            return existing
        except OSError as error:
            raise _cannot_write(self.file(name), error) from None
        finally:
            temporary.unlink()
        self._sync_directory()
        return value

    def replace(self, name: str, value: str) -> None:
        """Store `value` as secret `name`, replacing any previous value atomically."""
        temporary = self._write_temporary(name, value)
        try:
            temporary.replace(self.file(name))
        except BaseException as error:
            temporary.unlink(missing_ok=True)
            if isinstance(error, OSError):
                raise _cannot_write(self.file(name), error) from None
            raise
        self._sync_directory()

    def delete(self, name: str) -> bool:
        """Remove secret `name`; return whether there was one."""
        try:
            self.file(name).unlink()
        except FileNotFoundError:
            return False
        self._sync_directory()
        return True

    def _write_temporary(self, name: str, value: str) -> Path:
        """A finished, fsynced 0600 temporary file holding `value`, to be published as `name`."""
        from .entropy import random_bytes

        temporary = self.path / f".tmp-{random_bytes(8).hex()}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(temporary, flags, FILE_MODE)
        except OSError as error:
            raise _cannot_write(self.file(name), error) from None
        try:
            os.fchmod(fd, FILE_MODE)
            with os.fdopen(fd, "wb") as stream:
                stream.write(value.encode("utf-8"))
                stream.flush()
                os.fsync(stream.fileno())
        except BaseException as error:
            temporary.unlink(missing_ok=True)
            if isinstance(error, OSError):
                raise _cannot_write(self.file(name), error) from None
            raise
        return temporary

    def _sync_directory(self) -> None:
        fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@dataclass(frozen=True)
class PrivateFile:
    """How errors about one sort of private file name it and say what to do."""

    noun: str
    """What the file is, e.g. "secret file"."""
    setting: str
    """The input that chose the path."""
    unreadable_hint: str
    """What to do when the file cannot be opened."""
    irregular_hint: str
    """What to do when the path is not a regular file."""
    after_chmod: str
    """What to consider once its mode is fixed, given others may have read it."""


MAX_PRIVATE_FILE_BYTES = 1024 * 1024
"""Largest secret or key file read; generated values and keys are far smaller."""

SECRET_FILE = PrivateFile(
    noun="secret file",
    setting="directory",
    unreadable_hint="It must be a regular file (not a symbolic link) readable by its owner.",
    irregular_hint="Move it away, or choose another `name`.",
    after_chmod="consider rotating the secrets kept there (change `generation`)",
)


def read_private_file(path: Path, role: PrivateFile, *, follow_symlinks: bool) -> bytes | None:
    """The content of a regular file only its owner may access, or None if there is none.

    A file that is not regular, belongs to another user or that group/others can access is refused.
    """
    flags = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY
    flags |= 0 if follow_symlinks else os.O_NOFOLLOW
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise ResourceError(
            f"cannot read the {role.noun} {str(path)!r}: {error.strerror}",
            hint=role.unreadable_hint,
        ) from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise ResourceError(
            f"the {role.noun} {str(path)!r} is not a regular file", hint=role.irregular_hint
        )
    with os.fdopen(fd, "rb") as stream:
        check_private(info, path, role)
        data = stream.read(MAX_PRIVATE_FILE_BYTES + 1)
    if len(data) > MAX_PRIVATE_FILE_BYTES:
        raise ResourceError(
            f"the {role.noun} {str(path)!r} is larger than {MAX_PRIVATE_FILE_BYTES} bytes",
            hint=role.irregular_hint,
        )
    return data


def check_private(info: os.stat_result, path: Path, role: PrivateFile) -> None:
    """Refuse a file or directory that another user owns or that group/others can access."""
    mode = stat.S_IMODE(info.st_mode)
    if info.st_uid != os.geteuid():
        raise ResourceError(
            f"refusing to use {str(path)!r}: it belongs to uid {info.st_uid}, not to the user "
            f"running nixops4 (uid {os.geteuid()})",
            hint="Secrets are kept only in files and directories of the deploying user; use "
            f"another `{role.setting}` or change the owner.",
        )
    if mode & 0o077:
        directory = stat.S_ISDIR(info.st_mode)
        wanted = DIRECTORY_MODE if directory else FILE_MODE
        inside = " and `chmod 600` on the files in it" if directory else ""
        raise ResourceError(
            f"refusing to use {str(path)!r}: its mode is {mode:04o}, so other users may have "
            f"read the secrets (this provider does not repair modes, it wants {wanted:04o})",
            hint=f"Run `chmod {wanted:o} {path}`{inside}, then {role.after_chmod}.",
        )


def _cannot_write(path: Path, error: OSError) -> ResourceError:
    """The error for a secret file that could not be written (no value in the message)."""
    return ResourceError(
        f"cannot write the secret file {str(path)!r}: {error.strerror}",
        hint="Check the free space and permissions of the secret directory; a directory or other "
        "non-file under the secret's name must be moved away.",
    )
