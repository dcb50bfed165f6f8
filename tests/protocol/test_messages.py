"""Every message of the upstream schema round-trips through the models and validates."""

from __future__ import annotations

from typing import Any

import pytest
from nixops4_protocol import messages
from pydantic import ValidationError

from tests.protocol.schema import load_spec, validator

RESOURCE = {
    "type": "memo",
    "inputProperties": {"initialize_with": "hi"},
    "outputProperties": {"value": "hi"},
}
PATCH = [
    {"op": "add", "path": "/resources/a~1b", "value": {"type": "memo"}},
    {"op": "remove", "path": "/resources/old"},
    {"op": "replace", "path": "/resources/x/output_properties", "value": None},
    {"op": "move", "from": "/resources/x", "path": "/resources/y"},
    {"op": "copy", "from": "/resources/y", "path": "/resources/z"},
    {"op": "test", "path": "/_type", "value": "nixopsState"},
]

SCHEMA_MESSAGES: list[dict[str, Any]] = [
    {
        "createResourceRequest": {
            "type": "file",
            "inputProperties": {"a": [1, 2.5, None]},
            "isStateful": False,
        }
    },
    {
        "updateResourceRequest": {
            "resource": RESOURCE,
            "inputProperties": {"initialize_with": "new"},
        }
    },
    {
        "updateResourceRequest": {
            "resource": {"type": "t", "inputProperties": {}},
            "inputProperties": {},
        }
    },
    {"stateResourceReadRequest": {"resource": RESOURCE}},
    {
        "stateResourceEvent": {
            "resource": RESOURCE,
            "event": "create",
            "nixopsVersion": "0.1.0",
            "patch": PATCH,
        }
    },
    {"createResourceResponse": {"outputProperties": {"nested": {"deep": [True]}}}},
    {"updateResourceResponse": {"outputProperties": {}}},
    {
        "stateResourceReadResponse": {
            "state": {"_type": "nixopsState", "resources": {}, "deployments": {}}
        }
    },
    {"stateResourceEventResponse": {}},
    {"errorResponse": {"message": "line one\nline two"}},
]

DESTROY_MESSAGES: list[dict[str, Any]] = [
    {"destroyResourceRequest": {"resource": RESOURCE}},
    {"destroyResourceRequest": {"resource": {"type": "t", "inputProperties": {}}}},
    {"destroyResourceResponse": {}},
]


def _kinds(message: dict[str, Any]) -> dict[str, type[Any]]:
    kind = next(iter(message))
    return messages.REQUEST_KINDS if kind in messages.REQUEST_KINDS else messages.RESPONSE_KINDS


def _definition(message: dict[str, Any]) -> str:
    """Name the schema half (`Request` or `Response`) a message belongs to.

    The schema's top level also says `additionalProperties: false` without naming any property,
    which no message could pass, so messages are validated against the halves.
    """
    return "Request" if next(iter(message)) in messages.REQUEST_KINDS else "Response"


@pytest.mark.parametrize("message", SCHEMA_MESSAGES, ids=lambda m: next(iter(m)))
def test_schema_message_round_trips_and_validates(message: dict[str, Any]) -> None:
    """Parsing then re-serialising gives the same JSON, and it is valid per the upstream schema."""
    validator("resource-schema-v0.json", _definition(message)).validate(message)
    body = messages.unwrap(message, _kinds(message))
    assert messages.wrap(body) == message


@pytest.mark.parametrize("message", DESTROY_MESSAGES, ids=lambda m: next(iter(m)))
def test_destroy_messages_round_trip(message: dict[str, Any]) -> None:
    """The destroy request/response (upstream tfproto shape) round-trip exactly."""
    body = messages.unwrap(message, _kinds(message))
    assert messages.wrap(body) == message


def test_upstream_examples_parse() -> None:
    """The example files shipped with the upstream schema parse into our models and back."""
    request = load_spec("examples/v0_CreateResourceRequest.json")
    response = load_spec("examples/v0_CreateResourceResponse.json")
    parsed = messages.CreateResourceRequest.model_validate(request)
    assert parsed.model_dump(by_alias=True) == request
    assert (
        messages.CreateResourceResponse.model_validate(response).model_dump(by_alias=True)
        == response
    )
    validator("resource-schema-v0.json", "CreateResourceRequest").validate(request)


@pytest.mark.parametrize(
    "body",
    [
        {"outputProperties": {}, "extra": 1},
        {},
        {"outputProperties": []},
    ],
)
def test_response_bodies_reject_extra_or_missing_fields(body: dict[str, Any]) -> None:
    """Response bodies carry exactly the schema's fields, like nixops4's strict parser."""
    with pytest.raises(ValidationError):
        messages.CreateResourceResponse.model_validate(body)


def test_event_response_is_empty_object() -> None:
    """A `stateResourceEventResponse` serialises to exactly `{}` and refuses any field."""
    assert messages.wrap(messages.StateResourceEventResponse()) == {
        "stateResourceEventResponse": {}
    }
    with pytest.raises(ValidationError):
        messages.StateResourceEventResponse.model_validate({"ok": True})


def test_wrapper_must_have_one_known_key() -> None:
    """A message with zero, two or an unknown wrapper key is refused."""
    bad_messages: list[dict[str, Any]] = [
        {},
        {"createResourceRequest": {}, "errorResponse": {}},
        {"deleteResourceRequest": {}},
    ]
    for bad in bad_messages:
        with pytest.raises(ValueError, match="kind"):
            messages.unwrap(bad, messages.REQUEST_KINDS)


def test_upstream_state_examples_validate() -> None:
    """Our empty state document and initial event match the upstream state schema and examples."""
    from nixops4_protocol.state import empty_state, initial_patch

    assert empty_state() == load_spec("examples/state_v0_empty.json")
    event = load_spec("examples/state_v0_initial-event.json")
    assert event["patch"] == initial_patch()
    validator("state-schema-v0.json", "StateEvent").validate(event)


def test_dispatcher_knows_exactly_the_modelled_request_kinds() -> None:
    """The dispatcher's own list of request kinds (kept free of pydantic) matches the models."""
    from nixops4_protocol.provider import REQUEST_KINDS

    assert set(REQUEST_KINDS) == set(messages.REQUEST_KINDS)
