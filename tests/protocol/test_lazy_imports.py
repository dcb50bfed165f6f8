"""Starting a provider loads nothing heavy: backends load only when a request needs them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.protocol.test_secret_fields import _providers

BACKENDS = (
    "psycopg",
    "dns",
    "cryptography",
    "bcrypt",
    "boto3",
    "botocore",
    "proxmoxer",
    "requests",
)

PROBE = """
import json, sys
from {module} import {attribute} as provider
unknown = provider.handle({{"createResourceRequest": {{"type": "no-such-type", "inputProperties": {{}}, "isStateful": True}}}})
after_unknown = sorted(m for m in ("pydantic", "structlog") if m in sys.modules)
for type_name in provider.type_names:
    reply = provider.handle({{"createResourceRequest": {{"type": type_name, "inputProperties": {{"probeField": 1}}, "isStateful": True}}}})
    assert "errorResponse" in reply, reply
loaded = sorted(m for m in {backends!r} + ("structlog",) if m in sys.modules)
print(json.dumps({{"unknown": unknown, "after_unknown": after_unknown, "loaded": loaded}}))
"""


@pytest.mark.parametrize("provider", _providers())
def test_validation_errors_load_no_backend_client(provider: object) -> None:
    """An unknown type loads neither pydantic nor structlog; invalid inputs load no backend client."""
    name = getattr(provider, "name", "")
    module_name = "tests.example_provider" if name == "example" else f"nixops4_providers.{name}"
    code = PROBE.format(module=module_name, attribute="provider", backends=BACKENDS)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    report = json.loads(result.stdout)
    assert "errorResponse" in report["unknown"]
    assert report["after_unknown"] == [], f"{name}: the dispatcher alone must answer"
    assert report["loaded"] == [], f"loaded at validation time: {report['loaded']}"
