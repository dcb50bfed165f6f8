"""The demo: examples/fediverse applied on this machine, against throwaway local servers.

`bash scripts/demo` starts, once, PostgreSQL, Knot and Garage on loopback ports, fakepve standing
in for Proxmox VE (no real VM is made) and an OpenSSH server standing in for the VMs' sshd. They
keep running in the background, with the deployment's state, secrets and the VMs' delivered
files under `.demo/`. Then it applies the example the way `nixops4 apply` does (evaluated by
NixOps4's Nix library when its sources are here, else by its Python rendering), shows each step,
and prints what it made and where. Run again, it changes nothing, and checks that no server was
written to. `bash scripts/demo --down` stops the servers and removes `.demo/`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.deploy import Applied, Driver, Evaluate, Step, nix_evaluator

SERVERS = "servers.json"
STANDS_IN = "fakepve stands in for Proxmox VE: the VMs exist only in the fake"


def main() -> None:
    """Bring the demo up (start servers if needed, apply, report), or tear it down."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--down", action="store_true", help="stop the servers, remove the demo")
    parser.add_argument("--dir", type=Path, default=ROOT / ".demo", help="the demo's directory")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    directory: Path = arguments.dir.resolve()
    if arguments.serve:
        serve(directory)
    elif arguments.down:
        down(directory)
    else:
        up(directory)


# ------------------------------------------------------------------ the servers


def serve(directory: Path) -> None:
    """Run every server until SIGTERM; write their addresses and the example's site first."""
    from tests.support.dns_server import running_dns_server
    from tests.support.garage import garage_binary, running_garage
    from tests.support.local_cluster import fediverse_site, running_fakepve
    from tests.support.postgres import running_postgres
    from tests.support.ssh_server import running_ssh_server

    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    binaries = {
        "knotd": shutil.which("knotd") or "/usr/sbin/knotd",
        "sshd": shutil.which("sshd") or "/usr/sbin/sshd",
        "garage": str(garage_binary() or ""),
    }
    missing = [name for name, path in binaries.items() if not Path(path).is_file()]
    if missing:
        raise SystemExit(f"missing {', '.join(missing)}: `bash scripts/setup` installs them")
    with ExitStack() as stack:
        postgres = stack.enter_context(running_postgres())
        dns = stack.enter_context(running_dns_server(binaries["knotd"]))
        garage = stack.enter_context(running_garage(Path(binaries["garage"])))
        ssh = stack.enter_context(running_ssh_server(binaries["sshd"]))
        pve_directory = directory / "fakepve"
        pve_directory.mkdir(exist_ok=True)
        proxmox = stack.enter_context(running_fakepve(pve_directory, ssh.host_public_key))
        site = fediverse_site(
            postgres=postgres,
            dns=dns,
            garage=garage,
            proxmox=proxmox,
            ssh=ssh,
            keys_directory=directory / "vm-keys",
        )
        servers = {
            "pid": os.getpid(),
            "site": site,
            "postgresql": f"127.0.0.1:{postgres.port}",
            "knot": f"127.0.0.1:{dns.port}",
            "garage": garage.admin_endpoint,
            "garageS3": garage.s3_endpoint,
            "fakepve": proxmox.connection["url"],
            "sshd": f"127.0.0.1:{ssh.port}",
        }
        partial = directory / f"{SERVERS}.tmp"
        partial.write_text(json.dumps(servers, indent=2), encoding="utf-8")
        partial.replace(directory / SERVERS)
        while not stop["now"]:
            time.sleep(0.2)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def running_servers(directory: Path) -> dict[str, Any] | None:
    """The servers of an earlier run that are still up, or None."""
    path = directory / SERVERS
    if not path.exists():
        return None
    servers: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return servers if _alive(int(servers["pid"])) else None


def start_servers(directory: Path) -> dict[str, Any]:
    """Start the server keeper in the background and wait until it has written the addresses."""
    (directory / SERVERS).unlink(missing_ok=True)
    print("== starting throwaway servers on 127.0.0.1 (kept until `bash scripts/demo --down`):")
    print("   PostgreSQL, Knot, Garage, an OpenSSH server standing in for the VMs' sshd,")
    print(f"   and fakepve ({STANDS_IN})")
    log = (directory / "servers.log").open("ab")
    keeper = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--dir", str(directory)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    started = next_note = time.monotonic()
    while (servers := running_servers(directory)) is None:
        if keeper.poll() is not None:
            tail = (directory / "servers.log").read_text(errors="replace")[-2000:]
            raise SystemExit(f"the servers did not start:\n{tail}")
        time.sleep(0.2)
        if time.monotonic() >= next_note + 5:
            next_note = time.monotonic()
            print(f"   ... {next_note - started:.0f} s", flush=True)
    print(f"   up in {time.monotonic() - started:.1f} s")
    return servers


def down(directory: Path) -> None:
    """Stop the servers and remove the demo's directory."""
    servers = running_servers(directory)
    if servers is not None:
        pid = int(servers["pid"])
        os.kill(pid, signal.SIGTERM)
        while _alive(pid):
            time.sleep(0.1)
        print(f"== stopped the servers (process {pid}); their data is gone")
    if directory.exists():
        shutil.rmtree(directory)
        print(f"== removed {directory}")
    else:
        print("== nothing to tear down")


# ------------------------------------------------------------------ applying


