"""Shared pieces of the benchmarks: timing and peak memory of processes, and the one table."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

MIB = 1024
"""KiB per MiB (`ru_maxrss` is in KiB on Linux)."""


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
class Sample:
    """One process: wall time from spawn to exit, and its stdout."""

    seconds: float
    stdout: bytes


def run_process(command: Sequence[str], stdin: bytes, env: dict[str, str] | None = None) -> Sample:
    """Start `command`, write `stdin` and close it, read stdout to its end, reap it."""
    started = time.perf_counter()
    process = subprocess.Popen(
        list(command),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    if process.stdin is None or process.stdout is None:
        raise RuntimeError("the process's pipes were not opened")
    process.stdin.write(stdin)
    process.stdin.close()
    stdout = process.stdout.read()
    process.stdout.close()
    status = process.wait()
    seconds = time.perf_counter() - started
    if status != 0:
        raise RuntimeError(f"{command} exited with {status}: {stdout!r}")
    return Sample(seconds, stdout)


_PEAK_WRAPPER = """
import os, sys
report, command = int(sys.argv[1]), sys.argv[2:]
pid = os.fork()
if pid == 0:
    os.close(report)
    os.execv(command[0], command)
_, status, usage = os.wait4(pid, 0)
os.write(report, b"%d %d" % (usage.ru_maxrss, os.waitstatus_to_exitcode(status)))
"""
"""Forks and execs the command and reports its `ru_maxrss`. A child of the (large) benchmark
process itself would report the benchmark's own size: `ru_maxrss` keeps the high-water mark of
the memory a process had before `exec`. This wrapper is a bare interpreter (`-S -I`), smaller
than any process measured."""


def peak_kib(command: Sequence[str], stdin: bytes, env: dict[str, str] | None = None) -> int:
    """Peak resident memory (KiB) of one run of `command`, measured through `_PEAK_WRAPPER`."""
    reading, writing = os.pipe()
    try:
        subprocess.run(
            [sys.executable, "-S", "-I", "-c", _PEAK_WRAPPER, str(writing), *command],
            input=stdin,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            pass_fds=[writing],
            check=True,
        )
    finally:
        os.close(writing)
    with os.fdopen(reading, "rb") as report:
        peak, status = map(int, report.read().split())
    if status != 0:
        raise RuntimeError(f"{command} exited with {status}")
    return peak


def interleaved(
    actions: dict[str, Callable[[], object]], *, runs: int, warmup: int = 1
) -> dict[str, float]:
    """Median wall time of each action, run in turn (one of each per round).

    Taking turns keeps a floor and the rows compared with it under the same load, even when
    the machine's load drifts during the benchmark.
    """
    samples: dict[str, list[float]] = {name: [] for name in actions}
    for round_number in range(warmup + runs):
        for name, action in actions.items():
            started = time.perf_counter()
            action()
            if round_number >= warmup:
                samples[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in samples.items()}


def one_run(
    command: Sequence[str],
    stdin: Callable[[], bytes],
    env: dict[str, str] | None = None,
    expect: bytes = b"",
) -> Callable[[], None]:
    """An action for `interleaved`: one run of `command`, checking its stdout has `expect`."""

    def action() -> None:
        sample = run_process(command, stdin(), env)
        if expect not in sample.stdout:
            raise RuntimeError(f"{command}: expected {expect!r} in {sample.stdout[:300]!r}")

    return action


def peak_of(
    command: Sequence[str],
    stdin: Callable[[], bytes],
    env: dict[str, str] | None = None,
    runs: int = 3,
) -> int:
    """The highest peak memory (KiB) of `runs` runs of `command`."""
    return max(peak_kib(command, stdin(), env) for _ in range(runs))


@dataclass(frozen=True)
class Measured:
    """The median wall time and the highest peak memory of a series of processes."""

    seconds: float
    peak_kib: int


def measure(
    command: Sequence[str],
    stdin: Callable[[], bytes],
    *,
    runs: int,
    warmup: int = 1,
    env: dict[str, str] | None = None,
    expect: bytes = b"",
    memory_runs: int = 3,
) -> Measured:
    """Run `command` `warmup` + `runs` times with fresh `stdin()`; check stdout has `expect`.

    Then `memory_runs` more runs measure the peak memory (the highest is kept).
    """
    samples = []
    for index in range(warmup + runs):
        sample = run_process(command, stdin(), env)
        if expect not in sample.stdout:
            raise RuntimeError(f"{command}: expected {expect!r} in {sample.stdout[:300]!r}")
        if index >= warmup:
            samples.append(sample)
    return Measured(
        statistics.median(sample.seconds for sample in samples),
        max(peak_kib(command, stdin(), env) for _ in range(memory_runs)),
    )


@dataclass(frozen=True)
class Row:
    """One benchmark result: ours against the floor measured in the same run."""

    name: str
    ours: float
    floor: float
    floor_name: str
    target: float | None
    peak_kib: int | None = None
    """Peak resident memory of the process NixOps4 starts (the thin client, when warm)."""
    memory_target_mib: float | None = None

    @property
    def ratio(self) -> float:
        """How many times the floor ours takes."""
        return self.ours / self.floor

    def markdown(self) -> str:
        """Render as a Markdown table row."""
        if self.target is None:
            target = "-"
        else:
            verdict = "ok" if self.ratio <= self.target else "over target"
            target = f"<= {self.target:g}x ({verdict})"
        memory = "-" if self.peak_kib is None else f"{self.peak_kib / MIB:.1f} MiB"
        if self.peak_kib is not None and self.memory_target_mib is not None:
            ok = self.peak_kib <= self.memory_target_mib * MIB
            memory += f" (<= {self.memory_target_mib:g}: {'ok' if ok else 'over'})"
        return (
            f"| {self.name} | {self.ours * 1000:.1f} ms | {self.floor_name}: "
            f"{self.floor * 1000:.1f} ms | {self.ratio:.2f}x | {target} | {memory} |"
        )


HEADER = (
    "| benchmark | ours (median) | floor (median, same run) | ratio | target | peak memory |\n"
    "|---|---|---|---|---|---|"
)


def print_table(rows: Sequence[Row]) -> None:
    """Print rows as a Markdown table on stdout."""
    print(HEADER)
    for row in rows:
        print(row.markdown())


def machine() -> str:
    """One line describing this machine and interpreter, for the docs next to the table."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo", encoding="utf-8") as meminfo:
            total_kib = int(meminfo.readline().split()[1])
    except OSError:
        total_kib = 0
    return (
        f"{os.cpu_count()} CPUs ({model}), {total_kib / MIB / MIB:.1f} GiB RAM, "
        f"{platform.system()} {platform.release()}, Python {sys.version.split()[0]}, "
        f"load average {os.getloadavg()[0]:.2f} at the start"
    )
