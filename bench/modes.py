"""Cold and warm runs of a provider executable: the environments, and starting the warm server.

Cold: `NIXOPS4_PROVIDER_WARM=0`, every process imports the provider itself. Warm: the per-user
server is on, in a runtime directory private to this benchmark run, removed at the end (its
servers then exit within seconds; any left after 10 s are killed).
"""

from __future__ import annotations

import compileall
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.warm import processes_mentioning

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Modes:
    """The environment of a cold run and of a warm run."""

    cold: dict[str, str]
    warm: dict[str, str]
    runtime_directory: str

    def served_warm(self, command: Sequence[str]) -> bool:
        """Whether a run of `command` in the warm environment is served by a worker now."""
        debug = {**self.warm, "NIXOPS4_PROVIDER_LOG_LEVEL": "debug"}
        result = subprocess.run(
            list(command), input=b"{}\n", capture_output=True, env=debug, check=True
        )
        return b"serving in process" not in result.stderr

    def require_warm(self, command: Sequence[str]) -> None:
        """Fail unless `command` is still served warm (a source edited mid-run makes it cold)."""
        if not self.served_warm(command):
            raise SystemExit(f"{command} was not served warm at the end of its warm rows")

    def start_server(self, command: Sequence[str]) -> None:
        """Start the warm server of `command` and wait until a run is served by it."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.served_warm(command):
                return
            time.sleep(0.2)
        failed = glob.glob(os.path.join(self.runtime_directory, "*", "*.failed"))
        raise SystemExit(f"the warm server of {command} did not start; {failed}")

    def servers_memory(self) -> str:
        """The proportional memory (PSS) of the warm servers and their waiting workers now."""
        pids = processes_mentioning(self.runtime_directory)
        total_kib = 0
        for pid in pids:
            try:
                with open(f"/proc/{pid}/smaps_rollup", encoding="utf-8") as rollup:
                    for line in rollup:
                        if line.startswith("Pss:"):
                            total_kib += int(line.split()[1])
            except OSError:
                continue
        return f"{len(pids)} processes, {total_kib / 1024:.1f} MiB PSS in total"


@contextmanager
def modes() -> Iterator[Modes]:
    """Cold and warm environments; the warm servers end with the context."""
    compile_sources()
    directory = tempfile.mkdtemp(prefix="nb")
    base = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("NIXOPS4_PROVIDER_LOG")
    }
    previous = os.environ.get("NIXOPS4_PROVIDER_WARM")
    os.environ["NIXOPS4_PROVIDER_WARM"] = "0"  # a run without one of the two environments: cold
    try:
        yield Modes(
            cold={**base, "NIXOPS4_PROVIDER_WARM": "0"},
            warm={**base, "NIXOPS4_PROVIDER_WARM": "1", "XDG_RUNTIME_DIR": directory},
            runtime_directory=directory,
        )
    finally:
        if previous is None:
            del os.environ["NIXOPS4_PROVIDER_WARM"]
        else:
            os.environ["NIXOPS4_PROVIDER_WARM"] = previous
        shutil.rmtree(directory, ignore_errors=True)
        deadline = time.monotonic() + 10
        while processes_mentioning(directory) and time.monotonic() < deadline:
            time.sleep(0.1)
        for pid in processes_mentioning(directory):
            os.kill(pid, signal.SIGKILL)


def compile_sources() -> None:
    """Write the bytecode of this project's sources, as an installed package has it.

    (With PYTHONDONTWRITEBYTECODE set, an editable install would otherwise compile every module
    on every run, which is not what a deployment pays.)
    """
    for directory in ("protocol", "providers", "tests"):
        compileall.compile_dir(str(ROOT / directory), quiet=1)
