"""A small stand-in for `nixops4 apply`: evaluate a deployment, apply what is ready, repeat.

The deployment is evaluated by NixOps4's own Nix library (a Nix file returning, per resource
path, its type, state and the inputs NixOps4 would send when they evaluate with the outputs given
so far). Resources whose inputs evaluate are applied through our provider executables, as nixops4
does: a stateful resource gets `create` once and then `update` only when its inputs changed, a
stateless one gets `create` (converge) on every apply. NixOps4's `local` provider is not ours:
its `state_file` is this driver's JSON state file, and `exec` members (nixops4-nixos switching a
real host) are evaluated and their inputs kept, never executed.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nixops4_protocol.client import create_request, update_request
from nixops4_protocol.testing import outputs_of, run_requests

from tests.support.executables import installed

Evaluate = Callable[[dict[str, Any], str | None], Any]
"""(Nested outputs so far, None) → the evaluation (`resources`: path → type/state/ready/inputs);
(outputs, a resource path) → that resource's inputs, raising DeployError with Nix's error."""
LOCAL_TYPES = ("state_file", "exec")
"""Types of NixOps4's own `local` provider, handled by the driver."""
PARALLEL = 4
"""Resources applied at once when several are ready (nixops4 applies independent ones together)."""


class DeployError(RuntimeError):
    """A resource failed, or the deployment cannot make progress."""


def provider_of_type() -> dict[str, str]:
    """Resource type name → the provider (executable suffix) serving it."""
    import importlib

    from nixops4_providers import PROVIDERS

    found: dict[str, str] = {}
    for name, target in PROVIDERS.items():
        module, _, attribute = target.partition(":")
        for type_name in getattr(importlib.import_module(module), attribute).type_names:
            found[type_name] = name
    return found


@dataclass
class Step:
    """What one apply did with one resource."""

    path: str
    type: str
    action: str
    """created, updated, unchanged (stateful, skipped), converged (stateless), checked, state."""
    outputs: dict[str, Any]
    inputs: dict[str, Any] | None = None


@dataclass
class Applied:
    """The result of one apply: every step in order, and the last evaluation."""

    steps: list[Step] = field(default_factory=list)
    evaluation: dict[str, Any] = field(default_factory=dict)

    def outputs(self, path: str) -> dict[str, Any]:
        """The outputs of the resource at `path`."""
        return next(s.outputs for s in self.steps if s.path == path)

    def inputs(self, path: str) -> dict[str, Any]:
        """The inputs the resource at `path` was applied with."""
        step = next(s for s in self.steps if s.path == path)
        assert step.inputs is not None
        return step.inputs

    def with_action(self, *actions: str) -> list[str]:
        """The paths of the resources whose step was one of `actions`, sorted."""
        return sorted(s.path for s in self.steps if s.action in actions)


def nested(flat: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """`{"social.vm": outs}` → `{"social": {"vm": outs}}`, as NixOps4's outputValues are."""
    tree: dict[str, Any] = {}
    for path, outputs in flat.items():
        *parents, leaf = path.split(".")
        node = tree
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = outputs
    return tree


class Driver:
    """Applies one deployment repeatedly, keeping the state of stateful resources in a file."""

    def __init__(
        self,
        evaluate: Evaluate,
        *,
        state_file: Path,
        cwd: Path,
        report: Callable[[Step], None] = lambda _: None,
        env: dict[str, str] | None = None,
    ) -> None:
        """Apply with `evaluate`; state in `state_file`; providers run in `cwd`."""
        self.evaluate = evaluate
        self.state_file = state_file
        self.cwd = cwd
        self.report = report
        self.env = env
        self.providers = provider_of_type()

    def state(self) -> dict[str, Any]:
        """The recorded resources: path → {type, inputs, outputs}."""
        if not self.state_file.exists():
            return {}
        recorded: dict[str, Any] = json.loads(self.state_file.read_text(encoding="utf-8"))
        return recorded

    def apply(self) -> Applied:
        """Apply every resource once, in dependency order, as `nixops4 apply` does."""
        applied = Applied()
        done: dict[str, dict[str, Any]] = {}
        state = self.state()
        while True:
            evaluation = self.evaluate(nested(done), None)
            applied.evaluation = evaluation
            resources: dict[str, Any] = evaluation["resources"]
            pending = sorted(set(resources) - set(done))
            if not pending:
                return applied
            ready = [path for path in pending if resources[path]["ready"]]
            if not ready:
                self.evaluate(nested(done), pending[0])  # raises, with Nix's error
                raise DeployError(f"the inputs of {pending[0]} do not evaluate")
            with ThreadPoolExecutor(PARALLEL) as pool:
                jobs = [(path, resources[path], state.get(path)) for path in ready]
                steps = list(pool.map(lambda job: self._apply_one(*job), jobs))
            for step in steps:
                done[step.path] = step.outputs
                applied.steps.append(step)
                if resources[step.path]["state"] is not None:
                    state[step.path] = {
                        "type": step.type,
                        "inputs": step.inputs,
                        "outputs": step.outputs,
                    }
                self.report(step)
            self._save(state)

    def _apply_one(
        self, path: str, resource: dict[str, Any], previous: dict[str, Any] | None
    ) -> Step:
        type_name, inputs = resource["type"], resource["inputs"]
        if type_name == "state_file":
            return Step(path, type_name, "state", {}, inputs)
        if type_name == "exec":
            return Step(path, type_name, "checked", {}, inputs)
        stateful = resource["state"] is not None
        if stateful and previous is not None and previous["inputs"] == inputs:
            return Step(path, type_name, "unchanged", previous["outputs"], inputs)
        if stateful and previous is not None:
            request = update_request(type_name, inputs, previous["inputs"], previous["outputs"])
            action = "updated"
        else:
            request = create_request(type_name, inputs, stateful=stateful)
            action = "created" if stateful else "converged"
        command = [installed(f"nixops4-{self.providers[type_name]}")]
        run = run_requests(command, [request], cwd=self.cwd, env=self.env)
        if "errorResponse" in run.response:
            message = run.response["errorResponse"]["message"]
            raise DeployError(f"{path} ({type_name}): {message}")
        return Step(path, type_name, action, outputs_of(run.response), inputs)

    def _save(self, state: dict[str, Any]) -> None:
        temporary = self.state_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(state, indent=2, sort_keys=True), encoding="utf-8")
        temporary.replace(self.state_file)


def nix_evaluator(expression: Path, arguments: list[str], env: dict[str, str]) -> Evaluate:
    """An `Evaluate` running `nix-instantiate --eval --strict --json expression arguments`."""

    def evaluate(outputs: dict[str, Any], explain: str | None) -> Any:
        extra = [] if explain is None else ["--argstr", "explain", explain]
        done = subprocess.run(
            [
                "nix-instantiate", "--store", "dummy://", "--eval", "--strict", "--json",
                str(expression), "--argstr", "outputValues", json.dumps(outputs), *arguments, *extra,
            ],
            capture_output=True, text=True, env={**os.environ, **env}, timeout=300, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise DeployError(f"evaluating {expression.name} failed:\n{done.stderr}")
        return json.loads(done.stdout)

    return evaluate
