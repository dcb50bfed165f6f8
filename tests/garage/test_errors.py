"""Errors against the real Garage: wrong token, nothing listening, bad inputs; the process serves on."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from nixops4_protocol.requests import create_request
from nixops4_protocol.testing import error_of, outputs_of

from tests.garage.conftest import Garage
from tests.support.servers import free_port

pytestmark = pytest.mark.garage


def test_wrong_admin_token(garage: Garage, name: str, tmp_path: Path) -> None:
    """A wrong token is refused with Garage's answer and a hint; the next request still works."""
    wrong = tmp_path / "wrong.token"
    wrong.write_text("not-the-token\n", encoding="utf-8")
    bad = garage.bucket_inputs(
        name, connection=garage.server.connection_inputs(adminTokenFile=str(wrong))
    )
    run = garage.run(
        create_request("bucket", bad, stateful=False),
        create_request("bucket", garage.bucket_inputs(name), stateful=False),
    )
    message = error_of(run.responses[0])
    assert message.startswith(f'failed to create garage bucket "{name}": ')
    assert "HTTP 403" in message
    assert "connection.adminTokenFile" in message
    assert "not-the-token" not in message + run.stderr
    assert outputs_of(run.responses[1])["globalAliases"] == [name]


def test_garage_not_listening(garage: Garage, name: str) -> None:
    """Nothing listening on the admin port: a quick, clear error naming the endpoint."""
    endpoint = f"http://127.0.0.1:{free_port()}"
    inputs = garage.key_inputs(
        name, connection=garage.server.connection_inputs(adminEndpoint=endpoint)
    )
    started = time.monotonic()
    message = error_of(garage.create("key", inputs))
    assert time.monotonic() - started < 5
    assert f"cannot reach Garage's admin API at {endpoint}" in message
    assert "Connection refused" in message
    assert "connection.adminEndpoint" in message


def test_missing_token_file(garage: Garage, name: str, tmp_path: Path) -> None:
    """A token file that does not exist is named in the error."""
    missing = str(tmp_path / "absent.token")
    inputs = garage.bucket_inputs(
        name, connection=garage.server.connection_inputs(adminTokenFile=missing)
    )
    message = error_of(garage.create("bucket", inputs))
    assert f"cannot read `connection.adminTokenFile` file {missing!r}" in message


def test_invalid_inputs(garage: Garage) -> None:
    """Invalid aliases, names and dates are refused before any call, naming the field."""
    message = error_of(garage.create("bucket", garage.bucket_inputs("Not_A_Bucket")))
    assert "globalAliases.0" in message
    message = error_of(garage.create("bucket", garage.bucket_inputs()))
    assert "globalAliases" in message
    message = error_of(garage.create("key", garage.key_inputs("app", expiration="tomorrow")))
    assert "expiration" in message
    message = error_of(garage.create("key", {**garage.key_inputs("app"), "colour": "red"}))
    assert "unknown field `colour`" in message


def test_debug_logs_hold_no_secret(garage: Garage, name: str, tmp_path: Path) -> None:
    """A whole application at debug level, errors included: no token or secret key in any output."""
    import os

    from nixops4_protocol.requests import destroy_request

    debug = {**os.environ, "NIXOPS4_PROVIDER_LOG_LEVEL": "debug"}
    wrong = tmp_path / "wrong.token"
    wrong.write_text(garage.server.admin_token[::-1] + "\n", encoding="utf-8")
    bucket_inputs = garage.bucket_inputs(name, emptyOnDestroy=True)
    key_inputs = garage.key_inputs(name)
    run = garage.run(
        create_request("bucket", bucket_inputs, stateful=False),
        create_request("key", key_inputs, stateful=False),
        create_request(
            "key",
            garage.key_inputs(
                name, connection=garage.server.connection_inputs(adminTokenFile=str(wrong))
            ),
            stateful=False,
        ),
        env=debug,
    )
    bucket, key = outputs_of(run.responses[0]), outputs_of(run.responses[1])
    assert "HTTP 403" in error_of(run.responses[2])
    garage.key(key["accessKeyId"])
    permission = garage.permission_inputs(bucket["bucketId"], key["accessKeyId"], write=True)
    secret = Path(key["secretKeyFile"]).read_text(encoding="utf-8")
    garage.run(create_request("permission", permission, stateful=False), env=debug)
    garage.server.s3(key["accessKeyId"], secret).put_object(Bucket=name, Key="x", Body=b"x")
    Path(key["secretKeyFile"]).unlink()
    run = garage.run(
        create_request("key", key_inputs, stateful=False),
        destroy_request("bucket", bucket_inputs, bucket),
        destroy_request("key", key_inputs, key),
        env=debug,
    )
    assert run.responses[1] == {"destroyResourceResponse": {}}
    for text in (run.stderr, repr(run.responses)):
        assert secret not in text
        assert garage.server.admin_token not in text
        assert garage.server.admin_token[::-1] not in text
