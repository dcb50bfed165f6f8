"""`delivery`: a secret's file copied to a host over SSH, against a real OpenSSH server on loopback."""

from __future__ import annotations

import grp
import json
import os
import pwd
from pathlib import Path
from typing import Any

import pytest
from nixops4_protocol.client import create_request, destroy_request, update_request
from nixops4_protocol.testing import error_of, outputs_of

from tests.secrets.helpers import OUTPUTS, STDERR, create, inputs, run, update, value_of
from tests.support.ssh_server import SshServer

TYPE = "delivery"
AS_ROOT = os.geteuid() == 0


def _owner() -> tuple[str, str]:
    """An owner and group other than the login user when running as root, else the user's own."""
    if AS_ROOT:
        return "nobody", "nogroup"
    entry = pwd.getpwuid(os.geteuid())
    return entry.pw_name, str(entry.pw_gid)


def _delivery(
    server: SshServer, secret: dict[str, Any], path: Path, **overrides: Any
) -> dict[str, Any]:
    """Every input of a delivery of `secret` to `path` on the test server (wire names)."""
    owner, group = _owner()
    host = server.target_inputs(**overrides.pop("host", {}))
    return {
        "source": secret["path"],
        "fingerprint": secret["fingerprint"],
        "host": host,
        "path": str(path),
        "owner": owner,
        "group": group,
        "mode": "0440",
        "createDirectory": True,
        "removeOnDestroy": True,
    } | overrides


def _deliver(cwd: Path, properties: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Create (as every apply of a stateless resource does); return outputs and stderr."""
    result = run([create_request(TYPE, properties, stateful=False)], cwd)
    return outputs_of(result.response), result.stderr


def _error(cwd: Path, properties: dict[str, Any]) -> str:
    result = run([create_request(TYPE, properties, stateful=False)], cwd)
    return error_of(result.response)


@pytest.fixture
def secret(tmp_path: Path) -> dict[str, Any]:
    """A generated password in the directory store under tmp_path."""
    return create(tmp_path, inputs("app-db-password", "password"))


def test_delivers_the_value_with_owner_group_and_mode(
    ssh_server: SshServer, secret: dict[str, Any], tmp_path: Path
) -> None:
    """The host's file holds exactly the secret, with the declared owner, group and mode."""
    target = tmp_path / "host" / "keys" / "db-password"
    outputs, stderr = _deliver(tmp_path, _delivery(ssh_server, secret, target))
    assert outputs == {
        "path": str(target),
        "address": "127.0.0.1",
        "fingerprint": secret["fingerprint"],
    }
    assert target.read_text(encoding="utf-8") == value_of(secret)
    info = target.stat()
    owner, group = _owner()
    assert pwd.getpwuid(info.st_uid).pw_name == owner
    assert group in (grp.getgrgid(info.st_gid).gr_name, str(info.st_gid))
    assert oct(info.st_mode & 0o7777) == "0o440"
    assert oct(target.parent.stat().st_mode & 0o777) == "0o755"
    assert "file delivered" in stderr
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".nixops4-delivery")]


def test_second_apply_writes_nothing(
    ssh_server: SshServer, secret: dict[str, Any], tmp_path: Path
) -> None:
    """An unchanged secret is compared on the host and the file is left alone (same inode, mtime)."""
    target = tmp_path / "db-password"
    properties = _delivery(ssh_server, secret, target)
    _deliver(tmp_path, properties)
    before = target.stat()
    outputs, stderr = _deliver(tmp_path, properties)
    after = target.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert "file already up to date" in stderr
    assert outputs["fingerprint"] == secret["fingerprint"]


def test_rotation_is_redelivered_atomically(
    ssh_server: SshServer, secret: dict[str, Any], tmp_path: Path
) -> None:
    """After the secret rotates, the next apply replaces the file by a rename and passes the new fingerprint on."""
    target = tmp_path / "db-password"
    old_properties = _delivery(ssh_server, secret, target)
    old_outputs, _ = _deliver(tmp_path, old_properties)
    before = target.stat().st_ino
    old_secret = inputs("app-db-password", "password")
    rotated, _ = update(tmp_path, {**old_secret, "generation": 1}, old_secret, secret)
    assert rotated["fingerprint"] != secret["fingerprint"]
    new_properties = _delivery(ssh_server, rotated, target)
    result = run([update_request(TYPE, new_properties, old_properties, old_outputs)], tmp_path)
    outputs = outputs_of(result.response)
    assert target.read_text(encoding="utf-8") == value_of(rotated)
    assert target.stat().st_ino != before
    assert outputs["fingerprint"] == rotated["fingerprint"]


def test_drift_on_the_host_is_repaired(
    ssh_server: SshServer, secret: dict[str, Any], tmp_path: Path
) -> None:
    """A file changed on the host, or given another mode, is rewritten by the next apply."""
    target = tmp_path / "db-password"
    properties = _delivery(ssh_server, secret, target)
    _deliver(tmp_path, properties)
    target.write_text("tampered", encoding="utf-8")
    _, stderr = _deliver(tmp_path, properties)
    assert "file delivered" in stderr
    assert target.read_text(encoding="utf-8") == value_of(secret)
    target.chmod(0o644)
    _deliver(tmp_path, properties)
    assert oct(target.stat().st_mode & 0o7777) == "0o440"


