"""Run every benchmark and print one table: `.venv/bin/python -m bench [--quick]`.

Every module of this package with a `rows(modes, count)` function contributes rows, in the order
of its `ORDER` constant: a new benchmark plugs in by defining both. A module with only `main()`
prints its own table after this one.
`--quick` runs each with few repetitions, to check the benchmarks themselves.
"""

import importlib
import pkgutil
import sys
from pathlib import Path
from typing import Any

from bench.modes import modes
from bench.report import Row, machine, print_table


def benchmarks(function: str) -> list[Any]:
    """The benchmark modules that define `function` (`rows`, or only `main`), in table order."""
    found = []
    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"bench.{info.name}")
        if callable(getattr(module, function, None)) and (
            function == "rows" or not callable(getattr(module, "rows", None))
        ):
            found.append(module)
    return sorted(found, key=lambda module: (getattr(module, "ORDER", 99), module.__name__))


def main() -> None:
    """Collect the rows of every benchmark in one run and print them as one table."""
    quick = "--quick" in sys.argv[1:]
    print(f"Machine: {machine()}\n")
    table: list[Row] = []
    with modes() as both:
        for module in benchmarks("rows"):
            table += module.rows(both, 5) if quick else module.rows(both)
        servers = both.servers_memory()
    print_table(table)
    print(f"\nWarm servers and their waiting workers at the end: {servers}.")
    for module in benchmarks("main"):  # benchmarks that print a table of their own
        print()
        sys.argv = sys.argv[:1]
        module.main()


if __name__ == "__main__":
    main()
