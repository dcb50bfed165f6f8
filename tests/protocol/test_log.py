"""Logging goes to stderr, as JSON lines off a terminal, with secrets redacted by construction."""

from __future__ import annotations

import io
import json
from typing import Annotated

import pytest
from nixops4_protocol import log
from nixops4_protocol.redaction import REDACTED, register_secret_value, scrub
from nixops4_protocol.resource import Model, Secret, secret_field_names
from pydantic import SecretStr


def _capture(**fields: object) -> dict[str, object]:
    buffer = io.StringIO()
    log.configure(json_lines=True, level="debug")
    import structlog

    structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=buffer))
    log.get_logger(provider="t").info("hello", **fields)
    structlog.reset_defaults()
    log._configured = False
    line: dict[str, object] = json.loads(buffer.getvalue())
    return line


def test_secret_named_keys_and_secret_values_are_redacted() -> None:
    """Keys named like secrets, SecretStr values and nested secrets never reach the log."""
    line = _capture(
        password="hunter2-value",
        nested={"tsigSecret": "abc123", "name": "web"},
        token=SecretStr("tok-value"),
        password_file="/run/keys/db",
        plain="visible",
    )
    assert line["password"] == REDACTED
    assert line["nested"] == {"tsigSecret": REDACTED, "name": "web"}
    assert line["token"] == REDACTED
    assert line["password_file"] == "/run/keys/db", "a path to a secret is not itself secret"
    assert line["plain"] == "visible"
    assert line["event"] == "hello"
    assert line["level"] == "info"


def test_registered_secret_values_are_scrubbed_everywhere() -> None:
    """A value registered as secret is replaced in any log field and in error text."""
    register_secret_value("s3cr3t-value-xyz\n")
    line = _capture(detail="connecting with s3cr3t-value-xyz now")
    assert line["detail"] == f"connecting with {REDACTED} now"
    assert scrub("error: s3cr3t-value-xyz") == f"error: {REDACTED}"


class _Inputs(Model):
    name: str
    api_key: Annotated[str, Secret()]
    password: SecretStr


def test_marked_fields_are_known_secrets() -> None:
    """Fields typed SecretStr or marked Secret() are reported by their wire names."""
    assert secret_field_names(_Inputs) == {"apiKey", "password"}


def test_json_lines_when_not_a_terminal(capfd: pytest.CaptureFixture[str]) -> None:
    """Without a terminal, the default format is one JSON object per line on stderr."""
    log.configure()
    log.get_logger(provider="t").info("to stderr", n=1)
    import structlog

    structlog.reset_defaults()
    log._configured = False
    out, err = capfd.readouterr()
    assert out == ""
    assert json.loads(err.strip().splitlines()[-1])["n"] == 1
