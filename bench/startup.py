"""Provider start-up: spawn → first errorResponse → exit, against `python -c pass` in the same run.

NixOps4 starts one provider process per resource operation, so this fixed cost is paid on every
resource of every deploy.  Two requests are measured per provider: an unknown resource type
(answered by the dispatcher alone) and invalid inputs for a real type (which loads pydantic and the
resource module, but no backend client); the latter is also shown against a bare `import
pydantic`, the cost any pydantic-based provider pays.  Run: `.venv/bin/python -m bench.startup [runs]`.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from functools import partial
from pathlib import Path

from nixops4_protocol.client import ProviderProcess
from nixops4_protocol.requests import create_request
from nixops4_providers import PROVIDERS

from bench.report import Row, median_seconds, print_table

ROOT = Path(__file__).resolve().parents[1]
TARGET = 4.0
"""DESIGN.md §7: start-up within 4x the bare interpreter."""


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


def one_request(command: list[str], request: bytes) -> None:
    """Start the provider, send one request, read the reply, close stdin and wait for exit."""
    with ProviderProcess(command) as process:
        process.send_line(request.rstrip(b"\n"))
        reply = process.read_response()
    if "errorResponse" not in reply:
        raise RuntimeError(f"expected an errorResponse from {command}, got {reply!r}")


def _request(type_name: str) -> bytes:
    request = create_request(type_name, {"benchUnknownField": 1}, stateful=True)
    return json.dumps(request).encode() + b"\n"


def main() -> None:
    """Measure and print the start-up table."""
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    floor = median_seconds(
        lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), runs=runs
    )
    pydantic_floor = median_seconds(
        lambda: subprocess.run(
            [sys.executable, "-c", "from pydantic import BaseModel"], check=True
        ),
        runs=runs,
    )
    rows: list[Row] = []
    for name, command in provider_commands().items():
        unknown = _request("no-such-type")
        invalid = _request(first_type(name))
        for label, request in (("unknown type", unknown), ("invalid inputs", invalid)):
            ours = median_seconds(partial(one_request, command, request), runs=runs)
            rows.append(Row(f"{name}: {label}", ours, floor, "python -c pass", TARGET))
        rows.append(
            Row(f"{name}: invalid inputs", rows[-1].ours, pydantic_floor, "import pydantic", 2.0)
        )
    print(f"Provider start-up, median of {runs} runs each ({sys.version.split()[0]})\n")
    print_table(rows)


if __name__ == "__main__":
    main()
