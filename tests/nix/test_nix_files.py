"""Every Nix file of the repository parses, and is formatted with nixfmt where it is installed."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.nix.support import REPOSITORY, nix_instantiate

SKIPPED_DIRECTORIES = {".git", ".venv", "node_modules", "result"}


def nix_files() -> list[Path]:
    """The repository's own Nix files."""
    return sorted(
        path
        for path in REPOSITORY.rglob("*.nix")
        if not SKIPPED_DIRECTORIES & set(path.relative_to(REPOSITORY).parts)
    )


@pytest.mark.parametrize("path", nix_files(), ids=lambda p: str(p.relative_to(REPOSITORY)))
def test_nix_file_parses(path: Path) -> None:
    """`nix-instantiate --parse` accepts the file."""
    result = subprocess.run(
        [nix_instantiate(), "--store", "dummy://", "--parse", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_nix_files_are_formatted() -> None:
    """`nixfmt --check` passes on every Nix file (skips where nixfmt is not installed)."""
    nixfmt = shutil.which("nixfmt")
    if nixfmt is None:
        pytest.skip(
            "nixfmt is not installed (it is not packaged on PyPI, npm or Debian bookworm); "
            "`nix-shell` provides it"
        )
    result = subprocess.run(
        [nixfmt, "--check", *map(str, nix_files())],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "LC_ALL": "C.UTF-8"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
