"""Testing providers: acceptance cases run as nixops4 runs them, full inputs, leak scans.

`Case` is an acceptance test of one resource: a list of `Step`s, each the inputs of one apply and
what it must give. The first step creates, later steps update with the previous inputs and outputs
(stateful) or converge again (stateless), a destroy step destroys. After every successful apply
the case applies again and checks it changed nothing; every captured stdout and stderr is scanned
for the secrets the case declares. `inputs(Model, ...)` builds the full inputs nixops4 sends.

Every provider run also records its output in `TRANSCRIPT`, so a test suite can scan all captured
output for leaked secrets at the end.
"""

from __future__ import annotations

import io
import json
import tempfile
import typing
from collections.abc import Callable, Mapping, Sequence
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .client import ProviderProcess
from .requests import JsonObject, create_request, destroy_request, update_request

if TYPE_CHECKING:
    from pydantic import BaseModel

    from .provider import Provider

TRANSCRIPT: list[str] = []
"""All stdout and stderr text captured from provider processes in this test process."""


@dataclass
class Run:
    """The outcome of one provider process: its responses, trailing output, stderr, exit status."""

    responses: list[JsonObject]
    trailing_stdout: bytes
    stderr: str
    exit_status: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def response(self) -> JsonObject:
        """The only response of a one-request run."""
        if len(self.responses) != 1:
            raise AssertionError(f"expected one response, got {len(self.responses)}")
        return self.responses[0]


