"""Provider start-up: spawn → first errorResponse → exit, cold and warm, against `python -c pass`.

NixOps4 starts one provider process per resource operation, so this fixed cost is paid on every
resource of every deploy. Two requests are measured per provider: an unknown resource type
(answered by the dispatcher alone) and invalid inputs for a real type (which needs pydantic and
the resource module, but no backend). Cold, the process imports them; warm, a worker of the
per-user server (everything imported) answers and the process is a thin client. Cold invalid
inputs are also shown against a bare `import pydantic`, the cost any pydantic-based provider
pays. Peak memory is that of the process NixOps4 starts. Run: `.venv/bin/python -m bench.startup [runs]`.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

from nixops4_protocol.requests import create_request
from nixops4_providers import PROVIDERS

from bench.modes import ROOT, Modes, modes
from bench.report import Row, interleaved, one_run, peak_of, print_table

ORDER = 0
"""Place of these rows in the table of `python -m bench`."""

COLD_TARGET = 4.0
"""DESIGN.md §7 before the warm server: start-up within 4x the bare interpreter."""
WARM_TARGET = 1.5
"""DESIGN.md §7: warm start-up within 1.5x the bare interpreter."""
MEMORY_TARGET_MIB = {"cold": 60.0, "warm": 20.0}
"""DESIGN.md §7: peak memory of the process NixOps4 starts."""


def provider_commands() -> dict[str, list[str]]:
    """The command line of every provider that exists, plus the example provider."""
    commands = {"example": [sys.executable, str(ROOT / "tests" / "example_provider")]}
    for name, target in PROVIDERS.items():
        try:
            importlib.import_module(target.partition(":")[0])
        except ModuleNotFoundError:
            continue
        commands[name] = [str(Path(sys.executable).parent / f"nixops4-{name}")]
    return commands


def first_type(name: str) -> str:
    """A resource type the provider serves."""
    if name == "example":
        return "file"
    module_name, _, attribute = PROVIDERS[name].partition(":")
    provider = getattr(importlib.import_module(module_name), attribute)
    type_name: str = provider.type_names[0]
    return type_name


def _request(type_name: str) -> bytes:
    request = create_request(type_name, {"benchUnknownField": 1}, stateful=True)
    return json.dumps(request).encode() + b"\n"


PASS = [sys.executable, "-c", "pass"]
PYDANTIC = [sys.executable, "-c", "from pydantic import BaseModel"]


def rows(modes: Modes, runs: int = 30) -> list[Row]:
    """Start-up rows of every provider, cold and warm, each block with its floors interleaved."""
    found: list[Row] = []
    nothing = partial(bytes)
    for name, command in provider_commands().items():
        modes.start_server(command)
        requests = {
            "unknown type": _request("no-such-type"),
            "invalid inputs": _request(first_type(name)),
        }
        actions: dict[str, Callable[[], object]] = {
            "floor": one_run(PASS, nothing),
            "pydantic": one_run(PYDANTIC, nothing),
        }
        for label, request in requests.items():
            for mode, env in (("cold", modes.cold), ("warm", modes.warm)):
                stdin = partial(bytes, request)
                actions[f"{label}, {mode}"] = one_run(command, stdin, env, b"errorResponse")
        medians = interleaved(actions, runs=runs)
        modes.require_warm(command)
        for label, request in requests.items():
            for mode, env in (("cold", modes.cold), ("warm", modes.warm)):
                target = WARM_TARGET if mode == "warm" else COLD_TARGET
                peak = peak_of(command, partial(bytes, request), env)
                found.append(
                    Row(
                        f"{name}: {label}, {mode}", medians[f"{label}, {mode}"], medians["floor"],
                        "python -c pass", target, peak, MEMORY_TARGET_MIB[mode],
                    )
                )  # fmt: skip
                if mode == "cold" and label == "invalid inputs":
                    found.append(
                        Row(
                            f"{name}: {label}, cold", medians[f"{label}, cold"],
                            medians["pydantic"], "import pydantic", 2.0,
                        )
                    )  # fmt: skip
    found += _launcher_rows(modes, runs)
    found.append(
        Row("python -c pass (floor, last block)", medians["floor"], medians["floor"],
            "python -c pass", None, peak_of(PASS, nothing))
    )  # fmt: skip
    return found


def _launcher_rows(modes: Modes, runs: int) -> list[Row]:
    """dns warm through a launcher without pip's console-script template (which imports `re`).

    Shows what the thin client costs on its own, e.g. for an executable written by a package
    builder instead of the template.
    """
    launcher = [
        sys.executable,
        "-c",
        "from nixops4_protocol.warm.client import launch; launch('nixops4_providers.dns:provider')",
    ]
    modes.start_server(launcher)
    requests = {
        "unknown type": _request("no-such-type"),
        "invalid inputs": _request(first_type("dns")),
    }
    actions: dict[str, Callable[[], object]] = {"floor": one_run(PASS, partial(bytes))}
    for label, request in requests.items():
        actions[label] = one_run(launcher, partial(bytes, request), modes.warm, b"errorResponse")
    medians = interleaved(actions, runs=runs)
    modes.require_warm(launcher)
    return [
        Row(
            f"dns: {label}, warm, launcher without the console-script template", medians[label],
            medians["floor"], "python -c pass", WARM_TARGET,
            peak_of(launcher, partial(bytes, request), modes.warm), MEMORY_TARGET_MIB["warm"],
        )
        for label, request in requests.items()
    ]  # fmt: skip


def main() -> None:
    """Measure and print the start-up table."""
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    with modes() as both:
        table = rows(both, runs)
    print(f"Provider start-up, median of {runs} runs each ({sys.version.split()[0]})\n")
    print_table(table)


if __name__ == "__main__":
    main()
