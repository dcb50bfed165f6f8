"""The PostgreSQL store against the real server: sharing, encryption at rest, keys, races, chain."""

from __future__ import annotations

import base64
import os
import time
from pathlib import Path
from typing import Any

import pytest
from nixops4_protocol.client import create_request, update_request
from nixops4_protocol.testing import error_of

from tests.secrets.helpers import (
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
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.postgres


def pg_inputs(
    server: PostgresServer, key_file: Path, machine: Path, name: str, table: str, **overrides: Any
) -> dict[str, Any]:
    """Inputs of a secret in `table`, with runtime files in `machine`'s directory."""
    machine.mkdir(exist_ok=True)
    store = {"connection": server.connection_inputs(), "keyFile": str(key_file), "table": table}
    return inputs(
        name, "password", postgresql=store, directory=str(machine / "secrets"), **overrides
    )


def stored_row(server: PostgresServer, table: str, name: str) -> tuple[str, bytes] | None:
    """The key id and sealed bytes of a row, as the database administrator sees them."""
    with server.connect() as conn:
        row = conn.execute(
            f'SELECT key_id, sealed FROM "{table}" WHERE name = %s', (name,)
        ).fetchone()
    return None if row is None else (row[0], bytes(row[1]))


def mode(path: Path) -> int:
    """The permission bits of `path`."""
    return path.stat().st_mode & 0o777


def private_file(path: Path, text: str) -> Path:
    """Write `text` to a 0600 file at `path` and return the path."""
    path.write_text(text, encoding="ascii")
    path.chmod(0o600)
    return path


def race_blocked_on_table(
    server: PostgresServer,
    table: str,
    cwd: Path,
    properties: dict[str, Any],
    count: int,
    *,
    message: dict[str, Any] | None = None,
) -> list[tuple[dict[str, Any], str]]:
    """Race `count` processes while `table` is locked against writes; release them once all wait.

    Reads go through, so every process has read the row before any of them may write it.
    """
    with server.connect() as lock_conn, server.connect() as watch_conn:
        lock_conn.execute("BEGIN")
        lock_conn.execute(f'LOCK TABLE "{table}" IN SHARE MODE')

        def release_when_all_blocked() -> None:
            deadline = time.monotonic() + 20
            while True:
                row = watch_conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND query LIKE %s",
                    (f'%"{table}"%',),
                ).fetchone()
                if row == (count,) or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            lock_conn.execute("COMMIT")
            assert row == (count,), f"the {count} requests never blocked on the locked table"

        return race(cwd, properties, count, while_running=release_when_all_blocked, message=message)


def test_deployers_share_the_value(
    postgres_server: PostgresServer, key_file: Path, tmp_path: Path
) -> None:
    """Two deployer machines with the same key get the same value; the table holds ciphertext."""
    a, b = tmp_path / "a", tmp_path / "b"
    first = create(a, pg_inputs(postgres_server, key_file, a, "db", "shared"))
    second = create(b, pg_inputs(postgres_server, key_file, b, "db", "shared"))
    value = value_of(first)
    assert value_of(second) == value
    assert first["fingerprint"] == second["fingerprint"]
    assert first["scramSha256"] == second["scramSha256"]
    assert first["path"] == str(a / "secrets" / ".postgresql" / "shared" / "db")
    assert mode(Path(first["path"])) == 0o600
    row = stored_row(postgres_server, "shared", "db")
    assert row is not None
    assert value.encode() not in row[1]
    assert len(row[1]) == 12 + len(value) + 16


def test_rotation_reaches_other_deployers(
    postgres_server: PostgresServer, key_file: Path, tmp_path: Path
) -> None:
    """A rotation on one machine is what the next create on another machine materialises."""
    a, b = tmp_path / "a", tmp_path / "b"
    old = pg_inputs(postgres_server, key_file, a, "rot", "rotation")
    first = create(a, old)
    value = value_of(first)
    new = {**old, "generation": 1}
    rotated, stderr = update(a, new, old, first)
    assert "rotated the secret" in stderr
    new_value = value_of(rotated)
    assert new_value != value
    other = create(b, pg_inputs(postgres_server, key_file, b, "rot", "rotation", generation=1))
    assert value_of(other) == new_value
    same, stderr = update(a, {**new, "bcryptCost": 5}, new, rotated)
    assert value_of(same) == new_value
    assert same["fingerprint"] == rotated["fingerprint"]


