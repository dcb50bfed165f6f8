"""SCRAM-SHA-256 password verifiers computed client-side, as PostgreSQL stores them (RFC 5802/7677).

The verifier has the form `SCRAM-SHA-256$<iterations>:<b64 salt>$<b64 StoredKey>:<b64 ServerKey>`.
Sending it in `ALTER ROLE ... PASSWORD` means the plaintext never reaches the server or its logs.
Passwords are prepared with SASLprep exactly as PostgreSQL and libpq do (`pg_saslprep`): pure ASCII
is used as is; otherwise the RFC 4013 mapping, NFKC normalisation and checks are applied, and when
the checks fail the raw UTF-8 bytes are used, which is what libpq sends when logging in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import stringprep
import unicodedata

PREFIX = "SCRAM-SHA-256"
DEFAULT_SALT_LENGTH = 16
"""The salt length PostgreSQL uses for the verifiers it generates."""


def _prohibited(char: str) -> bool:
    """Whether a character is prohibited output or unassigned for SASLprep (RFC 4013 §2.3, §2.5)."""
    return any(
        check(char)
        for check in (
            stringprep.in_table_a1,
            stringprep.in_table_c12,
            stringprep.in_table_c21_c22,
            stringprep.in_table_c3,
            stringprep.in_table_c4,
            stringprep.in_table_c5,
            stringprep.in_table_c6,
            stringprep.in_table_c7,
            stringprep.in_table_c8,
            stringprep.in_table_c9,
        )
    )


def _bidi_ok(text: str) -> bool:
    """The RFC 3454 §6 bidirectional rule."""
    if not any(stringprep.in_table_d1(char) for char in text):
        return True
    if any(stringprep.in_table_d2(char) for char in text):
        return False
    return stringprep.in_table_d1(text[0]) and stringprep.in_table_d1(text[-1])


def saslprep(password: str) -> bytes:
    """The bytes PostgreSQL hashes for `password` (its `pg_saslprep`, falling back to raw bytes)."""
    raw = password.encode("utf-8")
    if password.isascii():
        return raw
    mapped = "".join(
        " " if stringprep.in_table_c12(char) else char
        for char in password
        if not stringprep.in_table_b1(char)
    )
    prepared = unicodedata.normalize("NFKC", mapped)
    if not prepared or any(_prohibited(char) for char in prepared) or not _bidi_ok(prepared):
        return raw
    return prepared.encode("utf-8")


def _keys(password: str, salt: bytes, iterations: int) -> tuple[bytes, bytes]:
    """StoredKey and ServerKey for a password, salt and iteration count."""
    salted = hashlib.pbkdf2_hmac("sha256", saslprep(password), salt, iterations)
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.digest(salted, b"Server Key", "sha256")
    return stored_key, server_key


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def scram_sha256_verifier(
    password: str, *, salt: bytes | None = None, iterations: int = 4096
) -> str:
    """The PostgreSQL SCRAM-SHA-256 verifier of `password` (random 16-byte salt unless given)."""
    if iterations < 1:
        raise ValueError("SCRAM iteration count must be at least 1")
    if salt is None:
        salt = os.urandom(DEFAULT_SALT_LENGTH)
    if not salt:
        raise ValueError("SCRAM salt must not be empty")
    stored_key, server_key = _keys(password, salt, iterations)
    return f"{PREFIX}${iterations}:{_b64(salt)}${_b64(stored_key)}:{_b64(server_key)}"


def parse_verifier(verifier: str) -> tuple[int, bytes, bytes, bytes] | None:
    """Iterations, salt, StoredKey and ServerKey of a verifier; None if it is not SCRAM-SHA-256."""
    try:
        prefix, parameters, keys = verifier.split("$")
        iterations_text, salt_text = parameters.split(":")
        stored_text, server_text = keys.split(":")
        iterations = int(iterations_text)
        salt, stored_key, server_key = (
            base64.b64decode(text, validate=True) for text in (salt_text, stored_text, server_text)
        )
    except ValueError:
        return None
    if prefix != PREFIX or iterations < 1 or not salt:
        return None
    return iterations, salt, stored_key, server_key


def verifier_matches(verifier: str, password: str) -> bool:
    """Whether `verifier` was computed from `password` (recomputed with its salt and iterations)."""
    parsed = parse_verifier(verifier)
    if parsed is None:
        return False
    iterations, salt, stored_key, server_key = parsed
    expected_stored, expected_server = _keys(password, salt, iterations)
    return hmac.compare_digest(stored_key + server_key, expected_stored + expected_server)
