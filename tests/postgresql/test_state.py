"""The `state` store: lifecycle as nixops4 drives it, one writer at a time, nothing lost."""

from __future__ import annotations

import json
import signal
import tempfile
import threading
import time
from typing import Any

from nixops4_protocol.client import ProviderProcess
from nixops4_protocol.requests import create_request, state_event_request, state_read_request
from nixops4_protocol.state import materialise
from nixops4_protocol.testing import TRANSCRIPT, error_of, inputs, outputs_of
from nixops4_providers.postgresql.state import StateInputs

from tests.postgresql.helpers import COMMAND, run_process
from tests.support.postgres import PostgresServer


def state_inputs(connection: dict[str, Any], name: str, **overrides: Any) -> dict[str, Any]:
    """Every input of `state`."""
    return inputs(StateInputs, connection=connection, name=name, **overrides)


def read_request(inputs: dict[str, Any], outputs: dict[str, Any] | None) -> dict[str, Any]:
    """A stateResourceReadRequest (outputs present during apply, absent for a dump)."""
    return state_read_request("state", inputs, outputs)


def event_request(inputs: dict[str, Any], outputs: dict[str, Any], key: str) -> dict[str, Any]:
    """A stateResourceEvent adding resource `key`."""
    value = {"type": "file", "input_properties": {"k": key}, "output_properties": {}}
    patch = [{"op": "add", "path": f"/resources/{key}", "value": value}]
    return state_event_request("state", inputs, outputs, event="create", patch=patch)


def stored_events(server: PostgresServer, name: str) -> list[tuple[int, str, Any]]:
    """The events of a state as stored, in index order."""
    with server.connect() as conn:
        return [
            (index, event, patch)
            for index, event, patch in conn.execute(
                "SELECT index, event, patch FROM nixops4.state_events WHERE state_name = %s "
                "ORDER BY index",
                (name,),
            )
        ]


def create_store(inputs: dict[str, Any]) -> dict[str, Any]:
    """Run the state resource's own create in a separate process, as nixops4 does."""
    return outputs_of(run_process([create_request("state", inputs)]).response)


def test_lifecycle_read_then_events(
    postgres_server: PostgresServer, connection: dict[str, Any]
) -> None:
    """Create, then one process reads and appends events; the next read materialises them."""
    inputs = state_inputs(connection, "life")
    outputs = create_store(inputs)
    assert outputs == {"name": "life", "table": "nixops4.state_events"}
    assert outputs == create_store(inputs)
    run = run_process(
        [read_request(inputs, outputs)]
        + [event_request(inputs, outputs, f"r{i}") for i in range(3)]
    )
    assert run.responses[0] == {
        "stateResourceReadResponse": {
            "state": {"_type": "nixopsState", "resources": {}, "deployments": {}}
        }
    }
    assert run.responses[1:] == [{"stateResourceEventResponse": {}}] * 3
    events = stored_events(postgres_server, "life")
    assert [index for index, _, _ in events] == [0, 1, 2, 3]
    assert events[0][1] == "initial"
    state = run_process([read_request(inputs, None)]).response["stateResourceReadResponse"]["state"]
    assert sorted(state["resources"]) == ["r0", "r1", "r2"]
    assert state == materialise(patch for _, _, patch in events)


def test_a_second_writer_is_refused_naming_the_holder(
    postgres_server: PostgresServer, connection: dict[str, Any]
) -> None:
    """While one deploy holds the state, another fails with a message naming the holder."""
    inputs = state_inputs(connection, "busy")
    outputs = create_store(inputs)
    with tempfile.TemporaryFile() as stderr, ProviderProcess(COMMAND, stderr=stderr) as first:
        assert "stateResourceReadResponse" in first.request(read_request(inputs, outputs))
        assert first.request(event_request(inputs, outputs, "a")) == {
            "stateResourceEventResponse": {}
        }
        second = run_process([read_request(inputs, outputs), event_request(inputs, outputs, "b")])
        message = error_of(second.responses[0])
        assert "is locked by " in message
        assert f"pid {first.process.pid}" in message
        assert "another deploy is writing this state" in message
        assert "errorResponse" in second.responses[1]
        dump = run_process([read_request(inputs, None)]).response
        assert list(dump["stateResourceReadResponse"]["state"]["resources"]) == ["a"]
        first.close()
    assert [i for i, _, _ in stored_events(postgres_server, "busy")] == [0, 1]