def test_runtime_copy_does_not_collide_with_a_directory_store_secret(
    postgres_server: PostgresServer, key_file: Path, tmp_path: Path
) -> None:
    """Same name, same directory: the directory-store file and the runtime copy stay apart."""
    local = inputs("same", "password", directory=str(tmp_path / "secrets"))
    local_out = create(tmp_path, local)
    local_value = value_of(local_out)
    assert local_out["path"] == str(tmp_path / "secrets" / "same")
    shared_out = create(tmp_path, pg_inputs(postgres_server, key_file, tmp_path, "same", "same"))
    shared_value = value_of(shared_out)
    runtime = tmp_path / "secrets" / ".postgresql" / "same"
    assert shared_out["path"] == str(runtime / "same")
    assert shared_value != local_value
    assert Path(local_out["path"]).read_text(encoding="utf-8") == local_value
    assert mode(tmp_path / "secrets" / ".postgresql") == mode(runtime) == 0o700
    assert mode(runtime / "same") == 0o600
    again = create(tmp_path, local)
    assert again == local_out
    assert value_of(again) == local_value


def test_key_file_problems_are_clear(
    postgres_server: PostgresServer, key_file: Path, tmp_path: Path
) -> None:
    """A missing, unreadable or malformed key file, or another key, is an error saying what to do."""
    create(tmp_path, pg_inputs(postgres_server, key_file, tmp_path, "k", "keys"))
    short = private_file(tmp_path / "short.key", base64.b64encode(os.urandom(16)).decode())
    other = private_file(tmp_path / "other.key", base64.b64encode(os.urandom(32)).decode())
    cases = {
        tmp_path / "missing.key": "does not exist",
        short / "below-a-file": "cannot read the key file",
        tmp_path: "is not a regular file",
        short: "holds 16 bytes, not 32",
        other: "is encrypted under key id",
    }
    requests = [
        create_request(TYPE, pg_inputs(postgres_server, path, tmp_path, "k", "keys"), stateful=True)
        for path in cases
    ]
    result = run(requests, tmp_path)
    for response, expected in zip(result.responses, cases.values(), strict=True):
        message = error_of(response)
        assert expected in message
        assert "head -c 32 /dev/urandom | base64" in message
    assert stored_row(postgres_server, "keys", "k") is not None


@pytest.mark.parametrize("bad_mode", [0o640, 0o604, 0o660], ids=lambda mode: f"{mode:04o}")
def test_exposed_key_file_is_refused(
    postgres_server: PostgresServer, key_file: Path, tmp_path: Path, bad_mode: int
) -> None:
    """A key file group or others can read is refused, not repaired, with the chmod that fixes it."""
    key_file.chmod(bad_mode)
    properties = pg_inputs(postgres_server, key_file, tmp_path, "exposed", "exposed_key")
    message = error_of(run([create_request(TYPE, properties, stateful=True)], tmp_path).response)
    assert f"refusing to use '{key_file}': its mode is {bad_mode:04o}" in message
    assert "does not repair modes" in message
    assert f"chmod 600 {key_file}" in message
    assert key_file.stat().st_mode & 0o777 == bad_mode
    assert stored_row(postgres_server, "exposed_key", "exposed") is None


def test_key_file_owned_by_another_user_is_refused(
    postgres_server: PostgresServer, key_file: Path, tmp_path: Path
) -> None:
    """A 0600 key file of another user is refused (needs root to set it up)."""
    if os.geteuid() != 0:
        pytest.skip("changing a file's owner needs root")
    os.chown(key_file, 65534, 65534)
    properties = pg_inputs(postgres_server, key_file, tmp_path, "foreign", "foreign_key")
    message = error_of(run([create_request(TYPE, properties, stateful=True)], tmp_path).response)
    assert f"refusing to use '{key_file}': it belongs to uid 65534" in message
    assert "another `keyFile`" in message


def test_tampered_row_is_refused(
    postgres_server: PostgresServer, key_file: Path, tmp_path: Path
) -> None:
    """A ciphertext moved to another name does not decrypt, and the error says so."""
    for name in ("one", "two"):
        value_of(create(tmp_path, pg_inputs(postgres_server, key_file, tmp_path, name, "tamper")))
    with postgres_server.connect() as conn:
        conn.execute(
            "UPDATE tamper SET sealed = (SELECT sealed FROM tamper WHERE name = %s) WHERE name = %s",
            ("one", "two"),
        )
    properties = pg_inputs(postgres_server, key_file, tmp_path, "two", "tamper")
    message = error_of(run([create_request(TYPE, properties, stateful=True)], tmp_path).response)
    assert "cannot decrypt secret 'two'" in message


def test_concurrent_creates_one_value_wins(
    postgres_server: PostgresServer, key_file: Path, tmp_path: Path
) -> None:
    """Creates blocked on the same insert are released together: one value wins, all get it."""
    value_of(create(tmp_path, pg_inputs(postgres_server, key_file, tmp_path, "setup", "race")))
    properties = pg_inputs(postgres_server, key_file, tmp_path, "raced", "race")
    results = race_blocked_on_table(postgres_server, "race", tmp_path, properties, 3)
    outputs = [out for out, _ in results]
    assert all(out == outputs[0] for out in outputs)
    value_of(outputs[0])
    outcomes = sorted(event for _, stderr in results for event in events(stderr, "raced"))
    assert outcomes.count("generated a new value") == 1
    assert (
        outcomes.count("another deployer generated the value at the same moment; using theirs") == 2
    )


