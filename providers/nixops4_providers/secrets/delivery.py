"""The `delivery` resource type: a secret's file copied to the host that uses it, over SSH."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from nixops4_protocol.credentials import MAX_CREDENTIAL_BYTES, read_regular_file
from nixops4_protocol.errors import ResourceError
from nixops4_protocol.redaction import register_secret_value
from nixops4_protocol.resource import Existing, Resource

from .delivery_model import DeliveryInputs, DeliveryOutputs, SshTarget
from .ssh import Outcome, SshUnreachableError, run_script

if TYPE_CHECKING:
    from nixops4_protocol.context import Context

# Arguments: path owner group mode create-directory. Stdin: the value's SHA-256 on one line, then
# the value. Prints `unchanged` when the file already holds it with the declared owner, group
# and mode; otherwise writes a 0600 temporary file beside it, sets owner, group and mode, and
# renames it over the file (atomic). Exit 3: the directory is missing.
DELIVER_SCRIPT = """set -eu
dest=$1 owner=$2 group=$3 mode=$4 mkdir=$5
IFS= read -r want
dir=${dest%/*}; [ -n "$dir" ] || dir=/
if [ -f "$dest" ] && [ ! -L "$dest" ]; then
  have=$(sha256sum < "$dest"); have=${have%% *}
  set -- $(stat -c '%U %u %G %g %a' "$dest")
  if [ "$have" = "$want" ] && { [ "$1" = "$owner" ] || [ "$2" = "$owner" ]; } \\
     && { [ "$3" = "$group" ] || [ "$4" = "$group" ]; } && [ "$5" = "$mode" ]; then
    echo unchanged; exit 0
  fi
fi
if [ ! -d "$dir" ]; then
  if [ "$mkdir" = 1 ]; then mkdir -p -m 0755 "$dir"; else echo "no directory $dir" >&2; exit 3; fi
fi
tmp=$(mktemp "$dir/.nixops4-delivery.XXXXXX")
trap 'rm -f "$tmp"' EXIT
cat > "$tmp"
chown "$owner:$group" "$tmp"
chmod "$mode" "$tmp"
mv -f "$tmp" "$dest"
trap - EXIT
echo written
"""
REMOVE_SCRIPT = """set -eu
if [ -e "$1" ] || [ -L "$1" ]; then rm -f "$1"; echo removed; else echo absent; fi
"""
MISSING_DIRECTORY = 3
RUN_TIMEOUT = 120.0
"""Seconds one ssh run may take, connection included."""


class Delivery(Resource[DeliveryInputs, DeliveryOutputs]):
    """A secret's file copied to a host over SSH, with owner, group and mode, kept up to date.

    Every apply compares the file on the host with the secret (by SHA-256, on the host) and
    writes only when they differ: after a rotation, or when someone changed the file. The value
    goes through the stdin of `ssh`, never its arguments, state or logs; the host's key is
    checked strictly against `host.hostPublicKey`.
    """

    update_converges = True

    def describe(self, inputs: DeliveryInputs) -> str:
        """Name the destination."""
        return f"{inputs.host.address}:{inputs.path}"

    def create(self, inputs: DeliveryInputs, ctx: Context) -> DeliveryOutputs:
        """Write the file on the host unless it already holds the value with the declared mode."""
        value = _read_source(inputs.source)
        digest = hashlib.sha256(value).hexdigest()
        mode = f"{int(inputs.mode, 8):o}"
        arguments = [inputs.path, inputs.owner, inputs.group, mode, _flag(inputs.create_directory)]
        outcome = _run(inputs.host, DELIVER_SCRIPT, arguments, digest.encode() + b"\n" + value, ctx)
        if outcome.status == MISSING_DIRECTORY:
            raise ResourceError(
                f"the directory of {inputs.path} does not exist on {inputs.host.address}",
                hint="Create it on the host, or set `createDirectory = true`.",
            )
        _check(outcome, inputs.host, f"writing {inputs.path}")
        result = outcome.stdout.strip()
        ctx.log.info(
            "file already up to date" if result == "unchanged" else "file delivered",
            path=inputs.path,
            host=inputs.host.address,
        )
        return DeliveryOutputs(
            path=inputs.path, address=inputs.host.address, fingerprint=inputs.fingerprint
        )

    def update(
        self,
        inputs: DeliveryInputs,
        previous: Existing[DeliveryInputs, DeliveryOutputs],
        ctx: Context,
    ) -> DeliveryOutputs:
        """Deliver as create does; a file left at a previous path or host is removed."""
        outputs = self.create(inputs, ctx)
        old = previous.inputs
        if (old.path, old.host.address, old.host.port) != (
            inputs.path,
            inputs.host.address,
            inputs.host.port,
        ):
            self.destroy(previous, ctx)
        return outputs

    def destroy(self, previous: Existing[DeliveryInputs, DeliveryOutputs], ctx: Context) -> None:
        """Remove the file from the host unless `removeOnDestroy` is false."""
        inputs = previous.inputs
        if not inputs.remove_on_destroy:
            ctx.log.info("kept the file on the host (removeOnDestroy = false)", path=inputs.path)
            return
        outcome = _run(inputs.host, REMOVE_SCRIPT, [inputs.path], b"", ctx)
        _check(outcome, inputs.host, f"removing {inputs.path}")
        ctx.log.info(f"file {outcome.stdout.strip()}", path=inputs.path, host=inputs.host.address)


def _flag(value: bool) -> str:
    return "1" if value else "0"


def _read_source(path: str) -> bytes:
    """The secret's bytes (a regular file, bounded), registered for redaction."""
    value = read_regular_file(
        path,
        what="`source`",
        limit=MAX_CREDENTIAL_BYTES,
        hint="Point `source` at a secret's `path` output on this machine: a regular file of at "
        "most 64 KiB.",
    )
    text = value.decode("utf-8", "replace")
    register_secret_value(text)
    register_secret_value(text.rstrip("\r\n"))
    return value


def _run(
    target: SshTarget, script: str, arguments: list[str], stdin: bytes, ctx: Context
) -> Outcome:
    """Run the script, retrying for `host.waitSeconds` while the host refuses connections."""
    from nixops4_protocol.progress import retry

    return retry(
        lambda: run_script(target, script, arguments, stdin, RUN_TIMEOUT),
        what=f"connecting to {target.address}:{target.port} over ssh",
        log=ctx.log,
        transient=lambda error: isinstance(error, SshUnreachableError),
        total_seconds=float(target.wait_seconds),
    )


def _check(outcome: Outcome, target: SshTarget, what: str) -> None:
    """Raise an error quoting the host's error text when the script failed."""
    if outcome.status != 0:
        raise ResourceError(
            f"{what} on {target.address} failed (exit {outcome.status}): "
            f"{outcome.stderr or 'no error text'}",
            hint=f"Check that `host.user` ({target.user}) may write there and set the owner, "
            "and that the owner and group exist on the host.",
        )
