"""Request builders: the wire form of every request nixops4 sends to a provider.

These are the only request builders of the project (the runner, the test harness, the tests and
the benchmarks use them). They need only the standard library, so a client starts quickly; their
output is exactly what the message models in `nixops4_protocol.messages` accept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

JsonObject = dict[str, Any]
"""A decoded JSON object."""


def extant(
    type_name: str, inputs: Mapping[str, Any], outputs: Mapping[str, Any] | None = None
) -> JsonObject:
    """The `resource` object of update, destroy and state requests (outputs left out if None)."""
    resource: JsonObject = {"type": type_name, "inputProperties": dict(inputs)}
    if outputs is not None:
        resource["outputProperties"] = dict(outputs)
    return resource


def create_request(
    type_name: str, inputs: Mapping[str, Any], *, stateful: bool = False
) -> JsonObject:
    """A createResourceRequest: create (`stateful`) or converge (stateless) from `inputs`."""
    return {
        "createResourceRequest": {
            "type": type_name,
            "inputProperties": dict(inputs),
            "isStateful": stateful,
        }
    }


def update_request(
    type_name: str,
    inputs: Mapping[str, Any],
    previous_inputs: Mapping[str, Any],
    previous_outputs: Mapping[str, Any] | None,
) -> JsonObject:
    """An updateResourceRequest from the previous inputs and outputs to `inputs`."""
    return {
        "updateResourceRequest": {
            "resource": extant(type_name, previous_inputs, previous_outputs),
            "inputProperties": dict(inputs),
        }
    }


def destroy_request(
    type_name: str, inputs: Mapping[str, Any], outputs: Mapping[str, Any] | None = None
) -> JsonObject:
    """A destroyResourceRequest for a resource applied with `inputs` (and `outputs`)."""
    return {"destroyResourceRequest": {"resource": extant(type_name, inputs, outputs)}}


def state_read_request(
    type_name: str, inputs: Mapping[str, Any], outputs: Mapping[str, Any] | None = None
) -> JsonObject:
    """A stateResourceReadRequest for a state-store resource."""
    return {"stateResourceReadRequest": {"resource": extant(type_name, inputs, outputs)}}


def state_event_request(
    type_name: str,
    inputs: Mapping[str, Any],
    outputs: Mapping[str, Any] | None,
    *,
    event: str,
    patch: Sequence[Mapping[str, Any]],
    nixops_version: str = "0.1.0",
) -> JsonObject:
    """A stateResourceEvent: append one RFC 6902 patch to a state-store resource."""
    return {
        "stateResourceEvent": {
            "resource": extant(type_name, inputs, outputs),
            "event": event,
            "nixopsVersion": nixops_version,
            "patch": [dict(operation) for operation in patch],
        }
    }