def test_value_never_in_the_ssh_command_line(
    ssh_server: SshServer, secret: dict[str, Any], tmp_path: Path
) -> None:
    """The ssh child gets the value on stdin only: its arguments (seen by `ps`) never hold it."""
    shim = tmp_path / "bin"
    shim.mkdir()
    recorded = tmp_path / "ssh-argv.json"
    (shim / "ssh").write_text(
        "#!/usr/bin/env python3\n"
        "import json, os, sys\n"
        f"open({str(recorded)!r}, 'a').write(json.dumps(sys.argv) + '\\n')\n"
        "os.execv('/usr/bin/ssh', ['ssh', *sys.argv[1:]])\n",
        encoding="utf-8",
    )
    (shim / "ssh").chmod(0o755)
    env = {**os.environ, "PATH": f"{shim}:{os.environ['PATH']}"}
    target = tmp_path / "db-password"
    result = run(
        [create_request(TYPE, _delivery(ssh_server, secret, target), stateful=False)],
        tmp_path,
        env=env,
    )
    outputs_of(result.response)
    argv = recorded.read_text(encoding="utf-8")
    assert json.loads(argv.splitlines()[0])[-1].startswith("sh -c")
    value = value_of(secret)
    assert value not in argv
    assert target.read_text(encoding="utf-8") == value


def test_another_host_key_is_refused(
    ssh_server: SshServer, secret: dict[str, Any], tmp_path: Path
) -> None:
    """A host presenting a key other than `hostPublicKey` gets nothing; the error names the input."""
    target = tmp_path / "db-password"
    properties = _delivery(
        ssh_server, secret, target, host={"hostPublicKey": ssh_server.other_host_public_key}
    )
    message = _error(tmp_path, properties)
    assert "host.hostPublicKey" in message
    assert "Host key verification failed" in message
    assert not target.exists()


def test_unauthorised_identity_is_refused(
    ssh_server: SshServer, secret: dict[str, Any], tmp_path: Path
) -> None:
    """A deployer key the host does not accept gives an error naming `host.identityFile`."""
    stranger = tmp_path / "stranger"
    stranger.write_bytes((ssh_server.directory / "other-host.key").read_bytes())
    stranger.chmod(0o600)
    properties = _delivery(
        ssh_server, secret, tmp_path / "db-password", host={"identityFile": str(stranger)}
    )
    message = _error(tmp_path, properties)
    assert "host.identityFile" in message
    assert "Permission denied" in message


def test_closed_port_is_an_error_after_waiting(
    ssh_server: SshServer, secret: dict[str, Any], tmp_path: Path
) -> None:
    """Nothing listening on the port: retried for `waitSeconds`, then an error saying so."""
    from tests.support.servers import free_port

    properties = _delivery(
        ssh_server, secret, tmp_path / "x", host={"port": free_port(), "waitSeconds": 1}
    )
    message = _error(tmp_path, properties)
    assert "Connection refused" in message


def test_missing_directory_without_create_directory(
    ssh_server: SshServer, secret: dict[str, Any], tmp_path: Path
) -> None:
    """With `createDirectory = false` a missing directory is an error naming the option."""
    target = tmp_path / "absent" / "db-password"
    message = _error(tmp_path, _delivery(ssh_server, secret, target, createDirectory=False))
    assert "createDirectory" in message
    assert not target.parent.exists()


def test_destroy_removes_the_file_and_succeeds_when_gone(
    ssh_server: SshServer, secret: dict[str, Any], tmp_path: Path
) -> None:
    """Destroy removes the delivered file; a second destroy finds it gone and succeeds."""
    target = tmp_path / "db-password"
    properties = _delivery(ssh_server, secret, target)
    outputs, _ = _deliver(tmp_path, properties)
    first = run([destroy_request(TYPE, properties, outputs)], tmp_path)
    assert "destroyResourceResponse" in first.response
    assert not target.exists()
    second = run([destroy_request(TYPE, properties, None)], tmp_path)
    assert "destroyResourceResponse" in second.response
    assert "file absent" in second.stderr


def test_moved_path_removes_the_old_file(
    ssh_server: SshServer, secret: dict[str, Any], tmp_path: Path
) -> None:
    """An update to another path delivers there and removes the file at the old path."""
    old, new = tmp_path / "old-name", tmp_path / "new-name"
    old_properties = _delivery(ssh_server, secret, old)
    old_outputs, _ = _deliver(tmp_path, old_properties)
    new_properties = _delivery(ssh_server, secret, new)
    result = run([update_request(TYPE, new_properties, old_properties, old_outputs)], tmp_path)
    assert outputs_of(result.response)["path"] == str(new)
    assert new.read_text(encoding="utf-8") == value_of(secret)
    assert not old.exists()


def test_bad_inputs_name_the_field(ssh_server: SshServer, tmp_path: Path) -> None:
    """A relative path, a bad mode and an unreadable source are refused, naming the field."""
    secret = {"path": str(tmp_path / "missing-secret"), "fingerprint": "x"}
    relative = _error(tmp_path, _delivery(ssh_server, secret, Path("relative/file")))
    assert "path" in relative
    mode = _error(tmp_path, _delivery(ssh_server, secret, tmp_path / "f", mode="0999"))
    assert "mode" in mode
    source = _error(tmp_path, _delivery(ssh_server, secret, tmp_path / "f"))
    assert "`source`" in source
    STDERR.append(relative + mode + source)
    OUTPUTS.append({})
