"""The provider: a registry of resource types, request dispatch and the error boundary.

Requests are checked in order of cost: JSON framing, request kind and resource type need only the
standard library; pydantic, the resource module and its backend client load only for a request
that gets that far.
"""

from __future__ import annotations

import os
import sys

from .errors import (
    ProviderError,
    RequestError,
    ResourceError,
    clip,
    describe_cause_chain,
)
from .io import Channel, LineTooLongError
from .redaction import scrub

TYPE_CHECKING = False  # typing itself is not imported at run time: start-up is paid per process
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any, NoReturn, TypeVar

    from pydantic import BaseModel

    from .context import Context
    from .messages import ExtantResource
    from .resource import Existing, Model, Resource

_VERB = {
    "createResourceRequest": "create",
    "updateResourceRequest": "update",
    "destroyResourceRequest": "destroy",
    "stateResourceReadRequest": "read the state of",
    "stateResourceEvent": "record a state event on",
}
"""Each request kind, with the verb that names it in error messages."""

REQUEST_KINDS = tuple(_VERB)
"""The request kinds, known without importing the pydantic message models."""

PLAN_VARIABLE = "NIXOPS4_PROVIDER_PLAN"
"""Set to 1 (by `nixops4-provider-run plan`): create and update only plan, writing nothing."""
_PLANNED = ("createResourceRequest", "updateResourceRequest")
_WRITES = (*_PLANNED, "destroyResourceRequest")

if TYPE_CHECKING:
    ResourceClass = TypeVar("ResourceClass", bound=type)


MAX_MESSAGE_CHARS = 16 * 1024
"""Longest error message sent; each piece of input it repeats is clipped much shorter."""


def error_response(message: str) -> dict[str, Any]:
    """Return the wire form of an error reply (`messages.ErrorResponse`), scrubbed and bounded.

    The one response built without the message models: the dispatcher answers malformed lines
    and unknown kinds or types with it before pydantic is imported.
    """
    return {"errorResponse": {"message": clip(scrub(message), MAX_MESSAGE_CHARS)}}


class Provider:
    """A NixOps4 resource provider: resource types by name, served over stdin/stdout."""

    def __init__(
        self, name: str, types: Mapping[str, str | type[Resource[Any, Any]]] | None = None
    ):
        """Create a provider; `types` maps type names to classes or lazy `module:Class` strings."""
        self.name = name
        self._types: dict[str, str | type[Resource[Any, Any]]] = dict(types or {})
        self._instances: dict[str, Resource[Any, Any]] = {}

    def resource(self, type_name: str) -> Callable[[ResourceClass], ResourceClass]:
        """Register the decorated Resource subclass under `type_name`."""

        def register(cls: ResourceClass) -> ResourceClass:
            self._types[type_name] = cls
            return cls

        return register

    @property
    def type_names(self) -> list[str]:
        """The names of the resource types this provider serves."""
        return sorted(self._types)

    def resource_class(self, type_name: str) -> type[Resource[Any, Any]]:
        """Return the class of `type_name`, importing it on first use."""
        entry = self._types[type_name]
        if isinstance(entry, str):
            import importlib

            module_name, _, attribute = entry.partition(":")
            entry = getattr(importlib.import_module(module_name), attribute)
            self._types[type_name] = entry
        return entry

    def main(self) -> NoReturn:
        """Serve requests on stdin/stdout until end of input, then end the process (status 0).

        The interpreter's own teardown is skipped, which saves ~30 ms on every resource operation
        (nixops4 waits for the exit).
        """
        os._exit(self.run())

    def run(self) -> int:
        """Serve requests on stdin/stdout until end of input; close handlers, flush stderr.

        Returns the exit status. `main` in a process of its own, and a warm worker
        (`nixops4_protocol.warm`) for one connection, both run exactly this.
        """
        # A provider loads no pydantic plugins; skipping their discovery saves start-up time.
        os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
        status = self.serve(Channel.from_stdio())
        self.close()
        sys.stderr.flush()
        return status

    def close(self) -> None:
        """Close every handler used by this process; a failure is logged, not raised."""
        for type_name, instance in self._instances.items():
            try:
                instance.close()
            except Exception as error:
                from .log import get_logger

                get_logger(provider=self.name, type=type_name).warning(
                    "closing the handler failed", error=describe_cause_chain(error)
                )
        self._instances.clear()

    def serve(self, channel: Channel) -> int:
        """Answer each request line on `channel` with one response line until end of input."""
        while True:
            try:
                line = channel.read_line()
            except LineTooLongError as error:
                channel.write(error_response(f"{error}; the line was skipped"))
                continue
            if line is None:
                return 0
            if line.strip():
                response = self.handle_line(line)
                try:
                    channel.write(response)
                except (TypeError, ValueError) as error:
                    channel.write(
                        error_response(f"internal error: the response is not JSON: {error}")
                    )

    def handle_line(self, line: bytes) -> dict[str, Any]:
        """Answer one request line (JSON text) with one response message."""
        import json

        try:
            message = json.loads(line, parse_constant=_reject_constant)
        except RecursionError:
            return error_response("the request line is nested too deeply to parse")
        except ValueError as error:  # includes UnicodeDecodeError
            return error_response(
                f"could not parse the request line as JSON: {error}; "
                "each request must be one JSON object on one line"
            )
        from .surrogates import refuse_lone_surrogates

        try:
            refuse_lone_surrogates(line, message)
        except RequestError as error:
            return error_response(str(error))
        return self.handle(message)

    def handle(self, message: Any) -> dict[str, Any]:
        """Answer one decoded request with one response message; never raises."""
        try:
            return self._dispatch(message)
        except ProviderError as error:
            return error_response(str(error))
        except Exception as error:  # the error boundary: nothing escapes a request
            return error_response(f"internal error: {describe_cause_chain(error)}")

    def _dispatch(self, message: Any) -> dict[str, Any]:
        if not isinstance(message, dict) or len(message) != 1:
            raise RequestError(
                "a request must be a JSON object with exactly one key naming its kind "
                f"(one of {', '.join(REQUEST_KINDS)})"
            )
        ((kind, body),) = message.items()
        if kind not in REQUEST_KINDS:
            raise RequestError(
                f"unknown request kind `{clip(kind)}`; provider `{self.name}` understands "
                f"{', '.join(REQUEST_KINDS)}"
            )
        type_name = _peek_type(body)
        if isinstance(type_name, str) and type_name not in self._types:
            raise RequestError(
                f"unknown resource type `{clip(type_name)}` for provider `{self.name}`; "
                f"known types: {', '.join(self.type_names) or '(none)'}"
            )
        from .messages import REQUEST_KINDS as MODELS

        target = f" for {self.name} {clip(type_name)}" if isinstance(type_name, str) else ""
        request = _validate(MODELS[kind], body, what=f"`{kind}`{target}")
        return _Operation(self, kind, request).run()

    def instance(self, type_name: str) -> Resource[Any, Any]:
        """The handler object of `type_name`, one per process (a state store keeps its handle)."""
        if type_name not in self._instances:
            self._instances[type_name] = self.resource_class(type_name)()
        return self._instances[type_name]


