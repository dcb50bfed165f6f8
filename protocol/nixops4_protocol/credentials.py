"""Credentials passed as file paths: read them, and keep their values out of messages and logs."""

from __future__ import annotations

from pathlib import Path

from .errors import ResourceError
from .redaction import register_secret_value


def read_secret_file(path: str, *, what: str) -> str:
    """Read a credential file (trailing newline stripped) and register its value for scrubbing.

    `what` names the input for the error message, e.g. "`passwordFile`".
    """
    try:
        value = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as error:
        raise ResourceError(
            f"cannot read {what} file {path!r}: {error.strerror}",
            hint="Check that the file exists and is readable by the user running nixops4.",
        ) from None
    except UnicodeDecodeError:
        raise ResourceError(
            f"{what} file {path!r} is not UTF-8 text",
            hint="The file must hold the credential as text (a trailing newline is ignored).",
        ) from None
    register_secret_value(value)
    return value
