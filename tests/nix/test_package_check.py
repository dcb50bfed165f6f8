"""The Nix package's check phase, reproduced: its source, its installed package, its PATH.

`nix/packages.nix` builds from the top-level entries listed in `nix/source-files.nix` and runs
the suite (without tests/nix) with the build's Python, the package installed, and `$out/bin` on
PATH. Here the same entries are copied, installed with pip (the wheel is built from the copy),
and the tests that read files outside tests/ or start installed executables run from the copy
with an interpreter that has no executables beside it. Needs nix-instantiate to read the list.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.nix.support import REPOSITORY, nix_eval, pip_install
from tests.support.postgres import postgres_bin
from tests.support.servers import require_program

pytestmark = pytest.mark.nix

CHECKED = [
    "tests/test_demo.py",
    "tests/protocol/test_readme.py",
    "tests/protocol/test_runner.py",
    "tests/secrets/test_chain.py",
]
"""Tests that read files outside tests/ or start the installed executables."""


def package_source(destination: Path) -> list[str]:
    """Copy what the package's source filter keeps into `destination`; return the entries."""
    entries: list[str] = nix_eval(REPOSITORY / "nix/source-files.nix", env={})
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for entry in entries:
        source = REPOSITORY / entry
        if source.is_dir():
            shutil.copytree(source, destination / entry, ignore=ignore)
        else:
            shutil.copy2(source, destination / entry)
    return entries


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The filtered source and the folder the package is installed into from it."""
    root = tmp_path_factory.mktemp("package")
    source, site = root / "source", root / "site"
    source.mkdir()
    package_source(source)
    pip_install(source, site)
    return source, site


def test_package_includes_the_type_marker(installed: tuple[Path, Path]) -> None:
    """The wheel built from the package source carries py.typed for type checkers."""
    _, site = installed
    assert (site / "nixops4_protocol" / "py.typed").is_file()


def test_check_phase_tests_pass_from_the_package(installed: tuple[Path, Path]) -> None:
    """Run from the package source with only $out/bin on PATH, the file-reading tests pass."""
    require_program("knotd", package="knot")
    postgres_bin()
    source, site = installed
    interpreter = getattr(sys, "_base_executable", sys.executable)
    assert not (Path(interpreter).parent / "nixops4-secrets").exists()
    venv_bin = str(Path(sys.executable).parent)
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p != venv_bin]
    dependencies = [p for p in sys.path if p.endswith("site-packages")]
    env = {
        **os.environ,
        "PATH": os.pathsep.join([str(site / "bin"), *path]),
        "PYTHONPATH": os.pathsep.join([str(site), *dependencies]),
    }
    result = subprocess.run(
        [interpreter, "-m", "pytest", "-q", "-p", "no:cacheprovider", *CHECKED],
        cwd=source,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
    assert "skipped" not in result.stdout
