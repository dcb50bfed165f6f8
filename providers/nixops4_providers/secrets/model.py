"""Inputs and outputs of the `secret` resource type."""

from __future__ import annotations

from typing import Annotated, Literal

from nixops4_protocol.resource import CredentialFile, Immutable, Model, Secret
from pydantic import Field, model_validator

from nixops4_providers.pgconn import Connection

from .password import DEFAULT_SYMBOLS, PasswordPolicy, make_policy

Kind = Literal["password", "token", "uuid", "ssh-ed25519", "wireguard", "tsig", "integer"]
TsigAlgorithm = Literal["hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512"]

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
TABLE_PATTERN = r"^[a-z_][a-z0-9_]{0,62}$"
DEFAULT_PASSWORD_LENGTH = 32
DEFAULT_TOKEN_BYTES = 32
TSIG_KEY_BYTES = {
    "hmac-sha1": 20,
    "hmac-sha224": 28,
    "hmac-sha256": 32,
    "hmac-sha384": 48,
    "hmac-sha512": 64,
}
"""Default TSIG key sizes: the digest size of the algorithm, as `tsig-keygen` does."""
LENGTH_KINDS = ("password", "token", "tsig")


class PostgresqlStore(Model):
    """A table in a PostgreSQL database holding the secrets, encrypted with a shared key."""

    connection: Connection = Field(description="The server and database holding the table.")
    key_file: Annotated[str, CredentialFile()] = Field(
        description="Path of the file holding the store key (32 random bytes, base64); values are "
        "encrypted with AES-256-GCM under a key derived from it. Every deployer needs the same file."
    )
    table: str = Field(
        default="nixops4_secrets",
        pattern=TABLE_PATTERN,
        description="Name of the table (created if missing) in the connection's default schema.",
    )


