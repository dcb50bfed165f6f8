"""Acceptance tests of the example provider, run as nixops4 runs it (copy and adapt)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from example_provider import provider
from example_provider.file import FileInputs
from nixops4_protocol import nixgen
from nixops4_protocol.nixgen.files import load_provider
from nixops4_protocol.requests import create_request, state_event_request, state_read_request
from nixops4_protocol.testing import Applied, Case, Step, inputs, run_requests

HERE = Path(__file__).resolve().parent
COMMAND = [sys.executable, "-m", "example_provider"]
"""The provider executable, as nixops4 starts it (run in this directory)."""


def test_file_lifecycle(tmp_path: Path) -> None:
    """A file is written, converged again without change, rewritten, and removed on destroy."""
    path = tmp_path / "greeting.txt"

    def has(text: str) -> Callable[[Applied], None]:
        def check(_: Applied) -> None:
            assert path.read_text(encoding="utf-8") == text

        return check

    Case(
        "file",
        [
            Step(inputs(FileInputs, path=str(path), contents="hello"), check=has("hello")),
            Step(inputs(FileInputs, path=str(path), contents="hi"), expect_outputs={"size": 2}),
            Step(destroy=True),
        ],
        command=COMMAND,
        cwd=HERE,
        observe=lambda: path.exists() and path.stat().st_mtime_ns,
    ).run()
    assert not path.exists()


def test_path_cannot_change_in_place(tmp_path: Path) -> None:
    """A stateful file refuses to move: the path is its identity."""
    first = inputs(FileInputs, path=str(tmp_path / "a"), contents="x")
    moved = {**first, "path": str(tmp_path / "b")}
    refused = "input `path` cannot be changed in place"
    Case(
        "file", [Step(first), Step(moved, expect_error=refused)], provider=provider, stateful=True
    ).run()


def test_memo_keeps_its_first_value() -> None:
    """An update keeps the value the memo was created with."""
    steps = [
        Step({"initialize_with": 1}),
        Step({"initialize_with": 2}, expect_outputs={"value": 1}),
    ]
    Case("memo", steps, provider=provider, stateful=True).run()


def test_state_file_keeps_events(tmp_path: Path) -> None:
    """Events sent to the state store are read back as one materialised document."""
    store = {"name": str(tmp_path / "state.jsonl")}
    patch = [{"op": "add", "path": "/resources/r", "value": {"type": "file"}}]
    run = run_requests(
        COMMAND,
        [
            create_request("state_file", store, stateful=True),
            state_read_request("state_file", store, {}),
            state_event_request("state_file", store, {}, event="create", patch=patch),
            state_read_request("state_file", store, {}),
        ],
        cwd=HERE,
    )
    state = run.responses[-1]["stateResourceReadResponse"]["state"]
    assert state["resources"] == {"r": {"type": "file"}}


def test_nix_module_is_current() -> None:
    """`nix/` holds what `python -m nixops4_protocol.nixgen example_provider:provider nix` makes."""
    provider, description = load_provider("example_provider:provider")
    for name, text in nixgen.render(provider, description).items():
        assert (HERE / "nix" / name).read_text(encoding="utf-8") == text, f"stale: nix/{name}"
