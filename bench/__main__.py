"""Run every benchmark and print one table: `.venv/bin/python -m bench [--quick]`.

Every module of this package with a `rows(modes)` function contributes rows, in the order of
its `ORDER` constant: a new benchmark (e.g. `bench/garage.py`) plugs in by defining both.
`--quick` runs each with few repetitions, to check the benchmarks themselves.
"""

import importlib
import pkgutil
import sys
from pathlib import Path
from typing import Any

from bench.modes import modes
from bench.report import Row, machine, print_table


def benchmarks() -> list[Any]:
    """The benchmark modules, in table order."""
    found = []
    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"bench.{info.name}")
        if callable(getattr(module, "rows", None)):
            found.append(module)
    return sorted(found, key=lambda module: (getattr(module, "ORDER", 99), module.__name__))


def main() -> None:
    """Collect the rows of every benchmark in one run and print them as one table."""
    quick = "--quick" in sys.argv[1:]
    print(f"Machine: {machine()}\n")
    table: list[Row] = []
    with modes() as both:
        for module in benchmarks():
            table += module.rows(both, 5) if quick else module.rows(both)
        servers = both.servers_memory()
    print_table(table)
    print(f"\nWarm servers and their waiting workers at the end: {servers}.")


if __name__ == "__main__":
    main()