def _deploy(
    inputs: dict[str, Any], outputs: dict[str, Any], prefix: str, results: dict[str, Any]
) -> None:
    """One deploy: read, then five events, each with a short pause."""
    requests = [read_request(inputs, outputs)]
    requests += [event_request(inputs, outputs, f"{prefix}{i}") for i in range(5)]
    results[prefix] = run_process(requests).responses


def test_concurrent_deploys_wait_and_lose_nothing(
    postgres_server: PostgresServer, connection: dict[str, Any]
) -> None:
    """Two deploys at once with lockWaitSeconds: one waits, all events land once, indices are 0..n."""
    inputs = state_inputs(connection, "shared", lockWaitSeconds=30)
    outputs = create_store(inputs)
    results: dict[str, Any] = {}
    threads = [
        threading.Thread(target=_deploy, args=(inputs, outputs, prefix, results))
        for prefix in ("x", "y")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for responses in results.values():
        assert all("errorResponse" not in response for response in responses), responses
    events = stored_events(postgres_server, "shared")
    assert [index for index, _, _ in events] == list(range(11))
    keys = [patch[0]["path"] for _, _, patch in events[1:]]
    assert sorted(keys) == sorted(f"/resources/{p}{i}" for p in "xy" for i in range(5))
    assert keys[:5] in (
        [f"/resources/x{i}" for i in range(5)],
        [f"/resources/y{i}" for i in range(5)],
    )
    state = materialise(patch for _, _, patch in events)
    assert len(state["resources"]) == 10


def test_killed_writer_loses_nothing_recorded(
    postgres_server: PostgresServer, connection: dict[str, Any]
) -> None:
    """A provider killed mid-deploy keeps every acknowledged event and releases its lock."""
    inputs = state_inputs(connection, "killed")
    outputs = create_store(inputs)
    with tempfile.TemporaryFile() as stderr:
        process = ProviderProcess(COMMAND, stderr=stderr)
        process.request(read_request(inputs, outputs))
        for i in range(4):
            assert process.request(event_request(inputs, outputs, f"k{i}")) == {
                "stateResourceEventResponse": {}
            }
        process.send_line(json.dumps(event_request(inputs, outputs, "k4")).encode())
        process.process.send_signal(signal.SIGKILL)
        process.process.wait()
        stderr.seek(0)
        TRANSCRIPT.append(stderr.read().decode(errors="replace"))
    deadline = time.monotonic() + 10
    while True:
        run = run_process([read_request(inputs, outputs)])
        if "stateResourceReadResponse" in run.response or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    resources = run.response["stateResourceReadResponse"]["state"]["resources"]
    assert {f"k{i}" for i in range(4)} <= set(resources) <= {f"k{i}" for i in range(5)}
    indices = [i for i, _, _ in stored_events(postgres_server, "killed")]
    assert indices == list(range(len(indices)))


def test_states_share_one_table_independently(
    postgres_server: PostgresServer, connection: dict[str, Any]
) -> None:
    """Two state names in one table have their own history and their own lock."""
    one, two = state_inputs(connection, "one"), state_inputs(connection, "two")
    out_one, out_two = create_store(one), create_store(two)
    with tempfile.TemporaryFile() as stderr, ProviderProcess(COMMAND, stderr=stderr) as first:
        first.request(read_request(one, out_one))
        first.request(event_request(one, out_one, "only-in-one"))
        run = run_process([read_request(two, out_two), event_request(two, out_two, "only-in-two")])
        assert run.responses[1] == {"stateResourceEventResponse": {}}
        first.close()
    dump = run_process([read_request(one, None)]).response["stateResourceReadResponse"]["state"]
    assert list(dump["resources"]) == ["only-in-one"]


def test_a_patch_that_does_not_apply_is_refused(
    postgres_server: PostgresServer, connection: dict[str, Any]
) -> None:
    """A patch that does not apply to the state is an error and is not recorded."""
    inputs = state_inputs(connection, "bad-patch")
    outputs = create_store(inputs)
    bad = event_request(inputs, outputs, "x")
    bad["stateResourceEvent"]["patch"] = [{"op": "remove", "path": "/resources/missing"}]
    run = run_process([read_request(inputs, outputs), bad])
    assert "state patch does not apply" in error_of(run.responses[1])
    assert [i for i, _, _ in stored_events(postgres_server, "bad-patch")] == [0]


def test_event_after_an_unlocked_read_of_a_new_state(connection: dict[str, Any]) -> None:
    """A read without outputs (no lock) of a fresh state, then an event: recorded, not refused."""
    inputs = state_inputs(connection, "read-then-write")
    created = outputs_of(run_process([create_request("state", inputs, stateful=False)]).response)
    run = run_process([read_request(inputs, None), event_request(inputs, created, "first")])
    assert "stateResourceReadResponse" in run.responses[0]
    assert run.responses[1] == {"stateResourceEventResponse": {}}
    reread = run_process([read_request(inputs, created)]).response
    assert list(reread["stateResourceReadResponse"]["state"]["resources"]) == ["first"]


def test_a_deployer_without_ddl_rights_uses_existing_tables(
    postgres_server: PostgresServer, connection: dict[str, Any], tmp_path: Any
) -> None:
    """Tables made by an administrator serve a user that may only read and write their rows."""
    from tests.postgresql.helpers import new_password

    create_store(state_inputs(connection, "admin-made"))
    password, path = new_password(tmp_path, "deployer")
    with postgres_server.connect() as conn:
        conn.execute(f"CREATE ROLE state_deployer LOGIN PASSWORD '{password}'")
        conn.execute("GRANT USAGE ON SCHEMA nixops4 TO state_deployer")
        conn.execute(
            "GRANT SELECT, INSERT, UPDATE ON nixops4.state_events, nixops4.state_events_locks"
            " TO state_deployer"
        )
    limited = {**connection, "user": "state_deployer", "passwordFile": str(path)}
    inputs = state_inputs(limited, "admin-made")
    outputs = create_store(inputs)
    run = run_process([read_request(inputs, outputs), event_request(inputs, outputs, "r")])
    assert run.responses[1] == {"stateResourceEventResponse": {}}, run.responses
    assert [i for i, _, _ in stored_events(postgres_server, "admin-made")] == [0, 1]


def test_a_store_that_cannot_create_its_tables_closes_its_connection(
    postgres_server: PostgresServer, connection: dict[str, Any], tmp_path: Any
) -> None:
    """When table creation fails on first use, the store's connection is closed, not left open."""
    import gc
    import warnings

    from tests.postgresql.helpers import handle, new_password

    password, path = new_password(tmp_path, "no_ddl")
    with postgres_server.connect() as conn:
        conn.execute(f"CREATE ROLE state_no_ddl LOGIN PASSWORD '{password}'")
    limited = {**connection, "user": "state_no_ddl", "passwordFile": str(path)}
    inputs = state_inputs(limited, "no-ddl", schema="no_ddl_here")
    gc.collect()  # what earlier tests left (an unclosed event loop) must not be counted here
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        message = error_of(handle(read_request(inputs, None)))
        gc.collect()
    assert "cannot create the state tables" in message
    assert "permission denied" in message
    unclosed = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert [text for text in unclosed if "psycopg" in text] == []
    with postgres_server.connect() as conn:
        sessions = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE usename = 'state_no_ddl'"
        ).fetchone()
    assert sessions == (0,)
