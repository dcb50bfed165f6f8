"""Secret key files on the deployer: one 0600 file per key in a 0700 directory.

The secrets provider's private directory does the work (atomic writes, modes checked, never
repaired); this module only names the files and their errors for Garage keys.
"""

from __future__ import annotations

from pathlib import Path

from nixops4_providers.secrets.files import PrivateFile, SecretDirectory, read_private_file

KEY_FILE = PrivateFile(
    noun="secret key file",
    setting="directory",
    unreadable_hint="It must be a regular file (not a symbolic link) readable by its owner.",
    irregular_hint="Move it away, or choose another `directory`.",
    after_chmod="consider replacing the Garage keys whose secrets are kept there",
)


class KeyFiles:
    """The directory of secret key files of one `directory` input."""

    def __init__(self, directory: str) -> None:
        """Use `directory` (relative to the working directory); nothing is created yet."""
        self._directory = SecretDirectory(directory)

    def path(self, name: str) -> Path:
        """The file holding the secret of key `name`."""
        return self._directory.file(name)

    def read(self, name: str) -> str | None:
        """The secret stored for key `name`, or None when there is no file."""
        data = read_private_file(self.path(name), KEY_FILE, follow_symlinks=False)
        return None if data is None else data.decode("utf-8", errors="replace")

    def write(self, name: str, secret: str) -> Path:
        """Make the file of key `name` hold `secret` (rewritten only when it differs)."""
        self._directory.ensure()
        if self.read(name) != secret:
            self._directory.replace(name, secret)
        return self.path(name)

    def delete(self, name: str) -> bool:
        """Remove the file of key `name`; return whether there was one."""
        return self._directory.delete(name)
