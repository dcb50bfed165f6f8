"""`nixops4-provider-run` drives a provider like upstream's resource runner, plus destroy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.protocol.test_process import EXAMPLE
from tests.support.executables import installed

RUNNER = installed("nixops4-provider-run")
PROVIDER = ["--provider-exe", EXAMPLE[0], "--provider-arg", EXAMPLE[1]]


def runner(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the runner CLI and capture its output."""
    return subprocess.run([RUNNER, *args], capture_output=True, text=True, cwd=cwd, check=False)


def test_create_prints_outputs_as_pretty_json(tmp_path: Path) -> None:
    """The create command merges --inputs-json, -j and -s, and prints the outputs object only."""
    result = runner(
        "create", *PROVIDER, "--type", "file", "--inputs-json", '{"path": "f.txt"}',
        "-s", "contents", "hello", "-j", "mode", "384", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"size": 5}
    assert result.stdout.startswith("{\n  ")
    assert (tmp_path / "f.txt").read_text() == "hello"
    assert (tmp_path / "f.txt").stat().st_mode & 0o777 == 0o600


def test_create_refuses_a_duplicate_input(tmp_path: Path) -> None:
    """A name given twice is an error, as upstream (no override semantics)."""
    result = runner(
        "create", *PROVIDER, "--type", "file", "-s", "path", "a", "-s", "path", "b", cwd=tmp_path
    )
    assert (result.returncode, result.stdout) == (1, "")
    assert "error: duplicate input: path" in result.stderr


def test_provider_errors_go_to_stderr_with_status_1(tmp_path: Path) -> None:
    """A provider's errorResponse becomes `error: failed to create resource: ...`."""
    result = runner(
        "create", *PROVIDER, "--type", "memo", "-j", "initialize_with", "1", cwd=tmp_path
    )
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith("error: failed to create resource: ")
    assert "isStateful must be true" in result.stderr


def test_malformed_json_argument(tmp_path: Path) -> None:
    """Unparseable JSON on the command line is reported before any provider starts."""
    result = runner("create", *PROVIDER, "--type", "file", "--inputs-json", "{", cwd=tmp_path)
    assert result.returncode == 1
    assert "failed to parse value of --inputs-json" in result.stderr


def test_update_and_destroy(tmp_path: Path) -> None:
    """The update command sends previous inputs/outputs and prints new outputs; destroy removes the file."""
    old = {"path": "g.txt", "contents": "one"}
    assert (
        runner(
            "create", *PROVIDER, "--type", "file", "--inputs-json", json.dumps(old), cwd=tmp_path
        ).returncode
        == 0
    )
    new = {"path": "g.txt", "contents": "three"}
    result = runner(
        "update", *PROVIDER, "--type", "file", "--inputs-json", json.dumps(new),
        "--previous-inputs-json", json.dumps(old), "--previous-outputs-json", '{"size": 3}',
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"size": 5}
    moved = runner(
        "update", *PROVIDER, "--type", "file", "--inputs-json", json.dumps(new | {"path": "h"}),
        "--previous-inputs-json", json.dumps(new), "--previous-outputs-json", "{}", cwd=tmp_path,
    )  # fmt: skip
    assert moved.returncode == 1
    assert "input `path` cannot be changed in place" in moved.stderr
    gone = runner(
        "destroy", *PROVIDER, "--type", "file", "--inputs-json", json.dumps(new), cwd=tmp_path
    )
    assert gone.returncode == 0, gone.stderr
    assert gone.stdout == "Resource destroyed successfully\n"
    assert not (tmp_path / "g.txt").exists()
    again = runner(
        "destroy", *PROVIDER, "--type", "file", "--inputs-json", json.dumps(new), cwd=tmp_path
    )
    assert again.returncode == 0, "destroying what is already gone succeeds"


def test_state_store_through_the_runner(tmp_path: Path) -> None:
    """state-event appends a patch and state-read prints the materialised document."""
    inputs = '{"name": "state.jsonl"}'
    assert (
        runner(
            "create", *PROVIDER, "--type", "state_file", "--inputs-json", inputs, cwd=tmp_path
        ).returncode
        == 0
    )
    patch = [
        {
            "op": "add",
            "path": "/resources/db",
            "value": {"type": "memo", "input_properties": {}, "output_properties": {"value": 1}},
        }
    ]
    event = runner(
        "state-event", *PROVIDER, "--type", "state_file", "--inputs-json", inputs, "--outputs-json", "{}",
        "--event", "create", "--nixops-version", "0.1.0", "--patch-json", json.dumps(patch), cwd=tmp_path,
    )  # fmt: skip
    assert (event.returncode, event.stdout) == (0, "State event sent successfully\n"), event.stderr
    read = runner(
        "state-read",
        *PROVIDER,
        "--type",
        "state_file",
        "--inputs-json",
        inputs,
        "--outputs-json",
        "{}",
        cwd=tmp_path,
    )
    assert read.returncode == 0, read.stderr
    state = json.loads(read.stdout)
    assert read.stdout == json.dumps(state, indent=2, sort_keys=True) + "\n", "serde's key order"
    assert state["_type"] == "nixopsState"
    assert state["resources"]["db"]["output_properties"] == {"value": 1}


def test_responses_off_the_schema_are_refused(tmp_path: Path) -> None:
    """A provider answering with extra fields or garbage gets a clear error, not a traceback."""
    for reply in (
        '{"createResourceResponse": {"outputProperties": {}, "extra": 1}}',
        "not json",
        "[]",
    ):
        fake = [
            "--provider-exe",
            sys.executable,
            "--provider-arg=-c",
            f"--provider-arg=print({reply!r})",
        ]
        result = runner("create", *fake, "--type", "t", cwd=tmp_path)
        assert (result.returncode, result.stdout) == (1, ""), reply
        assert result.stderr.startswith("error: the provider's response"), result.stderr
        assert "Traceback" not in result.stderr
