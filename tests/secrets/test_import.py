"""Importing a value placed under the secret's name: kept if it fits, never silently overwritten."""

from __future__ import annotations

import base64
import os
from pathlib import Path

from nixops4_protocol.client import create_request
from nixops4_protocol.testing import error_of, outputs_of

from tests.secrets.helpers import GENERATED, TYPE, inputs, run


def _place(cwd: Path, name: str, text: str) -> Path:
    """Write `text` as a person would (0600, in a 0700 directory) under the secret's name."""
    directory = cwd / ".nixops4-secrets"
    directory.mkdir(mode=0o700, exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    GENERATED.setdefault(text.strip(), False)
    return path


def test_password_written_by_echo_is_kept(tmp_path: Path) -> None:
    """`echo "$password" > file` adds a newline; the password without it fits and is kept."""
    password = base64.b32encode(os.urandom(20)).decode("ascii").lower()  # 32 letters and digits
    path = _place(tmp_path, "imported", password + "\n")
    properties = inputs("imported", "password", symbols=False, bcryptCost=None)
    outputs = outputs_of(run([create_request(TYPE, properties, stateful=True)], tmp_path).response)
    assert path.read_text(encoding="utf-8") == password + "\n"
    assert outputs["path"] == str(path)
    again = outputs_of(run([create_request(TYPE, properties, stateful=True)], tmp_path).response)
    assert again["fingerprint"] == outputs["fingerprint"]


def test_wireguard_key_from_wg_genkey_is_kept(tmp_path: Path) -> None:
    """A `wg genkey` file (base64 key and a newline) is taken as the key, and its public key given."""
    key = base64.b64encode(os.urandom(32)).decode("ascii")
    path = _place(tmp_path, "wg", key + "\n")
    outputs = outputs_of(
        run([create_request(TYPE, inputs("wg", "wireguard"), stateful=True)], tmp_path).response
    )
    assert path.read_text(encoding="utf-8") == key + "\n"
    assert outputs["publicKey"]


def test_unfit_value_is_refused_with_path_and_reason(tmp_path: Path) -> None:
    """A placed value that does not fit is left alone; the error names the file and why."""
    path = _place(tmp_path, "short", "too-short\n")
    properties = inputs("short", "password")
    message = error_of(run([create_request(TYPE, properties, stateful=True)], tmp_path).response)
    assert repr(str(path)) in message
    assert "its length is 9, the policy asks for 32" in message
    assert "replaceUnfit" in message
    assert path.read_text(encoding="utf-8") == "too-short\n"


def test_replace_unfit_replaces(tmp_path: Path) -> None:
    """With `replaceUnfit = true` the unfit value is replaced by a generated one."""
    path = _place(tmp_path, "short", "too-short\n")
    properties = inputs("short", "password", replaceUnfit=True, bcryptCost=4)
    outputs_of(run([create_request(TYPE, properties, stateful=True)], tmp_path).response)
    assert len(path.read_text(encoding="utf-8")) == 32
