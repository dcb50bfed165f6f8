"""What every Garage resource shares: the connection input, the adoption switch, names."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

from nixops4_protocol.resource import Model
from pydantic import AfterValidator, Field, StringConstraints

from .connection import EXAMPLE, Connection

if TYPE_CHECKING:
    from nixops4_protocol.context import Context

    from .admin import AdminClient

BucketName = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"),
]
"""A bucket alias as Garage accepts it: an S3 bucket name (3-63 of a-z, 0-9, `.` and `-`)."""


def parse_time(text: str) -> datetime:
    """An RFC 3339 date and time with an offset, as an aware datetime in UTC."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError("give an offset, e.g. `2030-01-01T00:00:00Z`")
    return value.astimezone(UTC)


def _check_time(text: str) -> str:
    parse_time(text)
    return text


DateTime = Annotated[str, AfterValidator(_check_time)]
"""An RFC 3339 date and time with an offset, kept as the text the user wrote."""


class ConnectedInputs(Model):
    """Inputs every Garage resource has: the connection and the adoption switch."""

    connection: Connection = Field(
        description="How to reach the Garage cluster.", examples=[EXAMPLE]
    )
    adopt: bool = Field(
        default=False,
        description="Take over an existing object that was not created by this provider and "
        "differs from the declaration.",
    )


def admin_client(connection: Connection, ctx: Context) -> AdminClient:
    """A client of the cluster's admin API for this request."""
    from .admin import AdminClient

    return AdminClient(connection, ctx.log)