def _reject_constant(name: str) -> Any:
    """Refuse NaN and Infinity, which Python's json accepts but JSON (and nixops4) does not."""
    raise ValueError(f"{name} is not valid JSON")


def _peek_type(body: Any) -> Any:
    """Find the resource type in a request body without validating it."""
    if not isinstance(body, dict):
        return None
    if "type" in body:
        return body["type"]
    resource = body.get("resource")
    return resource.get("type") if isinstance(resource, dict) else None


def _validate(
    model: type[BaseModel],
    data: Any,
    *,
    what: str,
    known_fields: list[str] | None = None,
    secret_fields: frozenset[str] = frozenset(),
) -> Any:
    from pydantic import ValidationError

    from .budget import refuse_many_unknown_fields
    from .errors import format_validation_error

    refuse_many_unknown_fields(model, data, what)
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise RequestError(
            format_validation_error(
                error, what=what, known_fields=known_fields, secret_fields=secret_fields
            )
        ) from None


class _Operation:
    """One request being carried out against one resource type."""

    def __init__(self, provider: Provider, kind: str, request: Any) -> None:
        self.provider = provider
        self.kind = kind
        self.request = request
        resource: ExtantResource | None = getattr(request, "resource", None)
        self.type_name: str = request.type if resource is None else resource.type
        self.cls = provider.resource_class(self.type_name)
        self.label = f"{provider.name} {self.type_name}"

    def run(self) -> dict[str, Any]:
        from .context import Context
        from .redaction import register_secret_keys
        from .resource import secret_field_names

        register_secret_keys(secret_field_names(self.cls.inputs_model))
        register_secret_keys(secret_field_names(self.cls.outputs_model))
        ctx = Context(
            provider=self.provider.name,
            resource_type=self.type_name,
            operation=_VERB[self.kind].split()[0],
            is_stateful=bool(getattr(self.request, "is_stateful", False)),
            plan=os.environ.get(PLAN_VARIABLE) == "1",
        )
        if (
            ctx.plan
            and self.kind in _WRITES
            and not (self.kind in _PLANNED and self.cls.supports_plan)
        ):
            raise RequestError(f"{self.label} cannot plan: it would have to write to find out")
        handler = getattr(self, "_" + self.kind)
        try:
            response: dict[str, Any] = handler(ctx)
        except ResourceError as error:
            raise ResourceError(f"{self._failed()}: {error}") from None
        except ProviderError:
            raise
        except (Exception, SystemExit) as error:  # a handler (or a library) calling exit too
            ctx.log.debug("handler raised", exc_info=True)
            raise ResourceError(
                f"{self._failed()}: internal error: {describe_cause_chain(error)}",
                hint="This is a bug in the provider or an unexpected answer from the backend; "
                "NIXOPS4_PROVIDER_LOG_LEVEL=debug logs the traceback.",
            ) from None
        return response

    def _failed(self) -> str:
        return f"failed to {_VERB[self.kind]} {self.label}"

    def _inputs(self, properties: dict[str, Any], ctx: Context, *, previous: bool = False) -> Any:
        from .resource import secret_field_names

        model = self.cls.inputs_model
        known = _wire_names(model)
        if previous:
            properties = {k: v for k, v in properties.items() if k in known}
        inputs = _validate(
            model,
            properties,
            what=(
                f"stored previous inputs of {self.label}"
                if previous
                else f"inputs for {self.label}"
            ),
            known_fields=known,
            secret_fields=secret_field_names(model),
        )
        if not previous:
            self._name(inputs, ctx)
        return inputs

    def _name(self, inputs: Any, ctx: Context) -> None:
        ctx.resource = self.provider.instance(self.type_name).describe(inputs)
        self.label = " ".join(filter(None, (self.provider.name, self.type_name, ctx.resource)))

    def _existing(self, ctx: Context) -> Existing[Any, Any]:
        from .resource import Existing

        record = self.request.resource
        inputs = self._inputs(record.input_properties, ctx, previous=True)
        self._name(inputs, ctx)
        outputs = None
        if record.output_properties is not None:
            model = self.cls.outputs_model
            known = _wire_names(model)
            try:
                outputs = model.model_validate(
                    {k: v for k, v in record.output_properties.items() if k in known}
                )
            except ValueError:
                ctx.log.warning("stored outputs do not match the current output model; ignored")
        return Existing(inputs=inputs, outputs=outputs)

    def _outputs(self, outputs: Any) -> dict[str, Any]:
        model = self.cls.outputs_model
        if not isinstance(outputs, model):
            raise TypeError(f"handler returned {type(outputs).__name__}, expected {model.__name__}")
        dumped: dict[str, Any] = outputs.model_dump(mode="json", by_alias=True)
        return dumped

    def _createResourceRequest(self, ctx: Context) -> dict[str, Any]:  # noqa: N802 - wire name
        from .messages import CreateResourceResponse, wrap

        inputs = self._inputs(self.request.input_properties, ctx)
        if self.cls.requires_state and not self.request.is_stateful:
            raise RequestError(
                f"{self.label}: {self.type_name} resources require state (isStateful must be "
                "true); attach a state resource to this member (`state = members.<stateStore>;`)"
            )
        outputs = self.provider.instance(self.type_name).create(inputs, ctx)
        return wrap(CreateResourceResponse(output_properties=self._outputs(outputs)))

    def _updateResourceRequest(self, ctx: Context) -> dict[str, Any]:  # noqa: N802 - wire name
        from .messages import UpdateResourceResponse, wrap

        previous = self._existing(ctx)
        inputs = self._inputs(self.request.input_properties, ctx)
        ctx.is_stateful = True
        self.cls.check_immutable(previous.inputs, inputs)
        outputs = self.provider.instance(self.type_name).update(inputs, previous, ctx)
        return wrap(UpdateResourceResponse(output_properties=self._outputs(outputs)))

    def _destroyResourceRequest(self, ctx: Context) -> dict[str, Any]:  # noqa: N802 - wire name
        from .messages import DestroyResourceResponse, wrap

        previous = self._existing(ctx)
        self.provider.instance(self.type_name).destroy(previous, ctx)
        return wrap(DestroyResourceResponse())

    def _state_store(self) -> Any:
        from .resource import StateStore

        if not issubclass(self.cls, StateStore):
            raise RequestError(
                f"resource type `{self.type_name}` of provider `{self.provider.name}` is not a "
                "state store; only state-store types answer state reads and events"
            )
        return self.provider.instance(self.type_name)

    def _stateResourceReadRequest(self, ctx: Context) -> dict[str, Any]:  # noqa: N802 - wire name
        from .messages import StateResourceReadResponse, wrap

        store = self._state_store()
        state = store.state_read(self._existing(ctx), ctx)
        return wrap(StateResourceReadResponse(state=state))

    def _stateResourceEvent(self, ctx: Context) -> dict[str, Any]:  # noqa: N802 - wire name
        from .messages import StateResourceEventResponse, wrap
        from .resource import StateEvent

        store = self._state_store()
        event = StateEvent(
            event=self.request.event,
            nixops_version=self.request.nixops_version,
            patch=[op.model_dump(mode="json") for op in self.request.patch],
        )
        store.state_event(self._existing(ctx), event, ctx)
        return wrap(StateResourceEventResponse())


def _wire_names(model: type[Model]) -> list[str]:
    return [field.alias or name for name, field in model.model_fields.items()]
