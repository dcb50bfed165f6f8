"""Proxmox VE: how soon the provider replies after a PVE task ends, and ten clones in a row.

Against fakepve (extended, as in the tests) on 127.0.0.1 over HTTPS.  Reply delay: an update that
needs a reboot (`allowReboot`), where the fake's reboot task takes 0.3 s (time scale 0.01, a
30-second guest shutdown); the delay runs from the moment the fake finishes the reboot task to the
moment the provider's response line arrives, so it holds the task polling latency plus what the
provider does after the task (pending check, guest agent, outputs) and its exit.  The issue's
target is a median of at most 150 ms.  Ten clones: ten `vm` creates in a row, each its own provider
process as NixOps4 runs them, with tasks finishing at once (time scale 0), so the figure is the
provider's own cost per VM: process start, API calls, task polls.
Run: `.venv/bin/python -m bench.proxmox [runs]`.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.modes import Modes
from bench.report import Row
from tests.support.fakepve_ext import TEMPLATE, Served, add_template, serve

PROVIDER = [str(Path(sys.executable).parent / "nixops4-proxmox")]
TOKEN_ID = "root@pam!bench"  # noqa: S105 - a token id, not its secret
ORDER = 3
"""Place of these rows in the table of `python -m bench`."""

TARGET_DELAY = 0.150
"""The issue's target: median delay between a task's end and the provider's reply."""


def _inputs(served: Served, directory: Path, name: str, **fields: Any) -> dict[str, Any]:
    token_file = directory / "token"
    return {
        "connection": {
            "url": served.pve.url, "caFile": str(directory / "fakepve.crt"),
            "tokenId": TOKEN_ID, "tokenSecretFile": str(token_file),
        },
        "node": "pve1", "name": name, "clone": {"template": TEMPLATE},
        "disks": [{"slot": "scsi0", "storage": "local-lvm", "size": 8}],
        **fields,
    }  # fmt: skip


def _send(
    request: dict[str, Any], env: dict[str, str] | None = None
) -> tuple[dict[str, Any], float]:
    """Run one request in a fresh provider; return the response and when its line arrived."""
    process = subprocess.Popen(
        PROVIDER, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
    )
    if process.stdin is None or process.stdout is None:
        raise RuntimeError("the provider's pipes were not opened")
    process.stdin.write(json.dumps(request).encode() + b"\n")
    process.stdin.flush()
    line = process.stdout.readline()
    arrived = time.monotonic()
    process.stdin.close()
    process.wait()
    response: dict[str, Any] = json.loads(line)
    if "errorResponse" in response:
        raise SystemExit(f"provider failed: {response['errorResponse']['message']}")
    return response, arrived


def _create(inputs: dict[str, Any], env: dict[str, str] | None = None) -> dict[str, Any]:
    request = {
        "createResourceRequest": {"type": "vm", "inputProperties": inputs, "isStateful": True}
    }
    response, _ = _send(request, env)
    outputs: dict[str, Any] = response["createResourceResponse"]["outputProperties"]
    return outputs


def reply_delays(
    served: Served, directory: Path, runs: int, env: dict[str, str] | None = None, name: str = ""
) -> list[float]:
    """Delay from the end of each reboot task to the provider's reply, one update per run."""
    fake = served.pve
    inputs = _inputs(served, directory, f"bench-reboot{name}", allowReboot=True, memory=1024)
    outputs = _create(inputs, env)
    vm = fake.vm(outputs["vmid"])
    vm.shutdown_secs = 30
    fake.time_scale = 0.01
    delays = []
    for run in range(runs):
        changed = dict(inputs, memory=1024 + 128 * (run + 1))
        resource = {"type": "vm", "inputProperties": inputs, "outputProperties": outputs}
        request = {"updateResourceRequest": {"resource": resource, "inputProperties": changed}}
        response, arrived = _send(request, env)
        ended = [
            t for kind, vmid, t in fake.task_ends if kind == "qmreboot" and vmid == str(vm.vmid)
        ]
        delays.append(arrived - ended[-1])
        inputs, outputs = changed, response["updateResourceResponse"]["outputProperties"]
    fake.time_scale = 0
    return delays


def clones(
    served: Served, directory: Path, count: int, env: dict[str, str] | None = None, name: str = ""
) -> list[float]:
    """Seconds each of `count` clones in a row takes, one provider process each."""
    seconds = []
    for index in range(count):
        started = time.perf_counter()
        _create(_inputs(served, directory, f"bench-clone{name}-{index}"), env)
        seconds.append(time.perf_counter() - started)
    return seconds


def rows(modes: Modes, runs: int = 15) -> list[Row]:
    """Reply delay and one clone, cold and warm, for the table of `python -m bench`."""
    found = []
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        secret = str(uuid.uuid4())
        (directory / "token").write_text(secret + "\n")
        served = serve(scratch, password=str(uuid.uuid4()))
        try:
            served.pve.apitokens[TOKEN_ID] = secret
            add_template(served.pve)
            modes.start_server(PROVIDER)
            measured = {}
            for mode, env in (("cold", modes.cold), ("warm", modes.warm)):
                delays = reply_delays(served, directory, runs, env, mode)
                cloned = clones(served, directory, 10, env, mode)
                measured[mode] = (statistics.median(delays), statistics.median(cloned))
            modes.require_warm(PROVIDER)
        finally:
            served.stop()
    for mode, (delay, _) in measured.items():
        found.append(
            Row(
                f"proxmox: task end → reply (update with reboot), {mode}", delay, TARGET_DELAY,
                "the target delay", 1.0,
            )
        )  # fmt: skip
    found.append(
        Row(
            "proxmox: one clone of ten in a row (process, API calls, tasks), warm",
            measured["warm"][1], measured["cold"][1], "the same, cold", None,
        )
    )  # fmt: skip
    return found


def main() -> None:
    """Print the table."""
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        secret = str(uuid.uuid4())
        (directory / "token").write_text(secret + "\n")
        served = serve(scratch, password=str(uuid.uuid4()))
        try:
            served.pve.apitokens[TOKEN_ID] = secret
            add_template(served.pve)
            delays = reply_delays(served, directory, runs)
            cloned = clones(served, directory, 10)
        finally:
            served.stop()
    median = statistics.median(delays)
    verdict = "ok" if median <= TARGET_DELAY else "over target"
    print("Proxmox VE provider against fakepve on 127.0.0.1 (HTTPS)\n")
    print("| benchmark | median | min / max | target |\n|---|---|---|---|")
    print(
        f"| task end → provider reply (update with reboot, {runs} runs) | {median * 1000:.0f} ms "
        f"| {min(delays) * 1000:.0f} / {max(delays) * 1000:.0f} ms "
        f"| <= {TARGET_DELAY * 1000:.0f} ms ({verdict}) |"
    )
    print(
        f"| ten clones in a row: one clone (process, API calls, tasks) | "
        f"{statistics.median(cloned) * 1000:.0f} ms | {min(cloned) * 1000:.0f} / "
        f"{max(cloned) * 1000:.0f} ms | total {sum(cloned):.2f} s |"
    )


if __name__ == "__main__":
    main()