def evaluator(site: dict[str, Any]) -> Evaluate:
    """NixOps4's own evaluation of the example when Nix and the sources are here, else Python."""
    from tests.nix.support import NIXOPS4_NIXOS, SOURCES
    from tests.support.fediverse_mirror import evaluator as python_evaluator

    sources = {}
    for pin, (marker, conventional) in {**SOURCES, "nixops4-nixos": NIXOPS4_NIXOS}.items():
        directory = os.environ.get(f"NPINS_OVERRIDE_{pin}") or conventional
        if Path(directory, marker).is_file():
            sources[f"NPINS_OVERRIDE_{pin}"] = directory
    nixos = sources.pop("NPINS_OVERRIDE_nixops4-nixos", None)
    found = shutil.which("nix-instantiate") and len(sources) == len(SOURCES)
    if not found:
        print(
            "== evaluating with the example's Python rendering (tests/support/fediverse_mirror.py)"
        )
        print("   (Nix or the nixpkgs/NixOps4 sources are missing; see docs/nix.md)")
        return python_evaluator(site)
    arguments = ["--argstr", "site", json.dumps(site)]
    if nixos is not None:
        arguments += ["--arg", "nixopsNixos", nixos]
    print("== evaluating examples/fediverse with NixOps4's Nix library (nix-instantiate)")
    return nix_evaluator(ROOT / "tests/nix/fediverse.nix", arguments, sources)


def show(step: Step) -> None:
    """One progress line per resource, as it is applied."""
    words = {
        "created": "created",
        "updated": "updated",
        "unchanged": "unchanged (inputs as recorded; skipped)",
        "converged": "ensured (written only where it differed)",
        "checked": "NixOS configuration evaluated; not switched (needs a real host)",
        "state": "state file",
    }
    print(f"   {step.path:<24} {step.type:<11} {words[step.action]}", flush=True)


def writes(directory: Path, servers: dict[str, Any]) -> tuple[Any, ...]:
    """What any write changes: PostgreSQL's next xid, the zone's SOA serial, the delivered files."""
    import dns.message
    import dns.query
    import psycopg

    site = servers["site"]
    pg = site["cluster"]["postgresql"]["connection"]
    password = Path(pg["passwordFile"]).read_text(encoding="utf-8").strip()
    with psycopg.connect(
        host=pg["host"], port=pg["port"], user=pg["user"], password=password, dbname="postgres"
    ) as conn:
        row = conn.execute("select pg_snapshot_xmax(pg_current_snapshot())::text").fetchone()
    zone = site["cluster"]["dns"]["zone"]
    host, port = servers["knot"].split(":")
    soa = dns.query.tcp(dns.message.make_query(zone, "SOA"), host, port=int(port), timeout=5)
    files = {
        str(p): (p.stat().st_ino, p.stat().st_mtime_ns)
        for p in sorted((directory / "vm-keys").rglob("*"))
        if p.is_file()
    }
    return (row, soa.answer[0][0].serial, files)


def report(applied: Applied, servers: dict[str, Any], directory: Path) -> None:
    """What the deployment made, and where it is."""
    zone = servers["site"]["cluster"]["dns"]["zone"]
    print(f"== what it made ({STANDS_IN})")
    for app in ("social", "microblog"):
        vm = applied.outputs(f"{app}.vm")
        secret = applied.outputs(f"{app}.dbPassword")
        key = applied.outputs(f"{app}.mediaKey")
        print(f"   {app}:")
        print(
            f"     VM {vm['vmid']} '{vm['name']}' on {vm['node']} (fakepve {servers['fakepve']}),"
            f" addresses {', '.join(vm['ipv4Addresses'] + vm['ipv6Addresses'])}"
        )
        print(f"     DNS {app}.{zone} A/AAAA on Knot {servers['knot']}")
        print(
            f"     PostgreSQL {servers['postgresql']}: database {app}, role {app}, password "
            f"in {_short(secret['path'], directory)} (never printed)"
        )
        print(
            f"     Garage {servers['garageS3']}: bucket {app}-media, key {key['accessKeyId']}"
            f" (secret in {_short(key['secretKeyFile'], directory)})"
        )
        files = [applied.outputs(f"{app}.{m}")["path"] for m in ("dbPasswordKey", "mediaSecretKey")]
        print(
            f"     on the VM (sshd {servers['sshd']}): "
            + ", ".join(_short(f, directory) for f in files)
        )
    print(f"   state: {_short(str(directory / 'state.json'), directory)}")


def _short(path: str, _directory: Path) -> str:
    """`path` relative to the current directory when it is below it."""
    return os.path.relpath(path) if Path(path).is_relative_to(Path.cwd()) else path


def up(directory: Path) -> None:
    """Start the servers unless running, apply the example, and report."""
    directory.mkdir(parents=True, exist_ok=True)
    servers = running_servers(directory)
    if servers is None:
        servers = start_servers(directory)
    else:
        print(f"== servers already running (process {servers['pid']}); applying again")
    driver = Driver(
        evaluator(servers["site"]),
        state_file=directory / "state.json",
        cwd=directory,
        report=show,
    )
    again = (directory / "state.json").exists()
    before = writes(directory, servers) if again else None
    started = time.monotonic()
    print("== applying (each line is one resource, in dependency order)")
    applied = driver.apply()
    print(f"   done in {time.monotonic() - started:.1f} s")
    report(applied, servers, directory)
    changed = applied.with_action("created", "updated")
    if before is not None and not changed:
        if writes(directory, servers) != before:
            raise SystemExit("== the second apply wrote to a server: that is a bug")
        print("== nothing changed: no resource created or updated, no server written to")
    elif changed:
        print(f"== {len(changed)} stateful resources created or updated: {', '.join(changed)}")
    print("   run `bash scripts/demo` again: it changes nothing;")
    print("   `bash scripts/demo --down` stops the servers and removes .demo/")


if __name__ == "__main__":
    main()
