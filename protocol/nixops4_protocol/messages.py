"""Pydantic models of the NixOps4 resource protocol (resource-schema-v0) plus destroy.

Every message on the wire is an object with exactly one key naming its kind.  The body models
mirror the schema's definitions one to one; none accepts or emits fields the schema does not name.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    """Base of every message body: strict about unknown fields, wire names as declared."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)


JsonObject = dict[str, Any]


class ExtantResource(_Body):
    """A resource that exists: its type, the inputs it was applied with and, usually, its outputs."""

    type: str
    input_properties: JsonObject = Field(alias="inputProperties")
    output_properties: JsonObject | None = Field(default=None, alias="outputProperties")


class PatchOperation(BaseModel):
    """One RFC 6902 operation; values are kept verbatim for the patch library."""

    model_config = ConfigDict(extra="allow")

    op: Literal["add", "remove", "replace", "move", "copy", "test"]
    path: str


class CreateResourceRequest(_Body):
    """Create (or, for a stateless resource, ensure) a resource from its inputs."""

    type: str
    input_properties: JsonObject = Field(alias="inputProperties")
    is_stateful: bool = Field(alias="isStateful")


class CreateResourceResponse(_Body):
    """The outputs of a created resource."""

    output_properties: JsonObject = Field(alias="outputProperties")


class UpdateResourceRequest(_Body):
    """Update a resource: `resource` holds the previous record, `inputProperties` the new inputs."""

    resource: ExtantResource
    input_properties: JsonObject = Field(alias="inputProperties")


class UpdateResourceResponse(_Body):
    """The outputs of an updated resource; they replace the stored outputs wholesale."""

    output_properties: JsonObject = Field(alias="outputProperties")


class DestroyResourceRequest(_Body):
    """Destroy a resource (the upstream `tfproto` shape; current nixops4 never sends it)."""

    resource: ExtantResource


class DestroyResourceResponse(_Body):
    """Acknowledges a destroyed (or already absent) resource."""


class StateResourceReadRequest(_Body):
    """Read the materialised state document of a state-store resource."""

    resource: ExtantResource


class StateResourceReadResponse(_Body):
    """The whole materialised state document."""

    state: JsonObject


class StateResourceEvent(_Body):
    """Append one change (an RFC 6902 patch) to a state-store resource."""

    resource: ExtantResource
    event: str
    nixops_version: str = Field(alias="nixopsVersion")
    patch: list[PatchOperation]


class StateResourceEventResponse(_Body):
    """Acknowledges a recorded state event; always `{}`."""


class ErrorResponse(_Body):
    """A failed request; `message` is shown to the user."""

    message: str


REQUEST_KINDS: dict[str, type[_Body]] = {
    "createResourceRequest": CreateResourceRequest,
    "updateResourceRequest": UpdateResourceRequest,
    "destroyResourceRequest": DestroyResourceRequest,
    "stateResourceReadRequest": StateResourceReadRequest,
    "stateResourceEvent": StateResourceEvent,
}

RESPONSE_KINDS: dict[str, type[_Body]] = {
    "createResourceResponse": CreateResourceResponse,
    "updateResourceResponse": UpdateResourceResponse,
    "destroyResourceResponse": DestroyResourceResponse,
    "stateResourceReadResponse": StateResourceReadResponse,
    "stateResourceEventResponse": StateResourceEventResponse,
    "errorResponse": ErrorResponse,
}

_KIND_OF_BODY = {body: kind for kind, body in (REQUEST_KINDS | RESPONSE_KINDS).items()}


def wrap(body: _Body) -> JsonObject:
    """Return the wire form of a message body: `{kind: body}` with wire field names."""
    kind = _KIND_OF_BODY[type(body)]
    return {kind: body.model_dump(by_alias=True, exclude_unset=True, mode="json")}


def unwrap(message: JsonObject, kinds: dict[str, type[_Body]]) -> _Body:
    """Parse a wire message of one of `kinds`; raises ValueError or ValidationError."""
    if not isinstance(message, dict) or len(message) != 1:
        raise ValueError("a message is an object with exactly one key naming its kind")
    ((kind, body),) = message.items()
    if kind not in kinds:
        raise ValueError(f"unknown message kind {kind!r}")
    return kinds[kind].model_validate(body)
