"""The `record` resource type: one RRset, owned through RFC 2136 prerequisites."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from nixops4_protocol.context import Context
from nixops4_protocol.errors import ResourceError
from nixops4_protocol.resource import Existing, Model, Resource
from pydantic import Field, ValidationInfo, field_validator

from . import names
from .client import DnsClient, Observed
from .plan import plan
from .rrset import (
    DEFAULT_TTL,
    OwnerName,
    RecordSet,
    RecordSetOutputs,
    RecordType,
    Ttl,
    Values,
    ZoneName,
    shown,
)
from .server import Server

if TYPE_CHECKING:
    import dns.rdata
    import dns.update
    from nixops4_protocol.log import Logger


class RecordInputs(Model):
    """Inputs of `record`."""

    server: Server = Field(description="The zone's primary server and the TSIG key.")
    zone: ZoneName = Field(description="The zone the record set lives in, e.g. `example.org`.")
    name: OwnerName
    type: RecordType
    ttl: Ttl = DEFAULT_TTL
    values: Values
    adopt: bool = Field(
        default=False,
        description="Take over a record set that exists with other values (replacing them) "
        "instead of refusing.",
    )

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str, info: ValidationInfo) -> str:
        if "zone" in info.data:
            names.parse_owner(value, names.parse_zone(info.data["zone"]))
        return value

    @field_validator("values")
    @classmethod
    def _check_values(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if "zone" in info.data and "type" in info.data:
            rdtype = names.parse_type(info.data["type"])
            names.parse_values(value, rdtype, names.parse_zone(info.data["zone"]))
        return value


class RecordOutputs(RecordSetOutputs):
    """Outputs of `record`."""

    zone: str = Field(description="Absolute zone name, with the trailing dot.")


def _record_set(inputs: RecordInputs) -> RecordSet:
    """Parse validated inputs."""
    zone = names.parse_zone(inputs.zone)
    return RecordSet.parse(zone, inputs.name, inputs.type, inputs.ttl, inputs.values)


def _outputs(wanted: RecordSet) -> RecordOutputs:
    return RecordOutputs(zone=wanted.zone.to_text(), **wanted.outputs().model_dump())


class Record(Resource[RecordInputs, RecordOutputs]):
    """One DNS record set (all records of one name and type), kept by RFC 2136 updates.

    Updates are signed with TSIG and carry prerequisites, so a record set changed by someone
    else is reported instead of overwritten.
    """

    supports_plan = True

    def describe(self, inputs: RecordInputs) -> str:
        """Name the record set, e.g. `www.example.org. A`."""
        try:
            return _record_set(inputs).label()
        except ValueError:
            return f"{inputs.name} {inputs.type}"

    def create(self, inputs: RecordInputs, ctx: Context) -> RecordOutputs:
        """Ensure the record set holds exactly the declared values (a no-op when it does)."""
        wanted = _record_set(inputs)
        client = DnsClient(inputs.server, ctx.log)
        if ctx.plan:
            plan(client, wanted.zone, [wanted], {}, adopt=inputs.adopt, ctx=ctx)
            return _outputs(wanted)
        _converge(client, wanted, owned=None, adopt=inputs.adopt, ctx=ctx)
        return _outputs(wanted)

    def update(
        self,
        inputs: RecordInputs,
        previous: Existing[RecordInputs, RecordOutputs],
        ctx: Context,
    ) -> RecordOutputs:
        """Replace what we last wrote atomically; a new zone, name or type moves the record set."""
        wanted = _record_set(inputs)
        old, owned = _last_written(previous, ctx.log)
        client = DnsClient(inputs.server, ctx.log)
        if ctx.plan:
            if not wanted.same_place(old):
                ctx.log.info(f"plan: {old.label()}: moves to {wanted.label()}")
                if old.zone != wanted.zone or previous.inputs.server != inputs.server:
                    old_client = DnsClient(previous.inputs.server, ctx.log)
                    plan(old_client, old.zone, [], {old.key: owned}, adopt=False, ctx=ctx)
                    owned_here = {}
                else:
                    owned_here = {old.key: owned}
            else:
                owned_here = {old.key: owned}
            plan(client, wanted.zone, [wanted], owned_here, adopt=inputs.adopt, ctx=ctx)
            return _outputs(wanted)
        if wanted.same_place(old):
            _converge(client, wanted, owned=owned, adopt=inputs.adopt, ctx=ctx)
            return _outputs(wanted)
        old_client = (
            client
            if previous.inputs.server == inputs.server
            else DnsClient(previous.inputs.server, ctx.log)
        )
        remove_first = wanted.fqdn == old.fqdn and (wanted.is_cname or old.is_cname)
        if remove_first:
            ctx.log.info(
                f"record set moves from {old.label()} to {wanted.label()}: deleting the old one "
                "first, because a CNAME cannot share its name"
            )
            _remove(old_client, old, owned, ctx)
            _converge(client, wanted, owned=None, adopt=inputs.adopt, ctx=ctx)
        else:
            ctx.log.info(
                f"record set moves from {old.label()} to {wanted.label()}: adding the new one "
                "first, then deleting the old one"
            )
            _converge(client, wanted, owned=None, adopt=inputs.adopt, ctx=ctx)
            _remove(old_client, old, owned, ctx)
        return _outputs(wanted)

    def destroy(self, previous: Existing[RecordInputs, RecordOutputs], ctx: Context) -> None:
        """Delete exactly the record set we last wrote; succeed when it is already gone."""
        old, owned = _last_written(previous, ctx.log)
        _remove(DnsClient(previous.inputs.server, ctx.log), old, owned, ctx)


def _last_written(
    previous: Existing[RecordInputs, RecordOutputs], log: Logger
) -> tuple[RecordSet, frozenset[dns.rdata.Rdata]]:
    """The previous record set and the values we last wrote (from the outputs when present).

    Stored output values that do not parse (an edited or foreign state) are ignored for the inputs.
    """
    old = _record_set(previous.inputs)
    if previous.outputs is None:
        return old, old.rdatas
    try:
        return old, names.parse_values(previous.outputs.values, old.rdtype, old.zone)
    except ValueError as error:
        log.warning("stored outputs are malformed; using the stored inputs", error=str(error))
        return old, old.rdatas


def _write(
    client: DnsClient, wanted: RecordSet, expected: frozenset[dns.rdata.Rdata] | None
) -> str:
    """Send one UPDATE replacing the RRset, if it is absent (`expected` None) or holds `expected`."""

    def build(message: dns.update.UpdateMessage) -> None:
        import dns.rdatatype

        if expected is None and wanted.is_cname:
            message.absent(wanted.fqdn)  # a CNAME needs the name to be free of any data
        elif expected is None:
            message.absent(wanted.fqdn, wanted.rdtype)
            message.absent(wanted.fqdn, dns.rdatatype.CNAME)
        elif wanted.is_apex_ns:  # add first, then delete the others one by one (RFC 2136 §3.4.2.4)
            message.present(wanted.fqdn, *expected)
            message.add(wanted.fqdn, wanted.ttl, *wanted.rdatas)
            for rdata in expected - wanted.rdatas:
                message.delete(wanted.fqdn, rdata)
            return
        else:
            message.present(wanted.fqdn, *expected)
            message.delete(wanted.fqdn, wanted.rdtype)
        message.add(wanted.fqdn, wanted.ttl, *wanted.rdatas)

    return client.update(wanted.zone, wanted.fqdn, build)


def _converge(
    client: DnsClient,
    wanted: RecordSet,
    *,
    owned: frozenset[dns.rdata.Rdata] | None,
    adopt: bool,
    ctx: Context,
) -> None:
    """Make the RRset hold `wanted`, replacing it only if it is absent or holds `owned`.

    When that prerequisite fails, read what is there and decide: already as wanted (done), our
    values with another TTL (ours), absent (create), foreign values (adopt or refuse).
    """
    if _write(client, wanted, owned) == "NOERROR":
        _verify(client, wanted, ctx, "created" if owned is None else "updated")
        return
    current = client.read_real(wanted.zone, [wanted.key])[0]
    expected = _decide(wanted, current, owned, adopt=adopt, ctx=ctx)
    if isinstance(expected, str):
        ctx.log.info("record set already as declared", record=wanted.label(), ttl=wanted.ttl)
        return
    code = _write(client, wanted, expected)
    if code != "NOERROR":
        raise ResourceError(
            f"{wanted.label()} changed while this update ran (prerequisite failed: {code})",
            hint="Someone else is writing this record set; check who, then apply again.",
        )
    _verify(client, wanted, ctx, "created" if expected is None else "replaced")


def _decide(
    wanted: RecordSet,
    current: Observed,
    owned: frozenset[dns.rdata.Rdata] | None,
    *,
    adopt: bool,
    ctx: Context,
) -> frozenset[dns.rdata.Rdata] | Literal["done"] | None:
    """What the second write may expect to find: "done", None (absent) or the current values."""
    rdatas, cname = current.rdatas, current.cname
    if cname is not None:
        raise ResourceError(
            f"{wanted.fqdn.to_text()} is a CNAME (to {cname}), which cannot coexist with "
            f"{wanted.type_text} records; nothing was changed",
            hint="Remove the CNAME, or declare the record under another name.",
        )
    if not rdatas and wanted.is_cname:
        raise ResourceError(
            f"{wanted.fqdn.to_text()} already holds other records, which cannot coexist with a "
            "CNAME; nothing was changed",
            hint="Remove those records, or use another name for the CNAME.",
        )
    if rdatas == wanted.rdatas:
        return (
            "done" if current.ttl == wanted.ttl else rdatas
        )  # our values: change the TTL in place
    if not rdatas:
        if owned is None:
            raise ResourceError(
                f"{wanted.label()} changed while this update ran",
                hint="Someone else is writing this record set; check who, then apply again.",
            )
        ctx.log.warning(
            "record set was deleted outside nixops4; creating it again", record=wanted.label()
        )
        return None
    if adopt:
        ctx.log.warning(
            "adopting record set: replacing its values", record=wanted.label(), found=shown(rdatas)
        )
        return rdatas
    if owned is None:
        raise ResourceError(
            f"{wanted.label()} already exists with other values ({shown(rdatas)}); it is not "
            "ours, so it was left alone",
            hint="Set `adopt = true` to take it over and replace its values, or remove it first.",
        )
    raise ResourceError(
        f"{wanted.label()} was changed outside nixops4: it holds {shown(rdatas)}, but we last "
        f"wrote {shown(owned)}; it was not overwritten",
        hint="Find out who changed it; set `adopt = true` to overwrite it anyway, or declare "
        "the values it should have.",
    )


def _verify(client: DnsClient, wanted: RecordSet, ctx: Context, done: str) -> None:
    """Read the RRset back from the primary; fail if it does not hold what we wrote."""
    current = client.read(wanted.zone, wanted.fqdn, wanted.rdtype)
    if current.rdatas != wanted.rdatas or current.ttl != wanted.ttl:
        raise ResourceError(
            f"the server accepted the update of {wanted.label()} but now serves "
            f"{shown(current.rdatas)} (TTL {current.ttl}) instead of {shown(wanted.rdatas)} "
            f"(TTL {wanted.ttl})",
            hint="The server may have ignored part of the update (RFC 2136 servers silently skip "
            "records that conflict with a CNAME, or that their update policy filters); check its log.",
        )
    ctx.log.info(
        f"record set {done}",
        record=wanted.label(),
        ttl=wanted.ttl,
        values=names.canonical(wanted.rdatas),
    )


def _remove(
    client: DnsClient, old: RecordSet, owned: frozenset[dns.rdata.Rdata], ctx: Context
) -> None:
    """Delete the RRset if it holds `owned`; succeed if it is gone, refuse if it was changed.

    The zone's apex NS set is left in place: no server deletes a zone's last NS record.
    """
    if old.is_apex_ns:
        ctx.log.warning(
            "left the zone's apex NS record set in place: a zone keeps its NS records (RFC 2136 "
            "§3.4.2.4); it is no longer managed here",
            record=old.label(),
        )
        return

    def build(message: dns.update.UpdateMessage) -> None:
        message.present(old.fqdn, *owned)
        message.delete(old.fqdn, old.rdtype)

    if client.update(old.zone, old.fqdn, build) == "NOERROR":
        if not client.absent(old.zone, old.fqdn, old.rdtype):
            raise ResourceError(
                f"the server accepted the deletion of {old.label()} but still holds it",
                hint="Check the server's log and update policy.",
            )
        ctx.log.info("record set deleted", record=old.label())
        return
    if client.absent(old.zone, old.fqdn, old.rdtype):
        ctx.log.info("record set already gone", record=old.label())
        return
    current = client.read(old.zone, old.fqdn, old.rdtype)
    raise ResourceError(
        f"{old.label()} was changed outside nixops4: it holds {shown(current.rdatas)}, but we "
        f"last wrote {shown(owned)}; it was not deleted",
        hint="Find out who changed it, and delete it by hand if it should go.",
    )
