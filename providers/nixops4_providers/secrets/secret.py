"""The `secret` resource type: generate once, keep until rotated, hand out as a file."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from nixops4_protocol.context import Context
from nixops4_protocol.errors import ResourceError
from nixops4_protocol.redaction import register_secret_value
from nixops4_protocol.resource import Existing, Resource

from . import kinds
from .files import SecretDirectory
from .model import SecretInputs, SecretOutputs
from .store import DirectoryStore, Store


class Secret(Resource[SecretInputs, SecretOutputs]):
    """A generated secret (password, token, UUID, SSH or WireGuard key, TSIG key) kept in a secret store.

    The value never enters NixOps4 state: outputs are the path of a 0600 file holding it, a
    fingerprint that changes when it rotates, and public values derived from it.
    """

    requires_state = True

    def describe(self, inputs: SecretInputs) -> str:
        """Name the secret."""
        return f'"{inputs.name}"'

    def create(self, inputs: SecretInputs, ctx: Context) -> SecretOutputs:
        """Find the stored value (kept if it fits the inputs, refused if not) or generate one."""
        return self._apply(inputs, ctx, rotate=None, ours=None)

    def update(
        self,
        inputs: SecretInputs,
        previous: Existing[SecretInputs, SecretOutputs],
        ctx: Context,
    ) -> SecretOutputs:
        """Regenerate when `generation` or `kind` changed; otherwise keep a value that still fits."""
        old = previous.inputs
        if (inputs.postgresql is None) != (old.postgresql is None):
            raise ResourceError(
                "the store cannot change between `directory` and `postgresql` in place",
                hint="Declare a new resource (with another `name`) in the new store.",
            )
        rotate = None
        if inputs.generation != old.generation:
            rotate = f"generation changed from {old.generation} to {inputs.generation}"
        elif inputs.kind != old.kind:
            rotate = f"kind changed from {old.kind} to {inputs.kind}"
        elif inputs.keepers != old.keepers:
            changed = sorted(set(inputs.keepers.items()) ^ set(old.keepers.items()))
            rotate = f"keepers changed ({', '.join(sorted({key for key, _ in changed}))})"
        ours = previous.outputs.fingerprint if previous.outputs is not None else None
        return self._apply(inputs, ctx, rotate=rotate, ours=ours)

    def destroy(self, previous: Existing[SecretInputs, SecretOutputs], ctx: Context) -> None:
        """Delete the stored value when `deleteOnDestroy` allows it; otherwise keep it and say so."""
        inputs = previous.inputs
        with _open_store(inputs) as store:
            if not inputs.delete_on_destroy:
                ctx.log.info(
                    "kept the stored value; set deleteOnDestroy = true to delete it on destroy",
                    store=store.describe(),
                )
                return
            removed = store.delete(inputs.name)
            ctx.log.info(
                "deleted the stored value" if removed else "no stored value to delete",
                store=store.describe(),
            )

    def _apply(
        self, inputs: SecretInputs, ctx: Context, *, rotate: str | None, ours: str | None
    ) -> SecretOutputs:
        with _open_store(inputs) as store:
            value = _converge(store, inputs, ctx, rotate, ours)
            path = store.deliver(inputs.name, value)
            key = store.key()
            return SecretOutputs.model_validate(
                {
                    "path": str(path),
                    "fingerprint": key.fingerprint(inputs.name, value),
                    "value": value if inputs.expose_value else None,
                    **kinds.derived(inputs, value, key),
                }
            )


@contextmanager
def _open_store(inputs: SecretInputs) -> Iterator[Store]:
    """The store the inputs name, closed afterwards."""
    directory = SecretDirectory(inputs.directory)
    store: Store
    if inputs.postgresql is None:
        store = DirectoryStore(directory)
    else:
        from .pgstore import PostgresStore

        store = PostgresStore(inputs.postgresql, directory)
    try:
        yield store
    finally:
        store.close()


def _generate(inputs: SecretInputs) -> str:
    value = kinds.generate(inputs)
    register_secret_value(value)
    return value


def _converge(
    store: Store, inputs: SecretInputs, ctx: Context, rotate: str | None, ours: str | None
) -> str:
    """The value to hand out: rotated, kept, or newly generated, with one log line saying which.

    `ours` is the fingerprint this resource last handed out (None on create). A stored value
    that does not fit the inputs and is not that one was put there by someone else: it is
    refused, not overwritten, unless `replaceUnfit` says so.
    """
    if rotate is not None:
        return _replace(store, inputs, ctx, "rotated the secret: generated a new value", rotate)
    stored = store.read(inputs.name)
    if stored is not None:
        register_secret_value(stored)
        existing, reason = stored, kinds.problem(inputs, stored)
        if reason is not None and stored.endswith("\n"):  # as `echo`, `wg genkey` write it
            existing = stored.removesuffix("\n").removesuffix("\r")
            reason = kinds.problem(inputs, existing)
        if reason is None:
            ctx.log.info(
                "kept the stored value"
                + (" (without its trailing newline)" if existing != stored else ""),
                store=store.describe(),
            )
            return existing
        placed = ours is None or store.key().fingerprint(inputs.name, existing) != ours
        if placed and not inputs.replace_unfit:
            raise ResourceError(
                f"the value stored at {store.location(inputs.name)} does not fit the inputs "
                f"({reason}) and was not generated by this resource; it was left alone",
                hint="Make the inputs describe it, put a fitting value there, or set "
                "`replaceUnfit = true;` to replace it with a generated value.",
            )
        return _replace(
            store,
            inputs,
            ctx,
            "the stored value does not fit the inputs; generated a new value",
            reason,
            warn=True,
        )
    ours = _generate(inputs)
    value = store.create(inputs.name, ours)
    if value == ours:
        ctx.log.info("generated a new value", store=store.describe())
        return value
    return _theirs(
        store, inputs, ctx, value, "another deployer generated the value at the same moment"
    )


def _replace(
    store: Store, inputs: SecretInputs, ctx: Context, event: str, reason: str, *, warn: bool = False
) -> str:
    """Store a new value in place of the current one, unless another deployer just did."""
    ours = _generate(inputs)
    value = store.replace(inputs.name, ours)
    if value == ours:
        log = ctx.log.warning if warn else ctx.log.info
        log(event, reason=reason, store=store.describe())
        return value
    return _theirs(
        store, inputs, ctx, value, "another deployer stored a new value at the same moment"
    )


def _theirs(store: Store, inputs: SecretInputs, ctx: Context, value: str, what: str) -> str:
    """Use the value another deployer stored while we were storing ours, if it fits the inputs."""
    register_secret_value(value)
    reason = kinds.problem(inputs, value)
    if reason is not None:
        raise ResourceError(
            f"another deployer stored this secret at the same moment with different inputs: {reason}",
            hint="Give both declarations the same inputs, or different names.",
        )
    ctx.log.info(f"{what}; using theirs", store=store.describe())
    return value
