"""The real `nixops4-secrets` executable with the directory store: files, rotation, convergence."""

from __future__ import annotations

import base64
import os
import shutil
import stat
import subprocess
import uuid
from pathlib import Path

import bcrypt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from nixops4_protocol.requests import create_request, update_request
from nixops4_protocol.testing import error_of, outputs_of
from nixops4_providers.scram import verifier_matches

from tests.secrets.helpers import (
    KINDS,
    TYPE,
    create,
    destroy,
    events,
    inputs,
    race,
    run,
    update,
    value_of,
)


def mode(path: Path) -> int:
    """The permission bits of `path`."""
    return stat.S_IMODE(path.stat().st_mode)


def test_every_kind_in_one_process(tmp_path: Path) -> None:
    """All kinds are created as 0600 files in a 0700 directory; outputs carry no value."""
    requests = [create_request(TYPE, inputs(f"s-{kind}", kind), stateful=True) for kind in KINDS]
    result = run(requests, tmp_path)
    outputs = {kind: outputs_of(r) for kind, r in zip(KINDS, result.responses, strict=True)}
    directory = tmp_path / ".nixops4-secrets"
    assert mode(directory) == 0o700
    for kind, out in outputs.items():
        assert out["path"] == str(directory / f"s-{kind}")
        assert mode(Path(out["path"])) == 0o600
        assert out["value"] is None
        assert out["fingerprint"].startswith("hmac-sha256:")
    values = {kind: value_of(out) for kind, out in outputs.items()}
    assert len(values["password"]) == 32
    assert verifier_matches(outputs["password"]["scramSha256"], values["password"])
    assert bcrypt.checkpw(values["password"].encode(), outputs["password"]["bcryptHash"].encode())
    assert len(base64.urlsafe_b64decode(values["token"] + "=")) == 32
    assert uuid.UUID(values["uuid"]).version == 4
    wireguard = X25519PrivateKey.from_private_bytes(base64.b64decode(values["wireguard"]))
    assert (
        outputs["wireguard"]["publicKey"]
        == base64.b64encode(wireguard.public_key().public_bytes_raw()).decode()
    )
    assert len(base64.b64decode(values["tsig"])) == 32
    assert outputs["tsig"]["algorithm"] == "hmac-sha256"
    ssh = serialization.load_ssh_private_key(values["ssh-ed25519"].encode(), password=None)
    public = ssh.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    assert outputs["ssh-ed25519"]["publicKey"] == public.decode()
    if shutil.which("ssh-keygen"):
        derived = subprocess.run(
            ["ssh-keygen", "-y", "-f", outputs["ssh-ed25519"]["path"]],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        assert derived.stdout.split()[:2] == public.decode().split()[:2]


def test_create_again_keeps_the_value(tmp_path: Path) -> None:
    """A second create (after a crash lost the state) finds and keeps the stored value."""
    properties = inputs("kept", "password")
    first = create(tmp_path, properties)
    value = value_of(first)
    second = create(tmp_path, properties)
    assert second == first
    assert value_of(second) == value


def test_no_op_update_keeps_value_and_outputs(tmp_path: Path) -> None:
    """An update whose changes do not touch the policy keeps the value and the fingerprint."""
    old = inputs("stable", "ssh-ed25519")
    first = create(tmp_path, old)
    value = value_of(first)
    new = {**old, "comment": "deploy@host", "deleteOnDestroy": True}
    second, stderr = update(tmp_path, new, old, first)
    assert value_of(second) == value
    assert second["fingerprint"] == first["fingerprint"]
    assert second["publicKey"] == first["publicKey"] + " deploy@host"
    assert "kept the stored value" in stderr


def test_generation_change_rotates(tmp_path: Path) -> None:
    """Changing `generation` regenerates: new value, new fingerprint, a log line."""
    old = inputs("rotating", "token")
    first = create(tmp_path, old)
    value = value_of(first)
    new = {**old, "generation": 1}
    second, stderr = update(tmp_path, new, old, first)
    assert value_of(second) != value
    assert second["fingerprint"] != first["fingerprint"]
    assert second["path"] == first["path"]
    assert "rotated the secret" in stderr
    assert "generation changed from 0 to 1" in stderr


def test_policy_change_keeps_a_value_that_still_fits(tmp_path: Path) -> None:
    """A tighter policy the value already meets keeps it; one it does not meet regenerates it."""
    old = inputs("policy", "password")
    first = create(tmp_path, old)
    value = value_of(first)
    lower = sum(c.islower() for c in value)
    fitting = {**old, "minLowercase": lower}
    kept, stderr = update(tmp_path, fitting, old, first)
    assert value_of(kept) == value
    assert "kept the stored value" in stderr
    longer = {**fitting, "length": 40}
    regenerated, stderr = update(tmp_path, longer, fitting, kept)
    new_value = value_of(regenerated)
    assert len(new_value) == 40
    assert regenerated["fingerprint"] != first["fingerprint"]
    assert "does not fit the inputs; generated a new value" in stderr
    assert "its length is 32, the policy asks for 40" in stderr


def test_name_cannot_change(tmp_path: Path) -> None:
    """Renaming is refused: the name is the secret's identity."""
    old = inputs("first-name", "uuid")
    first = create(tmp_path, old)
    value_of(first)
    result = run([update_request(TYPE, {**old, "name": "second-name"}, old, first)], tmp_path)
    assert "input `name` cannot be changed in place" in error_of(result.response)


def test_expose_value(tmp_path: Path) -> None:
    """With exposeValue the value is an output too (and still never logged)."""
    out = create(tmp_path, inputs("exposed", "token", exposeValue=True))
    assert out["value"] == value_of(out, exposed=True)


def test_destroy_keeps_unless_allowed(tmp_path: Path) -> None:
    """Destroy keeps the value and says so, unless deleteOnDestroy; an absent value is fine."""
    keep = inputs("to-keep", "uuid")
    out = create(tmp_path, keep)
    value_of(out)
    result = destroy(tmp_path, keep, out)
    assert result.response == {"destroyResourceResponse": {}}
    assert Path(out["path"]).exists()
    assert "kept the stored value; set deleteOnDestroy = true" in result.stderr
    delete = {**keep, "deleteOnDestroy": True}
    result = destroy(tmp_path, delete, out)
    assert result.response == {"destroyResourceResponse": {}}
    assert not Path(out["path"]).exists()
    assert "deleted the stored value" in result.stderr
    again = destroy(tmp_path, delete, out)
    assert again.response == {"destroyResourceResponse": {}}
    assert "no stored value to delete" in again.stderr


@pytest.mark.parametrize(
    ("target", "bad_mode"), [("directory", 0o755), ("directory", 0o710), ("file", 0o640)]
)
def test_wrong_permissions_are_refused(tmp_path: Path, target: str, bad_mode: int) -> None:
    """A directory or file others can reach is refused, not repaired, and the error says so."""
    properties = inputs("guarded", "password")
    out = create(tmp_path, properties)
    value_of(out)
    path = Path(out["path"]) if target == "file" else Path(out["path"]).parent
    path.chmod(bad_mode)
    result = run([create_request(TYPE, properties, stateful=True)], tmp_path)
    message = error_of(result.response)
    assert f"refusing to use '{path}': its mode is {bad_mode:04o}" in message
    assert "does not repair modes" in message
    assert f"chmod {'700' if target == 'directory' else '600'} {path}" in message
    assert mode(path) == bad_mode


def test_directory_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    """A 0700 directory of another user is refused (needs root to set it up)."""
    if os.geteuid() != 0:
        pytest.skip("changing a directory's owner needs root")
    directory = tmp_path / "foreign"
    directory.mkdir(mode=0o700)
    os.chown(directory, 65534, 65534)
    result = run(
        [create_request(TYPE, inputs("x", "uuid", directory=str(directory)), stateful=True)],
        tmp_path,
    )
    assert "it belongs to uid 65534" in error_of(result.response)


def test_directory_in_the_nix_store_is_refused(tmp_path: Path) -> None:
    """The Nix store is world-readable, so it is never used as a secret directory."""
    properties = inputs("x", "uuid", directory="/nix/store/secrets")
    message = error_of(run([create_request(TYPE, properties, stateful=True)], tmp_path).response)
    assert "is inside the Nix store" in message


def test_stateless_use_is_refused(tmp_path: Path) -> None:
    """Without state the resource is refused: it must remember what it generated."""
    result = run([create_request(TYPE, inputs("x", "uuid"), stateful=False)], tmp_path)
    assert "require state" in error_of(result.response)


def test_concurrent_creates_agree(tmp_path: Path) -> None:
    """Processes creating the same secret at once end with one value, and all return it."""
    results = race(tmp_path, inputs("raced", "password"), 4)
    outputs = [out for out, _ in results]
    assert all(out == outputs[0] for out in outputs)
    value_of(outputs[0])
    outcomes = sorted(event for _, stderr in results for event in events(stderr, "raced"))
    assert outcomes.count("generated a new value") == 1
    assert len(outcomes) == 4
    leftovers = sorted(p.name for p in (tmp_path / ".nixops4-secrets").iterdir())
    assert leftovers == [".store-key", "raced", "warm-0", "warm-1", "warm-2", "warm-3"]


def test_a_directory_in_place_of_a_secret_is_refused(tmp_path: Path) -> None:
    """Something other than a regular file under the secret's name is an error, not a crash."""
    (tmp_path / ".nixops4-secrets" / "odd").mkdir(parents=True, mode=0o700)
    (tmp_path / ".nixops4-secrets").chmod(0o700)
    message = error_of(
        run([create_request(TYPE, inputs("odd", "uuid"), stateful=True)], tmp_path).response
    )
    assert "is not a regular file" in message


def test_rotation_onto_a_directory_is_refused(tmp_path: Path) -> None:
    """A rotation whose secret's name is taken by a directory is a clear error, not a crash."""
    old = inputs("taken", "uuid")
    first = create(tmp_path, old)
    value_of(first)
    Path(first["path"]).unlink()
    Path(first["path"]).mkdir(mode=0o700)
    (Path(first["path"]) / "inside").write_text("x", encoding="utf-8")
    result = run([update_request(TYPE, {**old, "generation": 1}, old, first)], tmp_path)
    message = error_of(result.response)
    assert "cannot write the secret file" in message
    assert "internal error" not in message
    assert [p.name for p in Path(first["path"]).iterdir()] == ["inside"]
    assert not [p for p in Path(first["path"]).parent.iterdir() if p.name.startswith(".tmp-")]
