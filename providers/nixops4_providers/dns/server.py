"""The `server` input: the primary that accepts updates, and the TSIG key that signs them."""

from __future__ import annotations

import base64
import binascii
import re
from typing import TYPE_CHECKING, Annotated, Literal

from nixops4_protocol.credentials import read_secret_file
from nixops4_protocol.errors import ResourceError
from nixops4_protocol.redaction import register_secret_value
from nixops4_protocol.resource import CredentialFile, Model
from pydantic import AfterValidator, Field

from nixops4_providers.hosts import check_host

from . import names

if TYPE_CHECKING:
    import dns.tsig

KeyAlgorithm = Literal[
    "hmac-sha256", "hmac-sha384", "hmac-sha512", "hmac-sha224", "hmac-sha1", "hmac-md5"
]

_KEY_FILE_SECRET = re.compile(r"""\bsecret\b\s*:?\s*["']?([A-Za-z0-9+/=]+)["']?""")
"""The secret inside a BIND `tsig-keygen` or Knot `keymgr -t` key file."""


def _valid_key_name(value: str) -> str:
    names.parse_absolute(value)
    return value


class Server(Model):
    """The zone's primary server and the TSIG key the updates are signed with."""

    address: Annotated[str, AfterValidator(check_host)] = Field(
        min_length=1,
        description="IP address (or host name) of the primary server that accepts updates.",
    )
    port: int = Field(default=53, ge=1, le=65535, description="DNS port of the primary.")
    transport: Literal["tcp", "udp"] = Field(
        default="tcp",
        description="`tcp`, or `udp` (messages over 1232 octets and truncated answers go over "
        "TCP).",
    )
    timeout: float = Field(
        default=10.0,
        ge=0.1,
        le=300,
        description="Seconds to wait for each answer (connecting included).",
    )
    key_name: Annotated[str, AfterValidator(_valid_key_name)] = Field(
        min_length=1, description="Name of the TSIG key, as the server knows it."
    )
    key_algorithm: KeyAlgorithm = Field(
        default="hmac-sha256", description="HMAC algorithm of the TSIG key."
    )
    secret_file: Annotated[str, CredentialFile()] = Field(
        description="Path of a file holding the base64 TSIG secret, alone or as a BIND "
        "(`tsig-keygen`) or Knot (`keymgr -t`) key file."
    )

    def describe(self) -> str:
        """Name the server for messages, without the secret."""
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}/{self.transport}"


def load_key(server: Server) -> dns.tsig.Key:
    """Read the TSIG secret from `secretFile` (registering it for scrubbing) and build the key."""
    import dns.tsig

    text = read_secret_file(server.secret_file, what="TSIG `secretFile`")
    match = _KEY_FILE_SECRET.search(text)
    secret = match.group(1) if match else text.strip()
    register_secret_value(secret)
    try:
        base64.b64decode(secret, validate=True)
    except (binascii.Error, ValueError):
        raise ResourceError(
            f"the TSIG secret in {server.secret_file!r} is not valid base64",
            hint="Put the base64 secret (as `tsig-keygen` or `keymgr -t` prints it) in the file.",
        ) from None
    return dns.tsig.Key(server.key_name, secret, server.key_algorithm)
