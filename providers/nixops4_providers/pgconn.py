"""PostgreSQL connections shared by the providers that talk to a server (postgresql, secrets).

The `connection` input model, opening a connection from it, and the server's error text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from nixops4_protocol.credentials import read_secret_file
from nixops4_protocol.errors import ResourceError
from nixops4_protocol.resource import CredentialFile, Model
from pydantic import AfterValidator, Field

from nixops4_providers.hosts import check_host

if TYPE_CHECKING:
    import psycopg


def _check_host(text: str) -> str:
    """Accept what libpq accepts as `host`: host names, IP addresses, socket directories, lists."""
    for host in text.split(","):
        if host.startswith(("/", "@")):
            if "\x00" in host:
                raise ValueError("a socket directory cannot contain a NUL character")
        else:
            check_host(host)
    return text


SslMode = Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]


class Connection(Model):
    """How to reach the PostgreSQL server and as whom."""

    host: Annotated[str, AfterValidator(_check_host)] = Field(
        description="Host name, IP address or Unix socket directory of the server."
    )
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
    lock_timeout: float = Field(
        default=60,
        ge=0.1,
        le=86400,
        description="Seconds one statement may wait for a lock another transaction holds "
        "(an advisory lock of a concurrent deploy, a row or a table) before the operation fails.",
    )
    statement_timeout: float = Field(
        default=600,
        ge=0.1,
        le=86400,
        description="Seconds one statement may run, lock waits included, before the operation fails.",
    )

    def describe(self) -> str:
        """Name the server for messages, without credentials."""
        return f"{self.user}@{self.host}:{self.port}/{self.database}"


def _milliseconds(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def _session_options(connection: Connection) -> str:
    """libpq `options` bounding every lock wait and statement of the session."""
    return (
        f"-c lock_timeout={_milliseconds(connection.lock_timeout)} "
        f"-c statement_timeout={_milliseconds(connection.statement_timeout)}"
    )


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
        "options": _session_options(connection),
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


_TIMEOUTS = {
    "55P03": "gave up waiting for a lock that another transaction holds (after "
    "`connection.lockTimeout` seconds)",
    "57014": "gave up on a statement that ran or waited longer than `connection.statementTimeout` "
    "seconds",
}
"""What a lock timeout (SQLSTATE 55P03) or a cancelled statement (57014) waited for."""


def describe_sql_error(error: Exception) -> str:
    """The server's own error text (message, detail, hint, and for a timeout what it waited for)."""
    diag = getattr(error, "diag", None)
    primary = getattr(diag, "message_primary", None)
    if not primary:
        return str(error).strip()
    parts = [primary]
    waited = _TIMEOUTS.get(getattr(diag, "sqlstate", None) or "")
    if waited:
        parts.insert(0, waited)
    labels = ("message_detail", "message_hint") + (("context",) if waited else ())
    for label in labels:
        text = getattr(diag, label, None)
        if text:
            parts.append(text.strip().replace("\n", "; "))
    return "; ".join(parts)
