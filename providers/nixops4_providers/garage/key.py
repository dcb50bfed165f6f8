"""The `key` resource type: a Garage access key, its secret delivered as a 0600 file."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from nixops4_protocol.errors import ResourceError
from nixops4_protocol.redaction import register_secret_value
from nixops4_protocol.resource import (
    CredentialFile,
    Existing,
    Immutable,
    Model,
    Resource,
    Secret,
)
from pydantic import Field

from .common import ConnectedInputs, DateTime, admin_client, parse_time
from .secret_file import KeyFiles

if TYPE_CHECKING:
    from nixops4_protocol.context import Context

    from .admin import AdminClient

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"


class KeyInputs(ConnectedInputs):
    """Inputs of `key`."""

    name: Annotated[
        str,
        Immutable("The name is how the key is found; declare a new key resource for the new name."),
    ] = Field(
        pattern=NAME_PATTERN,
        description="Name of the key in Garage, unique in the cluster (it is how the key is found "
        "again) and the name of its secret file.",
    )
    expiration: DateTime | None = Field(
        default=None,
        description="RFC 3339 date and time after which the key stops working "
        "(e.g. `2030-01-01T00:00:00Z`); null for never.",
    )
    create_bucket: bool = Field(
        default=False, description="Whether the key may create buckets through the S3 API."
    )
    directory: str = Field(
        default=".nixops4-garage",
        description="Directory (0700) on the deployer machine holding the secret key file "
        "`<directory>/<name>` (0600), relative to the directory nixops4 runs in.",
    )
    expose_secret: bool = Field(
        default=False,
        description="Also return the secret key as the `secretAccessKey` output, which puts it "
        "into NixOps4 state. Off by default: consumers should read `secretKeyFile`.",
    )


class KeyOutputs(Model):
    """Outputs of `key`."""

    access_key_id: str = Field(description="The access key ID (`GK...`).")
    name: str = Field(description="Name of the key.")
    secret_key_file: Annotated[str, CredentialFile()] = Field(
        description="Absolute path of the 0600 file on the deployer machine holding the secret key "
        "(no trailing newline)."
    )
    secret_access_key: Annotated[str | None, Secret()] = Field(
        default=None, description="The secret key itself, only when `exposeSecret` is true."
    )


def _by_name(client: AdminClient, name: str) -> dict[str, Any] | None:
    """The key called `name` (listing entry), None if there is none; refuse duplicates."""
    found = [key for key in client.get("ListKeys") if key.get("name") == name]
    if len(found) > 1:
        ids = ", ".join(key["id"] for key in found)
        raise ResourceError(
            f"{len(found)} Garage keys are named {name!r} ({ids}), so the key cannot be told apart",
            hint="Delete or rename all but one of them (`garage key delete` / `garage key rename`).",
        )
    return found[0] if found else None


def _info(client: AdminClient, access_key_id: str) -> dict[str, Any] | None:
    """The key with its secret, or None if it does not exist."""
    info: dict[str, Any] | None = client.find("GetKeyInfo", id=access_key_id, showSecretKey=True)
    if info is not None and info.get("secretAccessKey"):
        register_secret_value(info["secretAccessKey"])
    return info


def _expiration(info: dict[str, Any]) -> datetime | None:
    text = info.get("expiration")
    return None if text is None else parse_time(text)


def _differences(inputs: KeyInputs, info: dict[str, Any]) -> list[str]:
    """The declared settings the key does not have, for messages and to decide on changes."""
    changes = []
    if bool(info["permissions"].get("createBucket")) != inputs.create_bucket:
        changes.append(f"createBucket should be {str(inputs.create_bucket).lower()}")
    wanted = None if inputs.expiration is None else parse_time(inputs.expiration)
    if _expiration(info) != wanted:
        changes.append(f"expiration should be {inputs.expiration or 'never'}")
    return changes


def _converge(
    client: AdminClient, inputs: KeyInputs, info: dict[str, Any], ctx: Context
) -> dict[str, Any]:
    """Give the key the declared expiration and createBucket permission."""
    differences = _differences(inputs, info)
    if not differences:
        return info
    ctx.log.info("changing the key", changes=differences)
    flag = {"createBucket": True}
    body: dict[str, Any] = {
        "allow": flag if inputs.create_bucket else None,
        "deny": None if inputs.create_bucket else flag,
    }
    if inputs.expiration is None:
        body["neverExpires"] = True
    else:
        body["expiration"] = parse_time(inputs.expiration).isoformat().replace("+00:00", "Z")
    updated: dict[str, Any] = client.post("UpdateKey", body, id=info["accessKeyId"])
    return updated


class Key(Resource[KeyInputs, KeyOutputs]):
    """A Garage access key. The secret key never enters NixOps4 state (unless `exposeSecret`).

    It is written to a 0600 file on the deployer, and read back from Garage whenever that file is
    missing. Buckets are granted to the key with `permission` resources.
    """

    def describe(self, inputs: KeyInputs) -> str:
        """Name the key."""
        return f'"{inputs.name}"'

    def create(self, inputs: KeyInputs, ctx: Context) -> KeyOutputs:
        """Create the key, or converge the one with this name (adopting it only when allowed)."""
        return self._apply(inputs, ctx, known_id=None)

    def update(
        self, inputs: KeyInputs, previous: Existing[KeyInputs, KeyOutputs], ctx: Context
    ) -> KeyOutputs:
        """Converge the key recorded in the previous outputs (found by name without them)."""
        known = previous.outputs.access_key_id if previous.outputs is not None else None
        outputs = self._apply(inputs, ctx, known_id=known)
        old = KeyFiles(previous.inputs.directory)
        moved = old.path(inputs.name) != KeyFiles(inputs.directory).path(inputs.name)
        if moved and old.delete(inputs.name):
            ctx.log.info("deleted the secret key file from the old directory")
        return outputs

    def destroy(self, previous: Existing[KeyInputs, KeyOutputs], ctx: Context) -> None:
        """Delete the key from Garage and its secret file; succeed when both are gone."""
        inputs = previous.inputs
        client = admin_client(inputs.connection, ctx)
        files = KeyFiles(inputs.directory)
        if previous.outputs is not None:
            access_key_id: str | None = previous.outputs.access_key_id
        else:
            listed = _by_name(client, inputs.name)
            access_key_id = listed["id"] if listed is not None else None
        if access_key_id is not None:
            from .admin import GarageApiError

            try:
                client.post("DeleteKey", id=access_key_id)
                ctx.log.info("deleted the key", access_key_id=access_key_id)
            except GarageApiError as error:
                if error.status != 404:
                    raise
        if files.delete(inputs.name):
            ctx.log.info("deleted the secret key file", path=str(files.path(inputs.name)))

    def _apply(self, inputs: KeyInputs, ctx: Context, *, known_id: str | None) -> KeyOutputs:
        client = admin_client(inputs.connection, ctx)
        files = KeyFiles(inputs.directory)
        info = _info(client, known_id) if known_id is not None else None
        if info is None:
            listed = _by_name(client, inputs.name)
            if listed is None:
                info = self._new(client, inputs, ctx)
            else:
                info = _info(client, listed["id"])
                if info is None:
                    raise ResourceError(f"key {inputs.name!r} disappeared while it was converged")
                self._check_adoptable(inputs, info, files)
        info = _converge(client, inputs, info, ctx)
        secret = info.get("secretAccessKey") or self._secret(client, info["accessKeyId"])
        path = files.write(inputs.name, secret)
        return KeyOutputs.model_validate(
            {
                "accessKeyId": info["accessKeyId"],
                "name": inputs.name,
                "secretKeyFile": str(path),
                "secretAccessKey": secret if inputs.expose_secret else None,
            }
        )

    @staticmethod
    def _new(client: AdminClient, inputs: KeyInputs, ctx: Context) -> dict[str, Any]:
        created: dict[str, Any] = client.post("CreateKey", {"name": inputs.name})
        register_secret_value(created.get("secretAccessKey") or "")
        ctx.log.info("created the key", access_key_id=created["accessKeyId"])
        return created

    @staticmethod
    def _secret(client: AdminClient, access_key_id: str) -> str:
        info = _info(client, access_key_id)
        secret = info.get("secretAccessKey") if info is not None else None
        if not secret:
            raise ResourceError(
                f"Garage did not return the secret of key {access_key_id}",
                hint="The admin token must be allowed to read secret keys (GetKeyInfo with "
                "showSecretKey).",
            )
        return str(secret)

    @staticmethod
    def _check_adoptable(inputs: KeyInputs, info: dict[str, Any], files: KeyFiles) -> None:
        """Refuse a key with this name that is not ours and differs, unless `adopt` is set."""
        ours = files.read(inputs.name) == info.get("secretAccessKey")
        differences = _differences(inputs, info)
        if ours or not differences or inputs.adopt:
            return
        raise ResourceError(
            f"a Garage key named {inputs.name!r} ({info['accessKeyId']}) exists, was not created "
            f"by this deployer and differs from the declaration: {'; '.join(differences)}",
            hint="Set `adopt = true;` to take it over and converge it, or choose another `name`.",
        )
