"""PostgreSQL connections shared by the providers that talk to a server (postgresql, secrets).

The `connection` input model, opening a connection from it, and the server's error text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from nixops4_protocol.credentials import read_secret_file
from nixops4_protocol.errors import ResourceError
from nixops4_protocol.resource import CredentialFile, Model
from pydantic import Field

if TYPE_CHECKING:
    import psycopg

SslMode = Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]


class Connection(Model):
    """How to reach the PostgreSQL server and as whom."""

    host: str = Field(description="Host name, IP address or Unix socket directory of the server.")
    port: int = Field(default=5432, ge=1, le=65535, description="TCP port of the server.")
    database: str = Field(default="postgres", description="Database to connect to.")
    user: str = Field(
        default="postgres",
        description="Role to connect as (needs the privileges the resource requires).",
    )
    password_file: Annotated[str | None, CredentialFile()] = Field(
        default=None,
        description="Path of a file holding the password of `user` (trailing newline ignored); null for none.",
    )
    sslmode: SslMode = Field(default="prefer", description="libpq `sslmode`.")
    ca_file: str | None = Field(
        default=None,
        description="Path of the CA certificate file to verify the server (libpq `sslrootcert`).",
    )
    connect_timeout: int = Field(
        default=10, ge=1, description="Seconds to wait for the connection."
    )

    def describe(self) -> str:
        """Name the server for messages, without credentials."""
        return f"{self.user}@{self.host}:{self.port}/{self.database}"


def connect(
    connection: Connection, *, autocommit: bool = True
) -> psycopg.Connection[tuple[object, ...]]:
    """Open a connection to the server; failures become a ResourceError naming the server."""
    import psycopg

    params: dict[str, object] = {
        "host": connection.host,
        "port": connection.port,
        "dbname": connection.database,
        "user": connection.user,
        "sslmode": connection.sslmode,
        "connect_timeout": connection.connect_timeout,
        "application_name": "nixops4-postgresql",
    }
    if connection.password_file is not None:
        params["password"] = read_secret_file(connection.password_file, what="`passwordFile`")
    if connection.ca_file is not None:
        params["sslrootcert"] = connection.ca_file
    try:
        return psycopg.connect(autocommit=autocommit, **params)  # type: ignore[arg-type]
    except psycopg.OperationalError as error:
        raise ResourceError(
            f"cannot connect to PostgreSQL at {connection.describe()}: {str(error).strip()}",
            hint="Check host, port, user and passwordFile of the `connection` input, and that the server accepts the connection (pg_hba.conf).",
        ) from None


def describe_sql_error(error: Exception) -> str:
    """The server's own error text (message, detail, hint) on one or a few lines."""
    diag = getattr(error, "diag", None)
    primary = getattr(diag, "message_primary", None)
    if not primary:
        return str(error).strip()
    parts = [primary]
    for label in ("message_detail", "message_hint"):
        text = getattr(diag, label, None)
        if text:
            parts.append(text)
    return "; ".join(parts)
