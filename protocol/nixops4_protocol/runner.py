"""`nixops4-provider-run`: drive any provider by hand, like upstream `nixops4-resource-runner`.

The subcommands and flags are upstream's (`create`, `update`, `state-read`, `state-event`) plus
`destroy`; so is the output, byte for byte (checked against upstream's runner by
tests/nixops4/test_runner_conformance.py): outputs or state as pretty JSON with sorted keys (serde's
map order) on stdout, errors on stderr with exit 1 (`error: failed to create resource: ...` for
create, `error: ...` for the others). `--provider-arg` (repeatable) is an addition for providers
that need arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from . import client


class CliError(Exception):
    """A usage or provider error, printed on stderr with exit status 1."""


def _json_argument(flag: str, text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as error:
        raise CliError(f"Error: failed to parse value of {flag}: {error}") from None


def _json_object(flag: str, text: str) -> dict[str, Any]:
    value = _json_argument(flag, text)
    if not isinstance(value, dict):
        raise CliError(f"Error: value of {flag} must be a JSON object")
    return value


def _create_inputs(args: argparse.Namespace) -> dict[str, Any]:
    inputs = _json_object("--inputs-json", args.inputs_json) if args.inputs_json else {}
    pairs = [(name, _json_argument(f"--input-json {name}", text)) for name, text in args.input_json]
    pairs += [(name, text) for name, text in args.input_str]
    for name, value in pairs:
        if name in inputs:
            raise CliError(f"error: duplicate input: {name}")
        inputs[name] = value
    return inputs


def _text(values: Any) -> Any:
    """An option's value as given: argparse turns `--flag=--` into `[]` (it drops the `--`)."""
    return "--" if values == [] else values


class _StoreText(argparse._StoreAction):
    """`store` that keeps a literal `--` value (`--type=--`)."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option: Any = None) -> None:
        """Store the value, `--` included."""
        super().__call__(parser, namespace, _text(values), option)


class _AppendText(argparse._AppendAction):
    """`append` that keeps a literal `--` value (`--provider-arg=--`)."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option: Any = None) -> None:
        """Append the value, `--` included."""
        super().__call__(parser, namespace, _text(values), option)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nixops4-provider-run",
        description="Send one request to a NixOps4 resource provider and print the result.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.register("action", None, _StoreText)
        sub.register("action", "store", _StoreText)
        sub.register("action", "append", _AppendText)
        sub.add_argument("--provider-exe", required=True, help="Provider executable to start.")
        sub.add_argument(
            "--provider-arg",
            action="append",
            default=[],
            metavar="ARG",
            help="Argument for the provider executable (repeatable; not in upstream's runner).",
        )
        sub.add_argument("--type", required=True, help="Resource type.")
        return sub

    create = command("create", "Create a resource and print its outputs.")
    create.add_argument("--inputs-json", help="All inputs as one JSON object.")
    create.add_argument(
        "-j",
        "--input-json",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "JSON"),
        help="One input as JSON (repeatable).",
    )
    create.add_argument(
        "-s",
        "--input-str",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "STR"),
        help="One input as a string (repeatable).",
    )
    create.add_argument("--stateful", action="store_true", help="Send isStateful: true.")

    plan = command(
        "plan",
        "Show what create (or, with --previous-*, update) would change, writing nothing; "
        "for types that can plan.",
    )
    plan.add_argument("--inputs-json", required=True, help="The inputs to apply.")
    plan.add_argument("--previous-inputs-json", help="The previous inputs, to plan an update.")
    plan.add_argument("--previous-outputs-json", help="The previous outputs, to plan an update.")

    update = command("update", "Update a resource and print its new outputs.")
    update.add_argument("--inputs-json", required=True, help="The new inputs.")
    update.add_argument("--previous-inputs-json", required=True, help="The previous inputs.")
    update.add_argument("--previous-outputs-json", required=True, help="The previous outputs.")

    destroy = command("destroy", "Destroy a resource.")
    destroy.add_argument("--inputs-json", required=True, help="The resource's inputs.")
    destroy.add_argument("--outputs-json", help="The resource's outputs, if it has a record.")

    read = command("state-read", "Read and print the state held by a state-store resource.")
    read.add_argument("--inputs-json", required=True, help="The state resource's inputs.")
    read.add_argument("--outputs-json", required=True, help="The state resource's outputs.")

    event = command("state-event", "Send one state event to a state-store resource.")
    event.add_argument("--inputs-json", required=True, help="The state resource's inputs.")
    event.add_argument("--outputs-json", required=True, help="The state resource's outputs.")
    event.add_argument("--event", required=True, help="The event name (create, update, destroy).")
    event.add_argument("--nixops-version", required=True, help="The nixops version string.")
    event.add_argument("--patch-json", required=True, help="The RFC 6902 patch, as JSON.")
    return parser


