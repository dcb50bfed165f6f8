"""The PostgreSQL store: secrets in a table, encrypted at rest with a key every deployer shares.

Each row holds a secret's name, the id of the key it is encrypted under, and nonce + AES-256-GCM
ciphertext whose associated data binds it to the name (a row copied to another name does not
decrypt). The database administrator sees names and timestamps, never values.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from nixops4_protocol.errors import ResourceError

from nixops4_providers.pgconn import connect, describe_sql_error

from .entropy import random_bytes
from .files import SecretDirectory
from .keys import KEY_FILE_HINT, StoreKey, read_key_file
from .model import PostgresqlStore

if TYPE_CHECKING:
    import psycopg

NONCE_BYTES = 12
ASSOCIATED_DATA = b"nixops4-secrets v1\x00"
TABLE_LOCK = 0x6E6978_5345_4352
"""Advisory lock id serialising `CREATE TABLE IF NOT EXISTS` between concurrent deployers."""
RUNTIME_DIRECTORY = ".postgresql"
"""Subdirectory of `directory` holding runtime copies, one directory per table.

Secret names cannot start with a dot, so it never collides with a directory-store secret's file."""


class PostgresStore:
    """Secrets in a PostgreSQL table; runtime copies in a local private directory."""

    def __init__(self, settings: PostgresqlStore, directory: SecretDirectory) -> None:
        """Use the table `settings` names; the key file and the server are opened on first use.

        Runtime copies go to `.postgresql/<table>/` inside `directory`.
        """
        self.settings = settings
        self.directory = directory.child(RUNTIME_DIRECTORY).child(settings.table)
        self._key: StoreKey | None = None
        self._connection: psycopg.Connection[tuple[Any, ...]] | None = None

    def describe(self) -> str:
        """Name the table and server."""
        return f"table {self.settings.table!r} at {self.settings.connection.describe()}"

    def location(self, name: str) -> str:
        """The secret's row."""
        return f"row {name!r} of {self.describe()}"

    def key(self) -> StoreKey:
        """The key read from `keyFile`."""
        if self._key is None:
            self._key = read_key_file(self.settings.key_file)
        return self._key

    def read(self, name: str) -> str | None:
        """Fetch and decrypt the value of `name`."""
        row = self._row(name)
        return None if row is None else self._open(name, *row)

    def create(self, name: str, value: str) -> str:
        """Insert unless present (the first of concurrent inserts wins), then read the winner."""
        self._execute(
            "INSERT INTO {table} (name, key_id, sealed) VALUES (%s, %s, %s) "
            "ON CONFLICT (name) DO NOTHING",
            name,
            self.key().key_id,
            self._seal(name, value),
        )
        stored = self.read(name)
        if stored is None:  # deleted by someone else in between: try again
            return self.create(name, value)
        return stored

    def replace(self, name: str, value: str) -> str:
        """Compare-and-set `name` to `value`; if another deployer changed it first, return theirs.

        The update only applies while the row still holds the ciphertext read just before, so of
        concurrent rotations exactly one is stored and the others read it back. A row under another
        key is refused, never replaced.
        """
        row = self._row(name)
        if row is None:
            return self.create(name, value)
        key_id, before = row
        self._check_key(name, key_id)
        cursor = self._execute(
            "UPDATE {table} SET sealed = %s, updated_at = now() "
            "WHERE name = %s AND key_id = %s AND sealed = %s",
            self._seal(name, value),
            name,
            key_id,
            before,
        )
        if cursor.rowcount == 1:
            return value
        stored = self.read(name)
        if stored is None:  # deleted by someone else in between: store ours
            return self.create(name, value)
        return stored

    def delete(self, name: str) -> bool:
        """Delete the row of `name` and the local runtime copy."""
        self.directory.delete(name)
        cursor = self._execute("DELETE FROM {table} WHERE name = %s", name)
        return cursor.rowcount > 0

    def deliver(self, name: str, value: str) -> Path:
        """Materialise the value as a 0600 runtime file in the local directory."""
        self.directory.ensure()
        if self.directory.read(name) != value:
            self.directory.replace(name, value)
        return self.directory.file(name)

    def close(self) -> None:
        """Close the connection."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _row(self, name: str) -> tuple[str, bytes] | None:
        """The key id and sealed bytes stored for `name`, or None."""
        row = self._execute("SELECT key_id, sealed FROM {table} WHERE name = %s", name).fetchone()
        return None if row is None else (row[0], bytes(row[1]))

    def _execute(self, query: str, *params: Any) -> psycopg.Cursor[tuple[Any, ...]]:
        import psycopg
        from psycopg import sql

        statement = sql.SQL(query).format(table=sql.Identifier(self.settings.table))
        try:
            return self._connect().execute(statement, params)
        except psycopg.Error as error:
            raise ResourceError(
                f"PostgreSQL store {self.describe()}: {describe_sql_error(error)}",
                hint="Check that the `connection` user may use (and create) this table.",
            ) from None

    def _connect(self) -> psycopg.Connection[tuple[Any, ...]]:
        if self._connection is None:
            connection = connect(self.settings.connection)
            try:
                self._create_table(connection)
            except BaseException:
                connection.close()
                raise
            self._connection = connection
        return self._connection

    def _create_table(self, connection: psycopg.Connection[tuple[Any, ...]]) -> None:
        """Create the table if it is missing.

        An existing table gets no DDL, so a user that may only read and write its rows (table
        made by an administrator) can use it: `CREATE TABLE IF NOT EXISTS` checks the privilege
        to create before it checks whether the table exists.
        """
        from psycopg import sql

        exists = connection.execute(
            "SELECT to_regclass(quote_ident(%s)) IS NOT NULL", (self.settings.table,)
        ).fetchone()
        if exists and exists[0]:
            return
        with connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (TABLE_LOCK,))
            connection.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {table} ("
                    " name text PRIMARY KEY,"
                    " key_id text NOT NULL,"
                    " sealed bytea NOT NULL,"
                    " created_at timestamptz NOT NULL DEFAULT now(),"
                    " updated_at timestamptz NOT NULL DEFAULT now())"
                ).format(table=sql.Identifier(self.settings.table))
            )

    def _seal(self, name: str, value: str) -> bytes:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = random_bytes(NONCE_BYTES)
        aad = ASSOCIATED_DATA + name.encode()
        return nonce + AESGCM(self.key().encryption).encrypt(nonce, value.encode(), aad)

    def _open(self, name: str, key_id: str, sealed: bytes) -> str:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._check_key(name, key_id)
        nonce, ciphertext = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
        try:
            plaintext = AESGCM(self.key().encryption).decrypt(
                nonce, ciphertext, ASSOCIATED_DATA + name.encode()
            )
        except InvalidTag:
            raise ResourceError(
                f"cannot decrypt secret {name!r} in {self.describe()}: the stored data does not "
                "authenticate under the key in `keyFile` (altered or copied from another name)",
                hint="Restore the row from a backup, or delete it and re-apply to generate a new value.",
            ) from None
        return plaintext.decode("utf-8")

    def _check_key(self, name: str, key_id: str) -> None:
        """Refuse a row encrypted under a key other than the one in `keyFile`."""
        key = self.key()
        if key_id != key.key_id:
            raise ResourceError(
                f"secret {name!r} in {self.describe()} is encrypted under key id {key_id}, but "
                f"`keyFile` {self.settings.key_file!r} holds key id {key.key_id}",
                hint="Use the key file the other deployers use (the stored value is kept; it is "
                "never overwritten because of a key mismatch). " + KEY_FILE_HINT,
            )
