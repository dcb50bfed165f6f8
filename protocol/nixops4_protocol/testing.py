"""Helpers for testing providers: run one as nixops4 would and keep a transcript of its output.

Every run records the provider's stdout and stderr in `TRANSCRIPT`, so a test suite can scan all
captured output for leaked secrets at the end.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .client import ProviderProcess

TRANSCRIPT: list[str] = []
"""All stdout and stderr text captured from provider processes in this test process."""


@dataclass
class Run:
    """The outcome of one provider process: its responses, trailing output, stderr, exit status."""

    responses: list[dict[str, Any]]
    trailing_stdout: bytes
    stderr: str
    exit_status: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def response(self) -> dict[str, Any]:
        """The only response of a one-request run."""
        assert len(self.responses) == 1, self.responses
        return self.responses[0]


def run_requests(
    command: Sequence[str],
    requests: Sequence[dict[str, Any] | bytes],
    *,
    env: dict[str, str] | None = None,
    cwd: str | Path | None = None,
) -> Run:
    """Start a provider, send each request (a message, or raw bytes for a line), close, reap."""
    with tempfile.TemporaryFile() as stderr_file:
        with ProviderProcess(command, stderr=stderr_file, env=env, cwd=cwd) as process:
            responses = []
            for request in requests:
                if isinstance(request, bytes):
                    process.send_line(request)
                    responses.append(process.read_response())
                else:
                    responses.append(process.request(request))
            status, trailing = process.close()
        stderr_file.seek(0)
        stderr = stderr_file.read().decode("utf-8", errors="replace")
    TRANSCRIPT.append(stderr)
    TRANSCRIPT.extend(repr(response) for response in responses)
    TRANSCRIPT.append(trailing.decode("utf-8", errors="replace"))
    return Run(responses, trailing, stderr, status)


def outputs_of(response: dict[str, Any]) -> dict[str, Any]:
    """Return the outputProperties of a create/update response, failing with the error text."""
    if "errorResponse" in response:
        raise AssertionError(f"provider answered an error: {response['errorResponse']['message']}")
    ((kind, body),) = response.items()
    assert kind in {"createResourceResponse", "updateResourceResponse"}, kind
    outputs: dict[str, Any] = body["outputProperties"]
    return outputs


def error_of(response: dict[str, Any]) -> str:
    """Return the message of an errorResponse, failing if the response is not an error."""
    assert "errorResponse" in response, f"expected an errorResponse, got {response}"
    message: str = response["errorResponse"]["message"]
    return message


def leaked(secret: str, texts: Sequence[str] | None = None) -> list[str]:
    """Return the captured texts (the TRANSCRIPT by default) that contain `secret`."""
    return [text for text in (TRANSCRIPT if texts is None else texts) if secret and secret in text]


async def async_run_requests(
    command: Sequence[str],
    requests: Sequence[dict[str, Any]],
    *,
    env: dict[str, str] | None = None,
    cwd: str | Path | None = None,
) -> Run:
    """Like `run_requests`, on asyncio: for tests that drive several providers at once."""
    import asyncio
    import json

    process = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=cwd,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    assert process.stderr is not None
    stderr_task = asyncio.ensure_future(process.stderr.read())
    responses = []
    for request in requests:
        process.stdin.write(json.dumps(request).encode("utf-8") + b"\n")
        await process.stdin.drain()
        line = await process.stdout.readline()
        if not line:
            break
        responses.append(json.loads(line))
    process.stdin.close()
    trailing = await process.stdout.read()
    status = await process.wait()
    stderr = (await stderr_task).decode("utf-8", errors="replace")
    TRANSCRIPT.append(stderr)
    TRANSCRIPT.extend(repr(response) for response in responses)
    return Run(responses, trailing, stderr, status)
