"""A stand-in for `nixops4-eval`, the evaluator process `nixops4` starts (`_NIXOPS4_EVAL`).

It answers NixOps4's evaluator protocol (`rust/nixops4-core/src/eval_api.rs` of the pinned
NixOps4: JSON lines of serde's externally tagged enums) by evaluating the file given to
`nixops4 apply --file` with Debian's `nix-instantiate` and ./bridge.nix, instead of Nix's C API.
Like nixops4-eval it applies the root component's `rootFunction` to its own fixpoint with the
outputs NixOps4 has sent so far (`PutResourceOutput`). An item that reads an output not known yet
is answered `Needs` with that output, never cached, so NixOps4 applies the dependency and asks
again: NixOps4 decides the order. Only file roots are supported (no flakes).

Each set of known outputs is evaluated once as a snapshot in which every item is tried on its own;
an item that failed there is evaluated alone, so its error (or the output it needs) can be read.
Stdlib only, so it runs as a plain script. `NIXOPS4_BRIDGE_TRANSCRIPT` names a file that gets each
request and its answer as a JSON line, for tests.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

BRIDGE_NIX = Path(__file__).with_name("bridge.nix")
NEEDS_MARKER = re.compile(r"__nixops4_bridge_needs_#(\{.*?\})#")


class EvaluationError(Exception):
    """Evaluation failed for a reason other than a missing output."""


class OutputNeededError(Exception):
    """Evaluation needs a resource output NixOps4 has not sent yet."""

    def __init__(self, named_property: dict[str, Any]) -> None:
        """Keep the `NamedProperty` (resource path and output name) that is needed."""
        super().__init__(json.dumps(named_property))
        self.named_property = named_property


def _path_key(path: list[str]) -> str:
    """The key of a component path in bridge.nix's `outputsJson` (Nix's `builtins.toJSON`)."""
    return json.dumps(path, separators=(",", ":"), ensure_ascii=False)


def _nix_error(stderr: str) -> str:
    """The error of a failed `nix-instantiate`, without npins' trace lines and the trace hint."""
    lines = [
        line
        for line in stderr.splitlines()
        if not line.startswith("trace: npins:") and "--show-trace" not in line
    ]
    return "\n".join(lines).strip() or "nix-instantiate failed without a message"


def _lookup(snapshot: dict[str, Any], path: list[str], what: str, input_name: str | None) -> Any:
    """The snapshot's entry for an item: `{"value": ...}`, or None when it failed or is absent."""
    node = snapshot
    for name in path:
        members = node.get("members", {})
        if "value" not in members or name not in members["value"]:
            return None
        node = members["value"][name]
    if what == "members":
        entry = node.get("members")
        if isinstance(entry, dict) and "value" in entry:
            entry = {"value": sorted(entry["value"])}  # the names, as `builtins.attrNames` sorts
    elif what == "kind":
        entry = node.get("kind")
    elif what == "input":
        entry = node.get("resource", {}).get("inputs", {}).get(input_name)
    else:
        entry = node.get("resource", {}).get(what)
    return entry if isinstance(entry, dict) and "value" in entry else None


class Evaluator:
    """Evaluations of one root file under the outputs known so far."""

    def __init__(self, nix_instantiate: str) -> None:
        """Use `nix_instantiate`; nothing is evaluated until a file is loaded."""
        self.nix_instantiate = nix_instantiate
        self.file: str | None = None
        self.outputs: dict[str, dict[str, Any]] = {}
        self.snapshot: dict[str, Any] | None = None
        self.evaluations = 0

    def put_output(self, named_property: dict[str, Any], value: Any) -> None:
        """Record an output; later evaluations see it."""
        key = _path_key(named_property["resource"])
        self.outputs.setdefault(key, {})[named_property["name"]] = value
        self.snapshot = None

    def _evaluate(self, probe: dict[str, Any] | None) -> Any:
        if self.file is None:
            raise EvaluationError("no file loaded (the bridge supports `nixops4 --file` only)")
        self.evaluations += 1
        result = subprocess.run(
            [
                self.nix_instantiate,
                "--store", "dummy://",
                "--eval", "--strict", "--json",
                str(BRIDGE_NIX),
                "--argstr", "file", self.file,
                "--argstr", "outputsJson", json.dumps(self.outputs, ensure_ascii=False),
                "--argstr", "probeJson", json.dumps(probe),
            ],
            capture_output=True,
            text=True,
            check=False,
        )  # fmt: skip
        if result.returncode != 0:
            needs = NEEDS_MARKER.search(result.stderr)
            if needs:
                raise OutputNeededError(json.loads(needs.group(1)))
            raise EvaluationError(_nix_error(result.stderr))
        return json.loads(result.stdout)

    def item(self, path: list[str], what: str, input_name: str | None = None) -> Any:
        """Evaluate one item of the component at `path` (`members`, `kind`, `info`, ...)."""
        if self.snapshot is None:
            try:
                self.snapshot = self._evaluate(None)
            except (EvaluationError, OutputNeededError):
                self.snapshot = {}
        entry = _lookup(self.snapshot, path, what, input_name)
        if entry is not None:
            return entry["value"]
        return self._evaluate({"path": path, "what": what, "input": input_name})