def _request(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    """Build the request for the subcommand, and the prefix of its error message (upstream's)."""
    if args.command == "create":
        request = client.create_request(args.type, _create_inputs(args), stateful=args.stateful)
        return request, "failed to create resource: "
    inputs = _json_object("--inputs-json", args.inputs_json)
    if args.command == "plan" and args.previous_inputs_json is None:
        return client.create_request(args.type, inputs, stateful=True), "failed to plan resource: "
    if args.command in ("update", "plan"):
        request = client.update_request(
            args.type,
            inputs,
            _json_object("--previous-inputs-json", args.previous_inputs_json),
            _json_object("--previous-outputs-json", args.previous_outputs_json or "{}"),
        )
        return request, "failed to plan resource: " if args.command == "plan" else ""
    outputs = _json_object("--outputs-json", args.outputs_json) if args.outputs_json else None
    if args.command == "destroy":
        return client.destroy_request(args.type, inputs, outputs), "failed to destroy resource: "
    if args.command == "state-read":
        return client.state_read_request(args.type, inputs, outputs or {}), ""
    patch = _json_argument("--patch-json", args.patch_json)
    if not isinstance(patch, list):
        raise CliError("Error: value of --patch-json must be a JSON array of operations")
    request = client.state_event_request(
        args.type,
        inputs,
        outputs or {},
        event=args.event,
        patch=patch,
        nixops_version=args.nixops_version,
    )
    return request, ""


_EXPECTED = {
    "plan": "createResourceResponse",
    "create": "createResourceResponse",
    "update": "updateResourceResponse",
    "destroy": "destroyResourceResponse",
    "state-read": "stateResourceReadResponse",
    "state-event": "stateResourceEventResponse",
}

_SUCCESS: dict[str, Callable[[dict[str, Any]], str]] = {
    "createResourceResponse": lambda body: _pretty(body["outputProperties"]),
    "updateResourceResponse": lambda body: _pretty(body["outputProperties"]),
    "stateResourceReadResponse": lambda body: _pretty(body["state"]),
    "stateResourceEventResponse": lambda body: "State event sent successfully",
    "destroyResourceResponse": lambda body: "Resource destroyed successfully",
}


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


def _check_response(response: Any) -> None:
    """Refuse a response nixops4 would refuse: not one known kind, or a body off the schema."""
    from .messages import RESPONSE_KINDS, unwrap

    try:
        unwrap(response, RESPONSE_KINDS)
    except ValueError as error:  # pydantic's ValidationError is a ValueError
        raise CliError(
            f"error: the provider's response does not match the protocol: {error}"
        ) from None


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with `argv`; return the exit status."""
    args = _parser().parse_args(argv)
    try:
        request, prefix = _request(args)
        command = [args.provider_exe, *args.provider_arg]
        env = None
        if args.command == "plan":
            from .provider import PLAN_VARIABLE

            env = {**os.environ, PLAN_VARIABLE: "1"}
        try:
            with client.ProviderProcess(command, env=env) as process:
                response = process.request(request)
        except (OSError, client.ProviderExitedError) as error:
            raise CliError(f"error: {prefix}{error}") from None
        except ValueError as error:
            raise CliError(f"error: the provider's response is not JSON: {error}") from None
        _check_response(response)
        ((kind, body),) = response.items()
        if kind == "errorResponse":
            raise CliError(f"error: {prefix}{body['message']}")
        expected = _EXPECTED[args.command]
        if args.command == "plan" and args.previous_inputs_json is not None:
            expected = "updateResourceResponse"
        if kind != expected:
            raise CliError(f"error: expected {expected} from provider but got: {kind}")
    except CliError as error:
        sys.stderr.write(f"{error}\n")
        return 1
    sys.stdout.write(_SUCCESS[kind](body) + "\n")
    return 0


def main() -> None:
    """Console-script entry point."""
    sys.exit(run())