def test_concurrent_rotations_agree_on_one_value(
    postgres_server: PostgresServer, key_file: Path, tmp_path: Path
) -> None:
    """Two rotations of one secret released together: one value is stored, both return it."""
    old = pg_inputs(postgres_server, key_file, tmp_path, "rotated", "rotation_race")
    first = create(tmp_path, old)
    before = value_of(first)
    new = {**old, "generation": 1}
    rotate = update_request(TYPE, new, old, first)
    results = race_blocked_on_table(
        postgres_server, "rotation_race", tmp_path, new, 2, message=rotate
    )
    outputs = [out for out, _ in results]
    assert outputs[0] == outputs[1]
    after = value_of(outputs[0])
    assert after != before
    other = tmp_path / "other"
    elsewhere = pg_inputs(
        postgres_server, key_file, other, "rotated", "rotation_race", generation=1
    )
    assert value_of(create(other, elsewhere)) == after, "the table holds the value both returned"
    outcomes = sorted(event for _, stderr in results for event in events(stderr, "rotated"))
    assert outcomes == [
        "another deployer stored a new value at the same moment; using theirs",
        "rotated the secret: generated a new value",
    ]


def test_destroy_deletes_row_and_runtime_file_only_when_allowed(
    postgres_server: PostgresServer, key_file: Path, tmp_path: Path
) -> None:
    """Destroy keeps the row unless deleteOnDestroy; then the row and the runtime copy go."""
    properties = pg_inputs(postgres_server, key_file, tmp_path, "gone", "destroyed")
    out = create(tmp_path, properties)
    value_of(out)
    assert "kept the stored value" in destroy(tmp_path, properties, out).stderr
    assert stored_row(postgres_server, "destroyed", "gone") is not None
    allowed = {**properties, "deleteOnDestroy": True}
    assert "deleted the stored value" in destroy(tmp_path, allowed, out).stderr
    assert stored_row(postgres_server, "destroyed", "gone") is None
    assert not Path(out["path"]).exists()
    assert "no stored value to delete" in destroy(tmp_path, allowed, out).stderr


def test_missing_privileges_are_a_clear_error(
    postgres_server: PostgresServer, key_file: Path, tmp_path: Path
) -> None:
    """A user that may not create the table gets the server's error and what to check."""
    password_file = tmp_path / "limited.password"
    password_file.write_text("limited-user-password\n", encoding="utf-8")
    with postgres_server.connect() as conn:
        conn.execute("CREATE ROLE secrets_limited LOGIN PASSWORD 'limited-user-password'")
    properties = pg_inputs(postgres_server, key_file, tmp_path, "x", "forbidden")
    properties["postgresql"]["connection"].update(
        user="secrets_limited", passwordFile=str(password_file)
    )
    message = error_of(run([create_request(TYPE, properties, stateful=True)], tmp_path).response)
    assert "permission denied for schema public" in message
    assert "may use (and create) this table" in message
    assert "CREATE TABLE" not in message, "the server's error, not the statement, is reported"


def test_a_deployer_without_ddl_rights_uses_an_existing_table(
    postgres_server: PostgresServer, key_file: Path, tmp_path: Path
) -> None:
    """A table made by an administrator serves a user that may only read and write its rows."""
    value_of(create(tmp_path, pg_inputs(postgres_server, key_file, tmp_path, "first", "dml_only")))
    password_file = tmp_path / "dml.password"
    password_file.write_text("dml-only-user-password\n", encoding="utf-8")
    with postgres_server.connect() as conn:
        conn.execute("CREATE ROLE secrets_dml LOGIN PASSWORD 'dml-only-user-password'")
        conn.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON dml_only TO secrets_dml")
    properties = pg_inputs(postgres_server, key_file, tmp_path, "second", "dml_only")
    properties["postgresql"]["connection"].update(
        user="secrets_dml", passwordFile=str(password_file)
    )
    value_of(create(tmp_path, properties))
    assert stored_row(postgres_server, "dml_only", "second") is not None


def test_rotation_with_another_key_keeps_the_stored_value(
    postgres_server: PostgresServer, key_file: Path, tmp_path: Path
) -> None:
    """Rotating with a key file other than the one the row is under is refused, not overwritten."""
    properties = pg_inputs(postgres_server, key_file, tmp_path, "guarded", "other_key")
    outputs = create(tmp_path, properties)
    value_of(outputs)
    before = stored_row(postgres_server, "other_key", "guarded")
    other = private_file(tmp_path / "other.key", base64.b64encode(os.urandom(32)).decode())
    stranger = {**properties, "postgresql": {**properties["postgresql"], "keyFile": str(other)}}
    rotated = {**stranger, "generation": 1}
    result = run([update_request(TYPE, rotated, stranger, outputs)], tmp_path)
    assert "is encrypted under key id" in error_of(result.response)
    assert stored_row(postgres_server, "other_key", "guarded") == before
