"""Faults between the provider and PVE: 5xx, refused connections, TLS, credentials."""

from __future__ import annotations

import socket
import time

import pytest
from nixops4_protocol.testing import error_of, outputs_of

from tests.proxmox.conftest import Pve

pytestmark = pytest.mark.proxmox


def test_transient_5xx_is_retried(pve: Pve, name: str) -> None:
    """A proxy's 503 for a while is retried with backoff, and the apply succeeds."""
    pve.fake.fail("GET", "/cluster/resources", 503, "Service Unavailable", times=2)
    run = pve.create(pve.inputs(name))
    assert outputs_of(run.response)["vmid"] == 100
    assert run.stderr.count("transient failure, retrying") == 2


def test_persistent_5xx_fails_within_the_bound(pve: Pve, name: str) -> None:
    """A node that keeps answering 595 fails after `timeouts.retry`, with PVE's message."""
    pve.fake.set_node_offline("pve1")
    inputs = pve.inputs(name, connection=pve.connection(timeouts={"retry": 1}))
    started = time.monotonic()
    message = error_of(pve.create(inputs).response)
    assert time.monotonic() - started < 10
    assert "PVE answered 595: No route to host" in message
    assert "unavailable" in message


def test_pve_500_is_not_retried_and_is_quoted(pve: Pve, name: str) -> None:
    """A 500 is PVE refusing the request: reported at once with its message."""
    pve.fake.fail(
        "POST", "/nodes/pve1/qemu/9000/clone", 500, "unable to clone: storage offline", times=1
    )
    message = error_of(pve.create(pve.inputs(name)).response)
    assert "PVE answered 500: unable to clone: storage offline" in message


def test_connection_refused_is_bounded_and_clear(pve: Pve, name: str) -> None:
    """Nobody listening: a clear error naming the URL, after the bounded retry."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"https://127.0.0.1:{port}"
    inputs = pve.inputs(name, connection=pve.connection(url=url, timeouts={"retry": 1}))
    started = time.monotonic()
    message = error_of(pve.create(inputs).response)
    assert time.monotonic() - started < 10
    assert f"cannot reach PVE at {url}" in message
    assert "Connection refused" in message


def test_untrusted_certificate_names_ca_file(pve: Pve, name: str) -> None:
    """Without the CA file the certificate is not trusted, and the error says to set caFile."""
    inputs = pve.inputs(name, connection=pve.connection(caFile=None))
    message = error_of(pve.create(inputs).response)
    assert "TLS verification" in message
    assert "caFile" in message


def test_verification_off_works_and_says_so_once(pve: Pve, name: str) -> None:
    """`verifyTls = false` connects without the CA, with one warning and no urllib3 noise."""
    inputs = pve.inputs(name, connection=pve.connection(caFile=None, verifyTls=False))
    run = pve.create(inputs)
    assert outputs_of(run.response)["vmid"] == 100
    assert run.stderr.count("TLS verification of the PVE API is off") == 1
    assert "InsecureRequestWarning" not in run.stderr


def test_wrong_token_secret_is_a_clear_401(pve: Pve, name: str) -> None:
    """A wrong token secret is refused with a hint at the credentials; the secret is not shown."""
    wrong = pve.directory / "wrong-secret"
    wrong.write_text("not-the-secret-0000\n")
    inputs = pve.inputs(name, connection=pve.connection(tokenSecretFile=str(wrong)))
    message = error_of(pve.create(inputs).response)
    assert "PVE answered 401" in message
    assert "token" in message
    assert "not-the-secret-0000" not in message


def test_wrong_password_is_a_clear_login_error(pve: Pve, name: str) -> None:
    """A wrong password fails the login, naming the user and passwordFile."""
    wrong = pve.directory / "wrong-password"
    wrong.write_text("hunter2-wrong\n")
    inputs = pve.inputs(name, connection=pve.connection(login="password", passwordFile=str(wrong)))
    message = error_of(pve.create(inputs).response)
    assert "refused the login of 'root@pam'" in message
    assert "passwordFile" in message
    assert "hunter2-wrong" not in message


def test_connections_reset_by_the_network_fail_within_the_bound(pve: Pve, name: str) -> None:
    """Every connection dropped by a flaky network: reads are retried, then a clear error."""
    pve.fake.flaky_network(drop_rate=1.0, seed=1)
    inputs = pve.inputs(name, connection=pve.connection(timeouts={"retry": 1}))
    started = time.monotonic()
    run = pve.create(inputs)
    assert time.monotonic() - started < 10
    assert f"cannot reach PVE at {pve.fake.url}" in error_of(run.response)
    assert "transient failure, retrying" in run.stderr
    pve.fake.flaky_network(drop_rate=0.0)
    assert not pve.vms_named(name)


def test_missing_ca_file_is_named(pve: Pve, name: str) -> None:
    """A caFile that does not exist is an input error naming the field, not an internal error."""
    inputs = pve.inputs(name, connection=pve.connection(caFile="/nonexistent/pve-root-ca.pem"))
    message = error_of(pve.create(inputs).response)
    assert "`connection.caFile` '/nonexistent/pve-root-ca.pem' is not a readable file" in message
    assert "internal error" not in message
    assert not pve.vms_named(name)
