"""What every Garage resource shares: the connection input, the adoption switch, names."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from nixops4_protocol.resource import Model
from pydantic import Field, StringConstraints

from .connection import EXAMPLE, Connection

if TYPE_CHECKING:
    from nixops4_protocol.context import Context

    from .admin import AdminClient

BucketName = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"),
]
"""A bucket alias as Garage accepts it: an S3 bucket name (3-63 of a-z, 0-9, `.` and `-`)."""


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
