"""The `zone_records` resource type: many RRsets of one zone, converged in one atomic UPDATE."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nixops4_protocol.context import Context
from nixops4_protocol.errors import ResourceError
from nixops4_protocol.resource import Existing, Model, Resource
from pydantic import Field, ValidationInfo, field_validator

from . import names
from .client import ABSENT, DnsClient, Observed
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
    import dns.name
    import dns.rdatatype
    import dns.update
    from nixops4_protocol.log import Logger

Key = tuple["dns.name.Name", "dns.rdatatype.RdataType"]


class ZoneRecord(Model):
    """One record set of `zone_records`."""

    name: OwnerName
    type: RecordType
    ttl: Ttl = DEFAULT_TTL
    values: Values


class ZoneRecordsInputs(Model):
    """Inputs of `zone_records`."""

    server: Server = Field(description="The zone's primary server and the TSIG key.")
    zone: ZoneName = Field(description="The zone all the record sets live in, e.g. `example.org`.")
    records: list[ZoneRecord] = Field(
        description="The record sets to keep, each a distinct name and type; an empty list "
        "keeps none (an update then deletes every record set written before)."
    )
    adopt: bool = Field(
        default=False,
        description="Take over declared record sets that exist with other values (replacing "
        "them) instead of refusing.",
    )

    @field_validator("records")
    @classmethod
    def _check_records(cls, value: list[ZoneRecord], info: ValidationInfo) -> list[ZoneRecord]:
        if "zone" in info.data:
            parse_records(names.parse_zone(info.data["zone"]), value)
        return value


class ZoneRecordsOutputs(Model):
    """Outputs of `zone_records`."""

    zone: str = Field(description="Absolute zone name, with the trailing dot.")
    records: list[RecordSetOutputs] = Field(
        description="The record sets written, sorted by owner name and type."
    )


def parse_records(zone: dns.name.Name, records: list[ZoneRecord]) -> list[RecordSet]:
    """Parse the declared record sets; refuse invalid entries, duplicates and CNAME conflicts."""
    problems: list[str] = []
    parsed: dict[Key, tuple[int, RecordSet]] = {}
    for index, entry in enumerate(records):
        try:
            rrset = RecordSet.parse(zone, entry.name, entry.type, entry.ttl, entry.values)
        except ValueError as error:
            problems.append(f"entry {index} ({entry.name} {entry.type}): {error}")
            continue
        if rrset.key in parsed:
            first = parsed[rrset.key][0]
            problems.append(
                f"entries {first} and {index} are both {rrset.label()}; declare each record "
                "set once, with all its values"
            )
            continue
        parsed[rrset.key] = index, rrset
    for index, rrset in parsed.values():
        if rrset.is_cname:
            problems.extend(
                f"entry {index} ({rrset.label()}) and entry {other} ({neighbour.label()}) share "
                "a name, but a CNAME cannot coexist with other records"
                for other, neighbour in parsed.values()
                if neighbour.fqdn == rrset.fqdn and not neighbour.is_cname
            )
    if problems:
        raise ValueError("; ".join(problems))
    return [rrset for _, rrset in parsed.values()]


class ZoneRecords(Resource[ZoneRecordsInputs, ZoneRecordsOutputs]):
    """Many DNS record sets of one zone, kept together by one atomic RFC 2136 update.

    For deployments with many records: one provider process and one signed UPDATE (with a
    prerequisite per record set) instead of one per record set. It owns exactly the record sets
    it declares, and on update those it declared before.
    """

    def describe(self, inputs: ZoneRecordsInputs) -> str:
        """Name the set, e.g. `records of zone example.org. (12 record sets)`."""
        return f"records of zone {inputs.zone} ({len(inputs.records)} record sets)"

    supports_plan = True

    def create(self, inputs: ZoneRecordsInputs, ctx: Context) -> ZoneRecordsOutputs:
        """Ensure every declared record set holds exactly its values (a no-op when they do)."""
        zone = names.parse_zone(inputs.zone)
        wanted = parse_records(zone, inputs.records)
        if ctx.plan:
            client = DnsClient(inputs.server, ctx.log)
            plan(client, zone, wanted, {}, adopt=inputs.adopt, ctx=ctx)
            return _outputs(zone, wanted)
        _converge(DnsClient(inputs.server, ctx.log), zone, wanted, {}, adopt=inputs.adopt, ctx=ctx)
        return _outputs(zone, wanted)

    def update(
        self,
        inputs: ZoneRecordsInputs,
        previous: Existing[ZoneRecordsInputs, ZoneRecordsOutputs],
        ctx: Context,
    ) -> ZoneRecordsOutputs:
        """Delete, replace and add in one UPDATE, guarded by what we last wrote."""
        zone = names.parse_zone(inputs.zone)
        wanted = parse_records(zone, inputs.records)
        old_zone, owned = _last_written(previous, ctx.log)
        client = DnsClient(inputs.server, ctx.log)
        if ctx.plan:
            mine = {key: rrset.rdatas for key, rrset in owned.items()}
            if old_zone == zone and previous.inputs.server == inputs.server:
                plan(client, zone, wanted, mine, adopt=inputs.adopt, ctx=ctx)
            else:
                plan(DnsClient(previous.inputs.server, ctx.log), old_zone, [], mine, adopt=False,
                     ctx=ctx)  # fmt: skip
                plan(client, zone, wanted, {}, adopt=inputs.adopt, ctx=ctx)
            return _outputs(zone, wanted)
        if old_zone == zone:
            _converge(client, zone, wanted, owned, adopt=inputs.adopt, ctx=ctx)
            return _outputs(zone, wanted)
        ctx.log.info(
            f"records move from zone {old_zone.to_text()} to {zone.to_text()}: writing the new "
            "zone first, then deleting from the old one"
        )
        _converge(client, zone, wanted, {}, adopt=inputs.adopt, ctx=ctx)
        old_client = (
            client
            if previous.inputs.server == inputs.server
            else DnsClient(previous.inputs.server, ctx.log)
        )
        _converge(old_client, old_zone, [], owned, adopt=False, ctx=ctx)
        return _outputs(zone, wanted)

    def destroy(
        self, previous: Existing[ZoneRecordsInputs, ZoneRecordsOutputs], ctx: Context
    ) -> None:
        """Delete exactly the record sets we last wrote; those already gone are fine."""
        zone, owned = _last_written(previous, ctx.log)
        _converge(DnsClient(previous.inputs.server, ctx.log), zone, [], owned, adopt=False, ctx=ctx)


def _outputs(zone: dns.name.Name, wanted: list[RecordSet]) -> ZoneRecordsOutputs:
    ordered = sorted(wanted, key=lambda rrset: (rrset.fqdn.to_text(), rrset.type_text))
    return ZoneRecordsOutputs(zone=zone.to_text(), records=[rrset.outputs() for rrset in ordered])


def _last_written(
    previous: Existing[ZoneRecordsInputs, ZoneRecordsOutputs], log: Logger
) -> tuple[dns.name.Name, dict[Key, RecordSet]]:
    """The previous zone and the record sets we last wrote (from the outputs when present).

    Stored outputs that do not parse (an edited or foreign state) are ignored for the inputs.
    """
    if previous.outputs is not None:
        try:
            zone = names.parse_zone(previous.outputs.zone)
            written = [
                RecordSet.parse(zone, out.fqdn, out.type, out.ttl, out.values)
                for out in previous.outputs.records
            ]
        except ValueError as error:
            log.warning("stored outputs are malformed; using the stored inputs", error=str(error))
        else:
            return zone, {rrset.key: rrset for rrset in written}
    zone = names.parse_zone(previous.inputs.zone)
    written = parse_records(zone, previous.inputs.records)
    return zone, {rrset.key: rrset for rrset in written}


def _label(key: Key) -> str:
    import dns.rdatatype

    return f"{key[0].to_text()} {dns.rdatatype.to_text(key[1])}"


def _is_ns(key: Key) -> bool:
    import dns.rdatatype

    return key[1] == dns.rdatatype.NS


def _same(seen: Observed, wanted: RecordSet) -> bool:
    return seen.rdatas == wanted.rdatas and seen.ttl == wanted.ttl


class _Plan:
    """What one UPDATE expects to find (per record set) and the changes it makes."""

    def __init__(
        self, zone: dns.name.Name, found: dict[Key, Observed], wanted: dict[Key, RecordSet]
    ) -> None:
        """`found` covers every record set involved: declared ones and ones we wrote before."""
        self.found = found
        self.wanted = wanted
        changed = [
            key
            for key, seen in found.items()
            if seen.rdatas and (key not in wanted or not _same(seen, wanted[key]))
        ]
        apex_ns = {key for key in changed if key[0] == zone and _is_ns(key)}
        self.deletes = [key for key in changed if key not in apex_ns]
        self.kept = [key for key in apex_ns if key not in wanted]
        """Apex NS sets no longer declared: left in place, as no server deletes them."""
        self.shrunk = [key for key in apex_ns if key in wanted]
        """Declared apex NS sets whose other records are deleted one by one after the adds."""
        self.adds = [rrset for key, rrset in wanted.items() if not _same(found[key], rrset)]

    @property
    def changes(self) -> bool:
        """Whether the UPDATE would change anything."""
        return bool(self.deletes or self.adds or self.shrunk)

    def build(self, message: dns.update.UpdateMessage) -> None:
        """Prerequisites on every record set, then all deletions, then all additions."""
        import dns.rdatatype

        for (name, rdtype), seen in self.found.items():
            if seen.rdatas:
                message.present(name, *seen.rdatas)
            else:
                message.absent(name, rdtype)
        guarded: set[dns.name.Name] = set()
        for key, rrset in self.wanted.items():
            if self.found[key].rdatas or rrset.fqdn in guarded:
                continue
            guarded.add(rrset.fqdn)
            ours_at_name = [other for other in self.found if other[0] == rrset.fqdn]
            if rrset.is_cname and ours_at_name == [key]:
                message.absent(rrset.fqdn)  # a new CNAME needs the name free of any data
            elif not rrset.is_cname and (rrset.fqdn, dns.rdatatype.CNAME) not in self.found:
                message.absent(rrset.fqdn, dns.rdatatype.CNAME)
        for name, rdtype in self.deletes:
            message.delete(name, rdtype)
        for rrset in self.adds:
            message.add(rrset.fqdn, rrset.ttl, *rrset.rdatas)
        for key in self.shrunk:  # RFC 2136 §3.4.2.4: after the adds, one record at a time
            for rdata in self.found[key].rdatas - self.wanted[key].rdatas:
                message.delete(key[0], rdata)

    def what(self) -> str:
        """The size of the update, for messages."""
        records = sum(len(rrset.rdatas) for rrset in self.adds)
        return (
            f"{len(self.found)} record sets ({len(self.adds)} to write with {records} records, "
            f"{len(self.deletes)} to delete)"
        )


def _converge(
    client: DnsClient,
    zone: dns.name.Name,
    wanted_list: list[RecordSet],
    owned: dict[Key, RecordSet],
    *,
    adopt: bool,
    ctx: Context,
) -> None:
    """Make the zone hold `wanted_list` and none of the other record sets in `owned`.

    First one UPDATE assuming that what we own holds what we wrote and the rest is absent; when a
    prerequisite fails, read every record set, decide, and send one UPDATE expecting exactly
    what was read.
    """
    wanted = {rrset.key: rrset for rrset in wanted_list}
    keys = list(owned) + [key for key in wanted if key not in owned]
    assumed = {
        key: Observed(owned[key].rdatas, owned[key].ttl) if key in owned else ABSENT for key in keys
    }
    plan = _Plan(zone, assumed, wanted)
    for key in plan.kept:
        ctx.log.warning(
            "left the zone's apex NS record set in place: a zone keeps its NS records (RFC 2136 "
            "§3.4.2.4); it is no longer managed here",
            record=_label(key),
        )
    if plan.changes and _send(client, zone, plan) == "NOERROR":
        _verify(client, zone, plan, ctx)
        return
    plan = _Plan(zone, _decide(client, zone, keys, wanted, owned, adopt=adopt, ctx=ctx), wanted)
    if not plan.changes:
        ctx.log.info("record sets already as declared", zone=zone.to_text(), count=len(wanted))
        return
    code = _send(client, zone, plan)
    if code != "NOERROR":
        raise ResourceError(
            f"the record sets of zone {zone.to_text()} changed while this update ran "
            f"(prerequisite failed: {code}); nothing was changed",
            hint="Someone else is writing these record sets; check who, then apply again.",
        )
    _verify(client, zone, plan, ctx)


def _send(client: DnsClient, zone: dns.name.Name, plan: _Plan) -> str:
    return client.update(zone, zone, plan.build, what=plan.what())


def _decide(
    client: DnsClient,
    zone: dns.name.Name,
    keys: list[Key],
    wanted: dict[Key, RecordSet],
    owned: dict[Key, RecordSet],
    *,
    adopt: bool,
    ctx: Context,
) -> dict[Key, Observed]:
    """Read every record set and decide what the UPDATE may expect; refuse on any conflict.

    Ours (what we wrote, or exactly the declared values), absent, or adopted: expected as found.
    Foreign or changed values and CNAME conflicts are all reported together.
    """
    import dns.rdatatype

    problems: list[str] = []
    found: dict[Key, Observed] = {}
    for key, seen in zip(keys, client.read_real(zone, keys), strict=True):
        rrset, mine = wanted.get(key), owned.get(key)
        label = _label(key)
        if seen.cname is not None and rrset is not None:
            if (key[0], dns.rdatatype.CNAME) not in owned:
                problems.append(
                    f"{label}: the name is a CNAME (to {seen.cname}), which cannot coexist with "
                    "other records"
                )
            found[key] = ABSENT
        elif seen.rdatas and (
            (rrset is not None and seen.rdatas == rrset.rdatas)
            or (mine is not None and seen.rdatas == mine.rdatas)
        ):
            found[key] = seen  # ours: what we wrote, or exactly what is declared
        elif not seen.rdatas:
            found[key] = ABSENT
            if rrset is not None and rrset.is_cname and _name_taken(client, zone, key, keys):
                problems.append(
                    f"{label}: the name already holds other records, which cannot coexist with "
                    "a CNAME"
                )
            elif mine is not None and rrset is None:
                ctx.log.info("record set already gone", record=label)
            elif mine is not None:
                ctx.log.warning(
                    "record set was deleted outside nixops4; creating it again", record=label
                )
        elif rrset is not None and adopt:
            ctx.log.warning(
                "adopting record set: replacing its values", record=label, found=shown(seen.rdatas)
            )
            found[key] = seen
        elif mine is not None:
            problems.append(
                f"{label}: changed outside nixops4: it holds {shown(seen.rdatas)}, but we last "
                f"wrote {shown(mine.rdatas)}"
            )
        else:
            problems.append(
                f"{label}: exists with other values ({shown(seen.rdatas)}), expected absent or "
                f"{shown(rrset.rdatas if rrset else frozenset())}; it is not ours"
            )
    if problems:
        raise ResourceError(
            f"{len(problems)} record set(s) of zone {zone.to_text()} are not as expected, so "
            "nothing was changed:\n  - " + "\n  - ".join(problems),
            hint="Find out who wrote them. Set `adopt = true` to take over declared record sets "
            "with other values, or remove the conflicting records first.",
        )
    return found


def _name_taken(client: DnsClient, zone: dns.name.Name, key: Key, keys: list[Key]) -> bool:
    """Whether a CNAME's name holds data (none of it ours), checked with a prerequisite."""
    if any(other[0] == key[0] for other in keys if other != key):
        return False  # our other record sets there go in the same UPDATE; the read-back checks
    return not client.absent(zone, key[0], None)


