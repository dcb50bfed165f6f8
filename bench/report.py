"""Shared pieces of the benchmarks: timing, and the table every benchmark prints."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


def median_seconds(action: Callable[[], object], *, runs: int, warmup: int = 1) -> float:
    """Run `action` `warmup` times untimed, then `runs` times; return the median wall time."""
    for _ in range(warmup):
        action()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


@dataclass(frozen=True)
class Row:
    """One benchmark result: ours against the floor measured in the same run."""

    name: str
    ours: float
    floor: float
    floor_name: str
    target: float

    @property
    def ratio(self) -> float:
        """How many times the floor ours takes."""
        return self.ours / self.floor

    def markdown(self) -> str:
        """Render as a Markdown table row."""
        verdict = "ok" if self.ratio <= self.target else "over target"
        return (
            f"| {self.name} | {self.ours * 1000:.1f} ms | {self.floor_name}: "
            f"{self.floor * 1000:.1f} ms | {self.ratio:.2f}x | <= {self.target:g}x ({verdict}) |"
        )


HEADER = (
    "| benchmark | ours (median) | floor (median, same run) | ratio | target |\n"
    "|---|---|---|---|---|"
)


def print_table(rows: list[Row]) -> None:
    """Print rows as a Markdown table on stdout."""
    print(HEADER)
    for row in rows:
        print(row.markdown())
