"""The example provider as a process: stdout hygiene, error replies, keeps serving, clean EOF."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from nixops4_protocol.client import create_request, state_read_request
from nixops4_protocol.io import MAX_LINE_BYTES
from nixops4_protocol.testing import error_of, outputs_of, run_requests

EXAMPLE = [sys.executable, str(Path(__file__).resolve().parents[1] / "example_provider")]


def _file(path: Path, **extra: Any) -> dict[str, Any]:
    inputs = {"path": str(path), "contents": "hello", "mode": 0o600, "behaviour": None}
    return create_request("file", inputs | extra, stateful=False)


def test_stray_output_does_not_corrupt_the_protocol(tmp_path: Path) -> None:
    """print() and a child process writing to stdout inside a handler land on stderr."""
    run = run_requests(
        EXAMPLE,
        [_file(tmp_path / "a", behaviour="print"), _file(tmp_path / "b", behaviour="child")],
    )
    assert [outputs_of(r) for r in run.responses] == [{"size": 5}, {"size": 5}]
    assert "stray output from a handler" in run.stderr
    assert "stray output from a child process" in run.stderr
    assert run.trailing_stdout == b""
    assert run.exit_status == 0


def test_every_bad_request_gets_one_error_and_the_process_keeps_serving(tmp_path: Path) -> None:
    """Malformed and invalid requests each get one errorResponse; a good request still works."""
    bad: list[tuple[dict[str, Any] | bytes, str]] = [
        (b"{not json", "could not parse the request line as JSON"),
        (b"\xff\xfe{}", "could not parse the request line as JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (
            b'{"createResourceRequest":{"type":"memo","inputProperties":{"initialize_with":NaN},"isStateful":true}}',
            "NaN is not valid JSON",
        ),
        (b"[1, 2]", "exactly one key"),
        (b'"a string"', "exactly one key"),
        ({"deleteResourceRequest": {}}, "unknown request kind `deleteResourceRequest`"),
        ({"createResourceRequest": {}, "updateResourceRequest": {}}, "exactly one key"),
        (
            create_request("nope", {}, stateful=False),
            "unknown resource type `nope` for provider `example`",
        ),
        (_file(tmp_path / "c", colour="red"), "unknown field `colour`"),
        (_file(tmp_path / "c", mode="rw"), "field `mode`: Input should be a valid integer"),
        (
            _file(tmp_path / "c", behaviour="crash"),
            "internal error: RuntimeError: the handler crashed",
        ),
        (_file(tmp_path / "c", behaviour="exit"), "internal error: SystemExit: 3"),
        (
            state_read_request("file", {"path": "x", "contents": "y"}, None),
            "resource type `file` of provider `example` is not a state store",
        ),
        (
            {"createResourceRequest": {"type": "memo", "inputProperties": {"initialize_with": 1}}},
            "for example memo:\n  - missing field `isStateful`",
        ),
        (
            create_request("memo", {"initialize_with": 1}, stateful=False),
            "memo resources require state (isStateful must be true)",
        ),
    ]
    requests = [request for request, _ in bad] + [_file(tmp_path / "ok")]
    run = run_requests(EXAMPLE, requests)
    assert len(run.responses) == len(requests)
    for response, (_, expected) in zip(run.responses, bad, strict=False):
        assert expected in error_of(response)
    assert outputs_of(run.responses[-1]) == {"size": 5}
    assert run.exit_status == 0
    assert run.trailing_stdout == b""


def test_errors_name_the_resource_and_keep_the_cause_chain(tmp_path: Path) -> None:
    """A handler failure names provider, type and resource, and lists each cause."""
    run = run_requests(EXAMPLE, [_file(tmp_path / "d", behaviour="chain")])
    message = error_of(run.response)
    assert message.startswith(f"failed to create example file {tmp_path / 'd'}: internal error:")
    assert "RuntimeError: could not write\nCaused by: OSError: disk on fire" in message


def test_an_oversized_line_is_refused_and_skipped(tmp_path: Path) -> None:
    """A request line longer than the limit gets an error; the next request is served."""
    huge = b'{"createResourceRequest":"' + b"x" * (MAX_LINE_BYTES + 10) + b'"}'
    run = run_requests(EXAMPLE, [huge, _file(tmp_path / "e")])
    assert "request line longer than" in error_of(run.responses[0])
    assert outputs_of(run.responses[1]) == {"size": 5}


def test_eof_exits_zero_without_output() -> None:
    """Closing stdin without any request ends the process with status 0 and no output."""
    run = run_requests(EXAMPLE, [])
    assert (run.exit_status, run.trailing_stdout, run.responses) == (0, b"", [])


def test_responses_are_single_json_lines(tmp_path: Path) -> None:
    """A multi-line error message is still one JSON line on the wire."""
    from nixops4_protocol.client import ProviderProcess

    with ProviderProcess(EXAMPLE) as process:
        process.send_line(json.dumps(_file(tmp_path / "f", colour=1, mode="x")).encode())
        assert process.process.stdout is not None
        line = process.process.stdout.readline()
        status, rest = process.close()
    assert line.endswith(b"\n")
    assert b"\n" not in line[:-1]
    assert "\n" in json.loads(line)["errorResponse"]["message"]
    assert (status, rest) == (0, b"")


def test_registered_secrets_are_scrubbed_from_errors_and_logs(tmp_path: Path) -> None:
    """A secret a handler registered never reaches stderr or the errorResponse, even in a cause."""
    secret = "hunter2-correct-horse-battery"
    run = run_requests(EXAMPLE, [_file(tmp_path / "s", contents=secret, behaviour="leak")])
    message = error_of(run.response)
    assert secret not in message
    assert secret not in run.stderr
    assert "backend said: bad password [redacted]" in message
    assert "the value is [redacted]" in run.stderr


def test_console_logs_on_request(tmp_path: Path) -> None:
    """NIXOPS4_PROVIDER_LOG_FORMAT=console gives human-readable lines instead of JSON."""
    import os

    env = {**os.environ, "NIXOPS4_PROVIDER_LOG_FORMAT": "console"}
    run = run_requests(EXAMPLE, [_file(tmp_path / "c")], env=env)
    line = next(line for line in run.stderr.splitlines() if "wrote file" in line)
    assert not line.startswith("{")
    assert "[info" in line
    assert "resource=" in line
