"""A real, throwaway single-node Garage for tests: config file, layout applied, loopback ports.

The server binary is built by `scripts/setup` (`cargo install` at the version pinned in
`scripts/garage.env`) into `~/.cache/nixops4-providers/garage-<version>/`; `NIXOPS4_GARAGE_BIN`
points at another one.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.servers import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
REGION = "garage"
WEB_ROOT_DOMAIN = ".web.garage.test"


def pinned_version() -> str:
    """The Garage version pinned in scripts/garage.env."""
    for line in (ROOT / "scripts" / "garage.env").read_text(encoding="utf-8").splitlines():
        if line.startswith("GARAGE_VERSION="):
            return line.partition("=")[2].strip()
    raise RuntimeError("scripts/garage.env has no GARAGE_VERSION")


def garage_binary() -> Path | None:
    """The Garage server binary to test against, or None when it has not been built."""
    override = os.environ.get("NIXOPS4_GARAGE_BIN")
    if override:
        return Path(override)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    binary = cache / "nixops4-providers" / f"garage-{pinned_version()}" / "bin" / "garage"
    return binary if binary.is_file() else None


def require_garage() -> Path:
    """The Garage binary; skip without it, or fail under CI=true."""
    binary = garage_binary()
    if binary is not None:
        return binary
    missing = f"the Garage server {pinned_version()} is not built; `bash scripts/setup` builds it"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and a test server is missing: {missing}")
    pytest.skip(missing)


@dataclass(frozen=True)
class GarageServer:
    """A running single-node Garage: its endpoints and the file holding its admin token."""

    admin_endpoint: str
    s3_endpoint: str
    web_endpoint: str
    directory: Path
    admin_token_file: Path
    rpc_secret: str

    @property
    def admin_token(self) -> str:
        """The admin API bearer token."""
        return self.admin_token_file.read_text(encoding="utf-8").strip()

    def connection_inputs(self, **overrides: Any) -> dict[str, Any]:
        """The `connection` input object (as Nix sends it)."""
        inputs: dict[str, Any] = {
            "adminEndpoint": self.admin_endpoint,
            "adminTokenFile": str(self.admin_token_file),
            "s3Endpoint": self.s3_endpoint,
            "s3Region": REGION,
            "websiteRootDomain": WEB_ROOT_DOMAIN,
            "caFile": None,
            "verifyTls": True,
            "timeout": 5.0,
        }
        inputs.update(overrides)
        return inputs

    def api(self, method: str, operation: str, body: Any = None, **query: str) -> Any:
        """Call the admin API directly, as another tool would; return the JSON answer (or None)."""
        return admin_call(
            self.admin_endpoint, self.admin_token, method, operation, body=body, query=query
        )

    def find(self, operation: str, **query: str) -> Any:
        """GET an object from the admin API, or None on 404."""
        try:
            return self.api("GET", operation, **query)
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            raise

    def s3(self, access_key_id: str, secret: str) -> Any:
        """A boto3 S3 client with this key (path-style addressing)."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.s3_endpoint,
            region_name=REGION,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret,
            config=Config(s3={"addressing_style": "path"}),
        )

    def website(self, host: str, path: str = "/") -> tuple[int, bytes]:
        """Fetch `path` from the web endpoint with `Host: host`; return status and body."""
        request = urllib.request.Request(self.web_endpoint + path, headers={"Host": host})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def log(self) -> str:
        """The server's log so far (for assertion messages)."""
        return (self.directory / "garage.log").read_text(encoding="utf-8", errors="replace")