class Bridge:
    """The evaluator protocol: requests in, responses out, ids mapped to component paths."""

    def __init__(self, evaluator: Evaluator, out: TextIO, transcript: TextIO | None) -> None:
        """Answer on `out`; record each exchange in `transcript` when given."""
        self.evaluator = evaluator
        self.out = out
        self.transcript = transcript
        self.composites: dict[int, list[str]] = {}
        self.members: dict[int, list[str]] = {}

    def handle(self, request: dict[str, Any]) -> None:
        """Answer one request (some requests get no answer, as with nixops4-eval)."""
        ((kind, body),) = request.items()
        response = getattr(self, f"_{kind}", self._unsupported)(body, kind)
        if self.transcript is not None:
            self.transcript.write(json.dumps({"request": request, "response": response}) + "\n")
            self.transcript.flush()
        if response is not None:
            self.out.write(json.dumps(response, ensure_ascii=False) + "\n")
            self.out.flush()

    def _query(
        self, body: dict[str, Any], answer: str, compute: Callable[[], Any]
    ) -> dict[str, Any]:
        message_id = body["message_id"]
        try:
            result: dict[str, Any] = {"Done": compute()}
        except OutputNeededError as needs:
            result = {"Needs": needs.named_property}
        except (EvaluationError, KeyError) as error:
            return {"Error": [message_id, str(error)]}
        return {"QueryResponse": [message_id, {answer: result}]}

    def _unsupported(self, body: Any, kind: str) -> dict[str, Any] | None:
        target = body.get("assign_to") or body.get("message_id") if isinstance(body, dict) else None
        message = f"the evaluator bridge does not support {kind} (use `nixops4 --file`)"
        return {"Error": [target, message]} if target is not None else None

    def _LoadFile(self, body: dict[str, Any], kind: str) -> dict[str, Any] | None:  # noqa: N802
        root_id = body["assign_to"]
        self.evaluator.file = body["payload"]["abspath"]
        self.composites[root_id["id"]] = []
        try:
            self.evaluator.item([], "members")
        except OutputNeededError:
            pass  # not an error: NixOps4 asks again once the output is there
        except EvaluationError as error:
            return {"Error": [root_id, str(error)]}
        return None

    def _ListMembers(self, body: dict[str, Any], kind: str) -> dict[str, Any]:  # noqa: N802
        path = self.composites[body["payload"]["id"]]
        return self._query(body, "ListMembers", lambda: self.evaluator.item(path, "members"))

    def _AssignMember(self, body: dict[str, Any], kind: str) -> None:  # noqa: N802
        parent = self.composites[body["payload"]["parent"]["id"]]
        self.members[body["assign_to"]["id"]] = [*parent, body["payload"]["name"]]

    def _GetComponentKind(self, body: dict[str, Any], kind: str) -> dict[str, Any]:  # noqa: N802
        member_id = body["payload"]["id"]
        path = self.members[member_id]

        def component_kind() -> dict[str, Any]:
            if self.evaluator.item(path, "kind") == "resource":
                return {"Resource": {"id": member_id}}
            self.composites[member_id] = path
            return {"Composite": {"id": member_id}}

        return self._query(body, "ComponentKind", component_kind)

    def _GetResource(self, body: dict[str, Any], kind: str) -> dict[str, Any]:  # noqa: N802
        resource_id = body["payload"]
        path = self.members[resource_id["id"]]

        def provider_info() -> dict[str, Any]:
            info = self.evaluator.item(path, "info")
            return {
                "id": resource_id,
                "provider": info["provider"],
                "resource_type": info["type"],
                "state": info["state"],
            }

        return self._query(body, "ResourceProviderInfo", provider_info)

    def _ListResourceInputs(self, body: dict[str, Any], kind: str) -> dict[str, Any]:  # noqa: N802
        path = self.members[body["payload"]["id"]]
        return self._query(
            body, "ListResourceInputs", lambda: self.evaluator.item(path, "inputNames")
        )

    def _GetResourceInput(self, body: dict[str, Any], kind: str) -> dict[str, Any]:  # noqa: N802
        path = self.members[body["payload"]["resource"]["id"]]
        name = body["payload"]["name"]
        return self._query(
            body, "ResourceInputValue", lambda: self.evaluator.item(path, "input", name)
        )

    def _PutResourceOutput(self, body: list[Any], kind: str) -> None:  # noqa: N802
        named_property, value = body
        self.evaluator.put_output(named_property, value)


def main() -> None:
    """Serve the protocol on stdin/stdout until stdin closes."""
    if sys.argv[1:] != ["<subprocess>"]:
        sys.exit("eval_bridge.py is started by nixops4 (as _NIXOPS4_EVAL), not by hand")
    evaluator = Evaluator(os.environ.get("NIXOPS4_BRIDGE_NIX_INSTANTIATE", "nix-instantiate"))
    transcript_path = os.environ.get("NIXOPS4_BRIDGE_TRANSCRIPT")
    transcript = open(transcript_path, "a", encoding="utf-8") if transcript_path else None  # noqa: SIM115
    bridge = Bridge(evaluator, sys.stdout, transcript)
    for line in sys.stdin:
        if line.strip():
            bridge.handle(json.loads(line))
    print(f"evaluator bridge: {evaluator.evaluations} evaluations", file=sys.stderr)


if __name__ == "__main__":
    main()
