"""Drive `nixops4-secrets` as nixops4 does, and remember every generated value for leak scans."""

from __future__ import annotations

import json
import tempfile
import threading
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from nixops4_protocol.client import ProviderProcess
from nixops4_protocol.requests import create_request, destroy_request, update_request
from nixops4_protocol.testing import TRANSCRIPT, Run, leaked, outputs_of, run_requests
from nixops4_protocol.testing import inputs as full_inputs
from nixops4_providers.secrets.model import SecretInputs

from tests.support.executables import installed

COMMAND = [installed("nixops4-secrets")]
"""The installed provider executable, as nixops4 starts it."""

TYPE = "secret"

GENERATED: dict[str, bool] = {}
"""Every value a test read from a secret file, mapped to whether it was created with exposeValue."""
OUTPUTS: list[dict[str, Any]] = []
"""Every set of output properties the provider returned."""
STDERR: list[str] = []
"""Every stderr text the provider wrote."""

KINDS = ("password", "token", "uuid", "ssh-ed25519", "wireguard", "tsig")


def inputs(name: str, kind: str, **overrides: Any) -> dict[str, Any]:
    """The full input set of a secret, with `overrides` (wire names) applied.

    bcrypt runs at its cheapest cost unless a test says otherwise, to keep the tests fast.
    """
    return full_inputs(SecretInputs, name=name, kind=kind, **{"bcryptCost": 4, **overrides})


def run(requests: Sequence[dict[str, Any]], cwd: Path, env: dict[str, str] | None = None) -> Run:
    """Run the provider once in `cwd` with these requests; record its output for leak scans."""
    result = run_requests(COMMAND, requests, cwd=cwd, env=env)
    assert result.exit_status == 0, result.stderr
    _record(result.stderr, result.responses)
    return result


def _record(stderr: str, responses: Sequence[dict[str, Any]]) -> None:
    STDERR.append(stderr)
    for response in responses:
        body = next(iter(response.values()))
        if isinstance(body, dict) and "outputProperties" in body:
            OUTPUTS.append(body["outputProperties"])


class Session:
    """One provider process driven request by request; its output is recorded for leak scans."""

    def __init__(self, cwd: Path, env: dict[str, str] | None = None) -> None:
        """Start the provider in `cwd`."""
        self._stack = ExitStack()
        self._stderr = self._stack.enter_context(tempfile.TemporaryFile())  # noqa: SIM115 - closed in close()
        self.process = self._stack.enter_context(
            ProviderProcess(COMMAND, stderr=self._stderr, cwd=cwd, env=env)
        )
        self.responses: list[dict[str, Any]] = []

    def request(self, message: dict[str, Any]) -> dict[str, Any]:
        """Send one request, return its response."""
        response = self.process.request(message)
        self.responses.append(response)
        return response

    def close(self) -> str:
        """End the process, record its output, and return its stderr."""
        with self._stack:
            status, trailing = self.process.close()
            self._stderr.seek(0)
            stderr = self._stderr.read().decode("utf-8", errors="replace")
        TRANSCRIPT.append(stderr)
        TRANSCRIPT.extend(repr(response) for response in self.responses)
        TRANSCRIPT.append(trailing.decode("utf-8", errors="replace"))
        _record(stderr, self.responses)
        assert status == 0, stderr
        return stderr


def race(
    cwd: Path,
    properties: dict[str, Any],
    count: int,
    *,
    while_running: Callable[[], None] = lambda: None,
    message: dict[str, Any] | None = None,
) -> list[tuple[dict[str, Any], str]]:
    """Start `count` warmed-up provider processes, release their creates of one secret together.

    `message` replaces the create request (e.g. an update that rotates). `while_running` runs in
    the test while the requests are under way (e.g. to release a lock).
    Returns each process's outputs and stderr.
    """
    sessions = [Session(cwd) for _ in range(count)]
    for index, session in enumerate(sessions):
        warm_up = create_request(TYPE, inputs(f"warm-{index}", "uuid"), stateful=True)
        outputs_of(session.request(warm_up))
    barrier = threading.Barrier(count)

    def create_one(session: Session) -> None:
        barrier.wait()
        session.request(message or create_request(TYPE, properties, stateful=True))

    threads = [threading.Thread(target=create_one, args=(s,)) for s in sessions]
    for thread in threads:
        thread.start()
    while_running()
    for thread in threads:
        thread.join()
    return [(outputs_of(s.responses[-1]), s.close()) for s in sessions]


def create(cwd: Path, properties: dict[str, Any]) -> dict[str, Any]:
    """Create one secret in a fresh process and return its outputs."""
    return outputs_of(run([create_request(TYPE, properties, stateful=True)], cwd).response)


def update(
    cwd: Path, new: dict[str, Any], old: dict[str, Any], outputs: dict[str, Any]
) -> tuple[dict[str, Any], str]:
    """Update from `old` to `new` in a fresh process; return the outputs and the stderr."""
    result = run([update_request(TYPE, new, old, outputs)], cwd)
    return outputs_of(result.response), result.stderr


def destroy(cwd: Path, properties: dict[str, Any], outputs: dict[str, Any]) -> Run:
    """Destroy in a fresh process."""
    return run([destroy_request(TYPE, properties, outputs)], cwd)


def value_of(outputs: dict[str, Any], *, exposed: bool = False) -> str:
    """Read the generated value from the file the outputs point at, and remember it.

    The directory store's own key, when there is one, is remembered too.
    """
    path = Path(outputs["path"])
    value = path.read_text(encoding="utf-8")
    GENERATED[value] = GENERATED.get(value, False) or exposed
    store_key = path.parent / ".store-key"
    if store_key.exists():
        GENERATED.setdefault(store_key.read_text(encoding="ascii"), False)
    return value


def events(stderr: str, name: str) -> list[str]:
    """The log events (JSON lines on stderr) about secret `name`."""
    found = []
    for line in stderr.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("resource") == f'"{name}"':
            found.append(str(entry["event"]))
    return found


def fragments(value: str) -> list[str]:
    """The value and its long lines (a multi-line key may leak line by line or JSON-escaped)."""
    lines = [line for line in value.splitlines() if len(line) >= 16 and not line.startswith("-")]
    return [value, *lines]


def leaks() -> list[str]:
    """Describe every generated value found where it must not be: output, stdout, stderr."""
    found = []
    outputs_text = [json.dumps(outputs) for outputs in OUTPUTS]
    for value, exposed in GENERATED.items():
        for fragment in fragments(value):
            where = (
                leaked(fragment, STDERR)
                if exposed
                else leaked(fragment) + leaked(fragment, outputs_text)
            )
            if where:
                found.append(
                    f"a generated value ({len(value)} chars) appears in {len(where)} text(s)"
                )
                break
    return found