def _verify(client: DnsClient, zone: dns.name.Name, plan: _Plan, ctx: Context) -> None:
    """Read every declared record set back, and check the deleted ones are gone."""
    wanted = list(plan.wanted.values())
    current = client.read_many(zone, [rrset.key for rrset in wanted])
    wrong = [
        f"{rrset.label()}: serves {shown(seen.rdatas)} (TTL {seen.ttl}) instead of "
        f"{shown(rrset.rdatas)} (TTL {rrset.ttl})"
        for rrset, seen in zip(wanted, current, strict=True)
        if not _same(seen, rrset)
    ]
    gone = [key for key in plan.deletes if key not in plan.wanted]
    if gone and not _all_absent(client, zone, gone):
        wrong.extend(
            f"{_label(key)}: still present after its deletion"
            for key in gone
            if not client.absent(zone, *key)
        )
    if wrong:
        raise ResourceError(
            f"the server accepted the update of zone {zone.to_text()} but does not serve what "
            "was written:\n  - " + "\n  - ".join(wrong),
            hint="The server may have ignored part of the update (RFC 2136 servers silently skip "
            "records that conflict with a CNAME, or that their update policy filters); check its "
            "log.",
        )
    for rrset in plan.adds:
        ctx.log.info(
            "record set written", record=rrset.label(), ttl=rrset.ttl, values=rrset.values()
        )
    for key in gone:
        ctx.log.info("record set deleted", record=_label(key))


def _all_absent(client: DnsClient, zone: dns.name.Name, keys: list[Key]) -> bool:
    """Whether all these record sets are gone, asked in one prerequisite-only UPDATE."""

    def build(message: dns.update.UpdateMessage) -> None:
        for name, rdtype in keys:
            message.absent(name, rdtype)

    return client.update(zone, zone, build, what=f"{len(keys)} absence checks") == "NOERROR"
