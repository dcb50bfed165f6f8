"""Fixtures of the secrets provider tests: store keys, and the leak scan at the end of the session."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.secrets.helpers import GENERATED, leaks


@pytest.fixture(scope="session", autouse=True)
def _no_generated_value_leaked() -> Iterator[None]:
    """After all secrets tests, no generated value may appear in any captured output."""
    yield
    found = leaks()
    assert not found, found


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    """A fresh PostgreSQL store key file (32 random bytes, base64), included in the leak scan."""
    path = tmp_path / "store.key"
    key = base64.b64encode(os.urandom(32)).decode()
    GENERATED[key] = False
    path.write_text(key + "\n", encoding="ascii")
    path.chmod(0o600)
    return path