def admin_call(
    endpoint: str,
    token: str,
    method: str,
    operation: str,
    *,
    body: Any = None,
    query: dict[str, str] | None = None,
) -> Any:
    """One admin API v2 call with urllib; raises urllib's HTTPError on an error answer."""
    from urllib.parse import urlencode

    url = f"{endpoint}/v2/{operation}" + (f"?{urlencode(query)}" if query else "")
    data = None if method == "GET" else json.dumps(body or {}).encode()
    request = urllib.request.Request(  # noqa: S310 - loopback
        url, data=data, method=method, headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        payload = response.read()
    return json.loads(payload) if payload.strip() else None


def _config(directory: Path, ports: dict[str, int], rpc_secret: str, token: str) -> str:
    return f"""metadata_dir = "{directory}/meta"
data_dir = "{directory}/data"
db_engine = "sqlite"
metadata_fsync = false
data_fsync = false
replication_factor = 1
rpc_bind_addr = "127.0.0.1:{ports["rpc"]}"
rpc_public_addr = "127.0.0.1:{ports["rpc"]}"
rpc_secret = "{rpc_secret}"

[s3_api]
api_bind_addr = "127.0.0.1:{ports["s3"]}"
s3_region = "{REGION}"
root_domain = ".s3.garage.test"

[s3_web]
bind_addr = "127.0.0.1:{ports["web"]}"
root_domain = "{WEB_ROOT_DOMAIN}"

[admin]
api_bind_addr = "127.0.0.1:{ports["admin"]}"
admin_token = "{token}"
"""


def _ready(process: subprocess.Popen[bytes], directory: Path, endpoint: str) -> bool:
    """Whether the admin API answers its health check; raise if Garage has exited."""
    if process.poll() is not None:
        log = (directory / "garage.log").read_text(encoding="utf-8", errors="replace")
        raise RuntimeError(f"garage exited with status {process.returncode}:\n{log}")
    try:
        with urllib.request.urlopen(f"{endpoint}/health", timeout=0.5):  # noqa: S310 - loopback
            return True
    except urllib.error.HTTPError:
        return True  # answering: 503 until the layout is applied
    except OSError:
        return False


def _apply_layout(endpoint: str, token: str) -> None:
    """Give the only node a zone and capacity, and apply layout version 1."""
    status = admin_call(endpoint, token, "GET", "GetClusterStatus")
    node = status["nodes"][0]["id"]
    role = {"id": node, "zone": "dc1", "capacity": 1 << 30, "tags": []}
    admin_call(endpoint, token, "POST", "UpdateClusterLayout", body={"roles": [role]})
    admin_call(endpoint, token, "POST", "ApplyClusterLayout", body={"version": 1})


def _healthy(endpoint: str, token: str) -> bool:
    health = admin_call(endpoint, token, "GET", "GetClusterHealth")
    return bool(health.get("status") == "healthy")


@contextmanager
def running_garage(binary: Path) -> Iterator[GarageServer]:
    """Start a single-node Garage in a temporary directory; stop it and clean up after."""
    directory = Path(tempfile.mkdtemp(prefix="nixops4-garage-", dir="/tmp"))
    ports = {name: free_port() for name in ("rpc", "s3", "web", "admin")}
    rpc_secret = secrets.token_hex(32)
    token = secrets.token_urlsafe(32)
    token_file = directory / "admin.token"
    token_file.write_text(token + "\n", encoding="utf-8")
    token_file.chmod(0o600)
    config = directory / "garage.toml"
    config.write_text(_config(directory, ports, rpc_secret, token), encoding="utf-8")
    config.chmod(0o600)
    admin = f"http://127.0.0.1:{ports['admin']}"
    env = {**os.environ, "RUST_LOG": "garage=warn"}
    with (directory / "garage.log").open("wb") as log:
        process = subprocess.Popen(
            [str(binary), "-c", str(config), "server"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        wait_until(lambda: _ready(process, directory, admin), what="garage")
        _apply_layout(admin, token)
        wait_until(lambda: _healthy(admin, token), what="the garage layout")
        yield GarageServer(
            admin_endpoint=admin,
            s3_endpoint=f"http://127.0.0.1:{ports['s3']}",
            web_endpoint=f"http://127.0.0.1:{ports['web']}",
            directory=directory,
            admin_token_file=token_file,
            rpc_secret=rpc_secret,
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def garage_server() -> Iterator[GarageServer]:
    """A real single-node Garage for the whole session (skipped when not built, failed under CI)."""
    with running_garage(require_garage()) as server:
        yield server