def run_requests(
    command: Sequence[str],
    requests: Sequence[JsonObject | bytes],
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
    _record(stderr, responses, trailing.decode("utf-8", errors="replace"))
    return Run(responses, trailing, stderr, status)


def _record(stderr: str, responses: Sequence[JsonObject], stdout: str = "") -> None:
    TRANSCRIPT.append(stderr)
    TRANSCRIPT.extend(repr(response) for response in responses)
    TRANSCRIPT.append(stdout)


def outputs_of(response: JsonObject) -> JsonObject:
    """Return the outputProperties of a create/update response, failing with the error text."""
    if "errorResponse" in response:
        raise AssertionError(f"provider answered an error: {response['errorResponse']['message']}")
    ((kind, body),) = response.items()
    if kind not in {"createResourceResponse", "updateResourceResponse"}:
        raise AssertionError(f"expected a create or update response, got {kind}")
    outputs: JsonObject = body["outputProperties"]
    return outputs


def error_of(response: JsonObject) -> str:
    """Return the message of an errorResponse, failing if the response is not an error."""
    if "errorResponse" not in response:
        raise AssertionError(f"expected an errorResponse, got {response}")
    message: str = response["errorResponse"]["message"]
    return message


def leaked(secret: str, texts: Sequence[str] | None = None) -> list[str]:
    """Return the captured texts (the TRANSCRIPT by default) that contain `secret`."""
    return [text for text in (TRANSCRIPT if texts is None else texts) if secret and secret in text]


def assert_not_leaked(secrets: Sequence[str], texts: Sequence[str] | None = None) -> None:
    """Fail if any of `secrets` appears in the texts (the TRANSCRIPT by default).

    The message tells how long the secret is and where it was found, never the secret itself.
    """
    for secret in secrets:
        found = leaked(secret, texts)
        if found:
            raise AssertionError(
                f"a secret ({len(secret)} chars) appeared in {len(found)} captured output(s)"
            )


def inputs(model: type[BaseModel], /, **overrides: Any) -> JsonObject:
    """The full inputs of a resource as nixops4 sends them, with `overrides` applied.

    Every field of `model` is present under its wire (camelCase) name: the value given in
    `overrides` (by wire or Python name), else the field's default, nulls included, the way the
    Nix module system fills in option defaults. A mapping given for a nested model (or a list or
    attribute set of them) gets its defaults too. A missing required input or an unknown name at
    the top raises TypeError; nested values are passed on as given otherwise, so a test can send
    an invalid entry and check the provider's answer.
    """
    return _filled(model, overrides)


def _filled(model: type[BaseModel], given: Mapping[str, Any], *, strict: bool = True) -> JsonObject:
    """`given` with the defaults of `model` added; `strict` refuses unknown and missing fields."""
    from pydantic_core import to_jsonable_python

    by_name = {name: field.alias or name for name, field in model.model_fields.items()}
    wire_given = {by_name.get(key, key): value for key, value in given.items()}
    unknown = sorted(set(wire_given) - set(by_name.values()))
    if unknown and strict:
        raise TypeError(
            f"{model.__name__} has no field {', '.join(unknown)} "
            f"(fields: {', '.join(by_name.values())})"
        )
    result: JsonObject = {}
    missing = []
    for name, info in model.model_fields.items():
        wire = by_name[name]
        if wire in wire_given:
            result[wire] = _fill(info.annotation, to_jsonable_python(wire_given[wire]))
        elif info.is_required():
            missing.append(wire)
        else:
            default = info.get_default(call_default_factory=True)
            result[wire] = to_jsonable_python(default, by_alias=True)
    if missing and strict:
        raise TypeError(f"{model.__name__} needs a value for {', '.join(missing)}")
    return result | {key: wire_given[key] for key in unknown}


def _fill(annotation: Any, value: Any) -> Any:
    """Fill in the defaults of the models `annotation` names inside `value`."""
    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _filled(annotation, value, strict=False) if isinstance(value, dict) else value
    origin, arguments = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _fill(arguments[0], value)
    if origin in (list, tuple, Sequence) and isinstance(value, list) and arguments:
        return [_fill(arguments[0], item) for item in value]
    if origin in (dict, Mapping) and isinstance(value, dict) and arguments:
        return {key: _fill(arguments[-1], item) for key, item in value.items()}
    models = [a for a in arguments if isinstance(a, type) and issubclass(a, BaseModel)]
    if len(models) == 1 and isinstance(value, dict):  # an optional (or union) submodule
        return _filled(models[0], value, strict=False)
    return value


@dataclass(frozen=True)
class Step:
    """One apply of a `Case`: the inputs it sends and what it must give.

    `inputs` is required except for a destroy step, which defaults to the previous inputs.
    `expect_outputs` lists outputs that must have exactly these values (others are not checked).
    `expect_error` is text (or several texts) the error message must contain: the step must fail,
    and the case carries on from the previous successful step. `expect_log` is text that stderr
    must contain. `check` is called with the `Applied` result for anything else, such as asking
    the backend. `reapply=False` skips the second apply (see `Case`).
    """

    inputs: Mapping[str, Any] | None = None
    expect_outputs: Mapping[str, Any] | None = None
    expect_error: str | Sequence[str] | None = None
    expect_log: str | Sequence[str] = ()
    check: Callable[[Applied], object] | None = None
    destroy: bool = False
    reapply: bool = True


@dataclass(frozen=True)
class Applied:
    """What one step gave: the request sent, the response, and the provider's stderr."""

    index: int
    request: JsonObject
    response: JsonObject
    stderr: str
    exit_status: int = 0
    """The exit status of the provider process (0 in-process); it must be 0."""

    @property
    def outputs(self) -> JsonObject:
        """The outputs of a successful create or update (AssertionError otherwise)."""
        return outputs_of(self.response)

    @property
    def error(self) -> str:
        """The message of an error response (AssertionError otherwise)."""
        return error_of(self.response)


@dataclass
class Case:
    """An acceptance test of one resource, run the way nixops4 runs it.

    Give either `command` (the provider executable; each step runs in a fresh process, as nixops4
    starts one per operation) or `provider` (a `Provider`, driven in this process: faster, and
    its stderr and stdout are captured all the same).

    Steps run in order. The first step, and the first after a destroy, sends a create. Later
    steps of a `stateful` case send an update carrying the previous inputs and outputs; those of
    a stateless case send a create again, as nixops4 does on every apply. A step with
    `destroy=True` sends a destroy with the previous outputs.

    After each successful create of a stateless case, the same create is sent again (nixops4's
    next apply): it must succeed with the same outputs, and `observe()` (a snapshot of the backend
    the test supplies, e.g. a row of the server's catalog) must be equal before and after, so
    the second apply is checked to be a no-op. After a successful destroy the destroy is sent
    again: it must succeed (destroying what is gone succeeds) and change nothing. A stateful
    resource with unchanged inputs gets no request from nixops4, so its creates and updates are
    not repeated.

    Every response and captured stdout and stderr is scanned for each value of `secrets` after
    each step, before its expectations; a `check` may append values it learns (a generated
    password) to the list.
    """

    type: str
    steps: Sequence[Step]
    command: Sequence[str] | None = None
    provider: Provider | None = None
    stateful: bool = False
    secrets: list[str] = field(default_factory=list)
    observe: Callable[[], object] | None = None
    env: dict[str, str] | None = None
    cwd: str | Path | None = None
    _texts: list[str] = field(default_factory=list, init=False, repr=False)

    def run(self) -> list[Applied]:
        """Run every step in order and return what each gave; AssertionError names the step."""
        if (self.command is None) == (self.provider is None):
            raise TypeError("a Case needs exactly one of `command` and `provider`")
        self._texts = []
        results: list[Applied] = []
        last: tuple[Mapping[str, Any], JsonObject] | None = None
        for index, step in enumerate(self.steps, start=1):
            request = self._request(step, last, index)
            applied, again = self._apply(index, step, request)
            self._scan(index)  # before any check, whose message may quote the output
            results.append(applied)
            _expect(step, applied)
            if again is not None:
                _expect_same(index, applied.response, *again)
            if "errorResponse" not in applied.response:
                last = None if step.destroy else (dict(step.inputs or {}), applied.outputs)
            if step.check is not None:
                step.check(applied)
                self._scan(index)  # the check may have declared more secrets
        return results

    def _request(
        self, step: Step, last: tuple[Mapping[str, Any], JsonObject] | None, index: int
    ) -> JsonObject:
        if step.destroy:
            if last is None and step.inputs is None:
                raise TypeError(f"step {index}: nothing to destroy and no inputs given")
            inputs = step.inputs if step.inputs is not None else last[0] if last else {}
            return destroy_request(self.type, inputs, last[1] if last else None)
        if step.inputs is None:
            raise TypeError(f"step {index}: `inputs` is required except for a destroy step")
        if last is not None and self.stateful:
            return update_request(self.type, step.inputs, last[0], last[1])
        return create_request(self.type, step.inputs, stateful=self.stateful)

    def _apply(
        self, index: int, step: Step, request: JsonObject
    ) -> tuple[Applied, tuple[JsonObject, object, object] | None]:
        """Send the step's request (and, where nixops4 would, the same again); keep the output.

        Returns what the step gave and, when it was sent again, the second response with what
        `observe` saw before and after it.
        """
        repeat = step.reapply and step.expect_error is None
        repeat = repeat and (
            step.destroy or ("createResourceRequest" in request and not self.stateful)
        )
        again = None
        with self._session() as session:
            response = session.send(request)
            if repeat and "errorResponse" not in response:
                before = self.observe() if self.observe else None
                second = session.send(request)
                again = (second, before, self.observe() if self.observe else None)
        self._texts.extend((session.stderr, session.stdout, *map(json.dumps, session.responses)))
        return Applied(index, request, response, session.stderr, session.exit_status), again

    def _session(self) -> _Session:
        if self.provider is not None:
            return _InProcess(self.provider)
        return _Subprocess(list(self.command or ()), self.env, self.cwd)

    def _scan(self, index: int) -> None:
        for secret in self.secrets:
            found = leaked(secret, self._texts)
            if found:
                raise AssertionError(
                    f"step {index}: a declared secret ({len(secret)} chars) appeared in "
                    f"{len(found)} captured response(s) or stdout/stderr text(s)"
                )


def _expect(step: Step, applied: Applied) -> None:
    """Check the response of a step against what the step expects."""
    where = f"step {applied.index}"
    if applied.exit_status != 0:
        raise AssertionError(f"{where}: the provider exited with status {applied.exit_status}")
    is_error = "errorResponse" in applied.response
    if step.expect_error is not None:
        if not is_error:
            raise AssertionError(f"{where}: expected an error, got {applied.response}")
        texts = [step.expect_error] if isinstance(step.expect_error, str) else step.expect_error
        for text in texts:
            if text not in applied.error:
                raise AssertionError(f"{where}: error {applied.error!r} lacks {text!r}")
    elif is_error:
        raise AssertionError(f"{where}: provider answered an error: {applied.error}")
    elif step.destroy:
        if "destroyResourceResponse" not in applied.response:
            raise AssertionError(f"{where}: expected a destroy response, got {applied.response}")
    else:
        outputs = applied.outputs
        for key, value in (step.expect_outputs or {}).items():
            if outputs.get(key) != value:
                raise AssertionError(
                    f"{where}: output {key} is {outputs.get(key)!r}, not {value!r}"
                )
    logs = [step.expect_log] if isinstance(step.expect_log, str) else step.expect_log
    for text in logs:
        if text not in applied.stderr:
            raise AssertionError(f"{where}: stderr lacks {text!r}")


def _expect_same(
    index: int, first: JsonObject, again: JsonObject, before: object, after: object
) -> None:
    """Check that applying a step again changed nothing."""
    if again != first:
        raise AssertionError(f"step {index}: applying again answered {again}, not {first}")
    if before != after:
        raise AssertionError(
            f"step {index}: applying again was not a no-op: observed {before!r}, then {after!r}"
        )


class _Session:
    """Where a step's requests go; collects the responses, stdout and stderr of the step."""

    stderr = ""
    stdout = ""
    exit_status = 0

    def __init__(self) -> None:
        self.responses: list[JsonObject] = []

    def send(self, request: JsonObject) -> JsonObject:
        raise NotImplementedError

    def __enter__(self) -> _Session:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class _InProcess(_Session):
    """Requests answered by a `Provider` in this process, its stdout and stderr captured."""

    def __init__(self, provider: Provider) -> None:
        super().__init__()
        self.provider = provider
        self._stderr = io.StringIO()
        self._stdout = io.StringIO()

    def send(self, request: JsonObject) -> JsonObject:
        from .messages import RESPONSE_KINDS, unwrap

        with redirect_stderr(self._stderr), redirect_stdout(self._stdout):
            answer = self.provider.handle(json.loads(json.dumps(request)))
        response: JsonObject = json.loads(json.dumps(answer))
        unwrap(response, RESPONSE_KINDS)
        self.responses.append(response)
        return response

    def __exit__(self, *exc: object) -> None:
        self.stderr, self.stdout = self._stderr.getvalue(), self._stdout.getvalue()
        _record(self.stderr, self.responses, self.stdout)


class _Subprocess(_Session):
    """Requests answered by a fresh provider process, as nixops4 starts one per operation."""

    def __init__(self, command: list[str], env: dict[str, str] | None, cwd: str | Path | None):
        super().__init__()
        self._stderr_file = tempfile.TemporaryFile()  # noqa: SIM115 - closed in __exit__
        self.process = ProviderProcess(command, stderr=self._stderr_file, env=env, cwd=cwd)

    def send(self, request: JsonObject) -> JsonObject:
        from .messages import RESPONSE_KINDS, unwrap

        response = self.process.request(request)
        unwrap(response, RESPONSE_KINDS)
        self.responses.append(response)
        return response

    def __exit__(self, *exc: object) -> None:
        try:
            status, trailing = self.process.close()
            self._stderr_file.seek(0)
            self.stderr = self._stderr_file.read().decode("utf-8", errors="replace")
            self.stdout = trailing.decode("utf-8", errors="replace")
        finally:
            self.process.__exit__(None, None, None)
            self._stderr_file.close()
        _record(self.stderr, self.responses, self.stdout)
        self.exit_status = status


async def async_run_requests(
    command: Sequence[str],
    requests: Sequence[JsonObject],
    *,
    env: dict[str, str] | None = None,
    cwd: str | Path | None = None,
) -> Run:
    """Like `run_requests`, on asyncio: for tests that drive several providers at once."""
    import asyncio

    process = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=cwd,
    )
    stdin, stdout, stderr_stream = process.stdin, process.stdout, process.stderr
    if stdin is None or stdout is None or stderr_stream is None:
        raise RuntimeError("the provider process was started without pipes")
    stderr_task = asyncio.ensure_future(stderr_stream.read())
    responses = []
    for request in requests:
        stdin.write(json.dumps(request).encode("utf-8") + b"\n")
        await stdin.drain()
        line = await stdout.readline()
        if not line:
            break
        responses.append(json.loads(line))
    stdin.close()
    trailing = await stdout.read()
    status = await process.wait()
    stderr = (await stderr_task).decode("utf-8", errors="replace")
    _record(stderr, responses)
    return Run(responses, trailing, stderr, status)