class SecretInputs(Model):
    """Inputs of `secret`."""

    name: Annotated[
        str,
        Immutable(
            "The name is the secret's identity in the store; declare a new resource for a new "
            "name (the old value stays in the store)."
        ),
    ] = Field(
        pattern=NAME_PATTERN,
        description="Name of the secret in the store, unique per store; it is the secret's identity "
        "(a re-created resource with the same name finds and keeps the stored value).",
    )
    kind: Kind = Field(
        description="What to generate: `password`, `token` (random bytes as text), `uuid` "
        "(version 4), `ssh-ed25519` (OpenSSH private key), `wireguard` (private key), `tsig` "
        "(HMAC key for DNS TSIG)."
    )
    generation: int = Field(
        default=0, description="Change this number to rotate: a new value is generated."
    )
    keepers: dict[str, str] = Field(
        default_factory=dict,
        description="Arbitrary strings whose change rotates the value, like `generation` (e.g. "
        "`{ server = config.networking.hostName; }`: a new value when the server is replaced).",
    )
    directory: str = Field(
        default=".nixops4-secrets",
        description="Directory (0700) on the deployer machine holding one 0600 file per secret, "
        "relative to the directory nixops4 runs in. With `postgresql` it holds the runtime copies, in "
        "its subdirectory `.postgresql/<table>/`.",
    )
    postgresql: PostgresqlStore | None = Field(
        default=None,
        description="Keep the value in a PostgreSQL table, encrypted, so several deployer machines "
        "share it; null keeps it only in `directory`.",
    )
    expose_value: bool = Field(
        default=False,
        description="Also return the value itself as the `value` output, which puts it into NixOps4 "
        "state. Off by default: consumers should read the file at `path`.",
    )
    replace_unfit: bool = Field(
        default=False,
        description="Replace a stored value that does not fit the inputs and was not generated "
        "by this resource (e.g. one placed by hand before the first apply) with a generated one. "
        "By default such a value is refused and left alone.",
    )
    delete_on_destroy: bool = Field(
        default=False,
        description="Whether destroying the resource deletes the stored value; by default it is kept.",
    )
    length: int | None = Field(
        default=None,
        ge=1,
        le=4096,
        description="Characters of a `password` (default 32), bytes of a `token` (default 32) or of "
        "a `tsig` key (default: the digest size of `algorithm`); must be null for other kinds.",
    )
    lowercase: bool = Field(default=True, description="`password`: may contain a-z.")
    uppercase: bool = Field(default=True, description="`password`: may contain A-Z.")
    digits: bool = Field(default=True, description="`password`: may contain 0-9.")
    symbols: bool = Field(default=True, description="`password`: may contain `symbolCharacters`.")
    min_lowercase: int = Field(default=0, ge=0, description="`password`: at least this many a-z.")
    min_uppercase: int = Field(default=0, ge=0, description="`password`: at least this many A-Z.")
    min_digits: int = Field(default=0, ge=0, description="`password`: at least this many digits.")
    min_symbols: int = Field(default=0, ge=0, description="`password`: at least this many symbols.")
    symbol_characters: str = Field(
        default=DEFAULT_SYMBOLS,
        pattern=r"^[!-/:-@\[-`{-~]+$",
        description="`password`: the symbols to draw from (printable ASCII, not letters or digits).",
    )
    exclude_characters: str = Field(
        default="", description="`password`: characters never used (e.g. look-alikes `Il1O0`)."
    )
    encoding: Literal["hex", "base64", "base64url"] = Field(
        default="base64url",
        description="`token`: text form of the bytes (`base64url` is unpadded, `base64` padded).",
    )
    algorithm: TsigAlgorithm = Field(default="hmac-sha256", description="`tsig`: HMAC algorithm.")
    comment: str = Field(
        default="", description="`ssh-ed25519`: comment appended to the public key."
    )
    bcrypt_cost: int | None = Field(
        default=12,
        ge=4,
        le=31,
        description="`password`: cost of the `bcryptHash` output; null for no bcrypt hash.",
    )
    scram_iterations: int = Field(
        default=4096, ge=1, description="`password`: iterations of the `scramSha256` verifier."
    )
    minimum: int = Field(
        default=0,
        ge=-(2**63 - 1),
        le=2**63 - 1,
        description="`integer`: the smallest value (inclusive).",
    )
    maximum: int = Field(
        default=2**31 - 1,
        ge=-(2**63 - 1),
        le=2**63 - 1,
        description="`integer`: the largest value (inclusive).",
    )

    @model_validator(mode="after")
    def _check_kind_settings(self) -> SecretInputs:
        if self.length is not None and self.kind not in LENGTH_KINDS:
            raise ValueError(f"`length` does not apply to kind `{self.kind}`; leave it null")
        if self.minimum > self.maximum:
            raise ValueError("`minimum` must not be greater than `maximum`")
        if self.kind == "password":
            problems = self.password_policy().problems()
            if problems:
                raise ValueError("the password policy cannot be met: " + "; ".join(problems))
        return self

    def password_policy(self) -> PasswordPolicy:
        """The password policy these inputs describe."""
        return make_policy(
            length=self.length or DEFAULT_PASSWORD_LENGTH,
            lowercase=(self.lowercase, self.min_lowercase),
            uppercase=(self.uppercase, self.min_uppercase),
            digits=(self.digits, self.min_digits),
            symbols=(self.symbols, self.min_symbols),
            symbol_characters=self.symbol_characters,
            exclude=self.exclude_characters,
        )

    def byte_length(self) -> int:
        """Bytes of a `token` or `tsig` key."""
        if self.length is not None:
            return self.length
        return TSIG_KEY_BYTES[self.algorithm] if self.kind == "tsig" else DEFAULT_TOKEN_BYTES


class SecretOutputs(Model):
    """Outputs of `secret`: where the value is and what may be derived from it, not the value."""

    path: str = Field(
        description="Absolute path of the 0600 file holding the value on the deployer machine."
    )
    fingerprint: str = Field(
        description="Keyed hash of the value: changes when the value rotates, reveals nothing."
    )
    public_key: str | None = Field(
        default=None,
        description="`ssh-ed25519`: the OpenSSH public key line; `wireguard`: the base64 public key.",
    )
    scram_sha256: str | None = Field(
        default=None, description="`password`: PostgreSQL SCRAM-SHA-256 verifier."
    )
    bcrypt_hash: str | None = Field(
        default=None,
        description="`password`: bcrypt hash (`$2b$`); null when `bcryptCost` is null or the "
        "password is longer than bcrypt's 72 bytes.",
    )
    algorithm: str | None = Field(default=None, description="`tsig`: the HMAC algorithm.")
    value: Annotated[str | None, Secret()] = Field(
        default=None, description="The value itself, only when `exposeValue` is true."
    )
