"""Planning: what an apply would change in the zone, read from the primary, with nothing written."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .rrset import RecordSet, shown

if TYPE_CHECKING:
    import dns.name
    import dns.rdata
    import dns.rdatatype
    from nixops4_protocol.context import Context

    from .client import DnsClient, Observed

    Key = tuple[dns.name.Name, dns.rdatatype.RdataType]


def plan(
    client: DnsClient,
    zone: dns.name.Name,
    wanted: list[RecordSet],
    owned: dict[Key, frozenset[dns.rdata.Rdata]],
    *,
    adopt: bool,
    ctx: Context,
) -> list[str]:
    """Log (and return) one line per record set the apply would create, replace, delete or refuse."""
    import dns.rdatatype

    declared = {rrset.key: rrset for rrset in wanted}
    keys = list(declared) + [key for key in owned if key not in declared]
    lines = []
    for key, seen in zip(keys, client.read_real(zone, keys), strict=True):
        label = f"{key[0].to_text()} {dns.rdatatype.to_text(key[1])}"
        rrset = declared.get(key)
        line = _line(label, rrset, seen, owned.get(key), adopt=adopt)
        ctx.log.info(f"plan: {line}")
        lines.append(line)
    return lines


def _line(
    label: str,
    rrset: RecordSet | None,
    seen: Observed,
    mine: frozenset[dns.rdata.Rdata] | None,
    *,
    adopt: bool,
) -> str:
    """What the apply would do to one record set."""
    current = f"{shown(seen.rdatas)} (TTL {seen.ttl})"
    if rrset is None:
        if not seen.rdatas:
            return f"{label}: already gone"
        if seen.rdatas == mine:
            return f"{label}: would delete {current}"
        return f"{label}: would refuse to delete: it holds {current}, not what was last written"
    wanted = f"{shown(rrset.rdatas)} (TTL {rrset.ttl})"
    if seen.cname is not None and not rrset.is_cname:
        return f"{label}: would fail: the name is a CNAME (to {seen.cname})"
    if seen.rdatas == rrset.rdatas and seen.ttl == rrset.ttl:
        return f"{label}: no change"
    if not seen.rdatas:
        return f"{label}: would create {wanted}"
    if seen.rdatas in (rrset.rdatas, mine) or adopt:
        return f"{label}: would replace {current} with {wanted}"
    return f"{label}: would refuse: it holds {current}, which was not written here (`adopt`)"
