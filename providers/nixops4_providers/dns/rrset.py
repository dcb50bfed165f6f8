"""One RRset as both resource types declare it: shared input fields, outputs and parsed form."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from nixops4_protocol.resource import Model
from pydantic import AfterValidator, Field

from . import names

if TYPE_CHECKING:
    import dns.name
    import dns.rdata
    import dns.rdatatype


def _valid_type(value: str) -> str:
    names.parse_type(value)
    return value


def _valid_zone(value: str) -> str:
    names.parse_zone(value)
    return value


ZoneName = Annotated[str, AfterValidator(_valid_zone)]
"""The `zone` input (each type gives it its own description)."""


OwnerName = Annotated[
    str,
    Field(
        description="Owner name: relative to the zone (`www`), `@` for the apex, or absolute "
        "with a trailing dot (`www.example.org.`); `*` as the leftmost label is a wildcard."
    ),
]
"""The `name` input (checked against the zone by the model that knows the zone)."""

RecordType = Annotated[
    str,
    Field(description="Record type, e.g. `A`, `AAAA`, `CNAME`, `MX`, `TXT`, `CAA`."),
    AfterValidator(_valid_type),
]
"""The `type` input."""

Ttl = Annotated[int, Field(ge=0, le=names.MAX_TTL, description="TTL in seconds.")]
"""The `ttl` input."""

Values = Annotated[
    list[str],
    Field(
        min_length=1,
        description="The records' data in zone-file presentation format; names in them are "
        'relative to the zone unless they end with a dot. A TXT value not starting with `"` '
        "is one text (split into 255-octet strings as needed).",
    ),
]
"""The `values` input (parsed against the zone by the model that knows the zone)."""

DEFAULT_TTL = 3600


class RecordSetOutputs(Model):
    """One record set as written."""

    fqdn: str = Field(description="Absolute owner name, with the trailing dot.")
    type: str = Field(description="Record type in upper case.")
    ttl: int = Field(description="TTL in seconds.")
    values: list[str] = Field(
        description="The records in canonical presentation format (absolute names), sorted."
    )


@dataclass(frozen=True)
class RecordSet:
    """One parsed RRset: where it lives and what it holds."""

    zone: dns.name.Name
    fqdn: dns.name.Name
    rdtype: dns.rdatatype.RdataType
    ttl: int
    rdatas: frozenset[dns.rdata.Rdata]

    @classmethod
    def parse(
        cls, zone: dns.name.Name, name: str, rdtype_text: str, ttl: int, values: list[str]
    ) -> RecordSet:
        """Parse one declared RRset of `zone`; a ValueError names the field at fault."""
        try:
            fqdn = names.parse_owner(name, zone)
        except ValueError as error:
            raise ValueError(f"`name`: {error}") from None
        try:
            rdtype = names.parse_type(rdtype_text)
        except ValueError as error:
            raise ValueError(f"`type`: {error}") from None
        try:
            rdatas = names.parse_values(values, rdtype, zone)
        except ValueError as error:
            raise ValueError(f"`values`: {error}") from None
        return cls(zone=zone, fqdn=fqdn, rdtype=rdtype, ttl=ttl, rdatas=rdatas)

    @property
    def key(self) -> tuple[dns.name.Name, dns.rdatatype.RdataType]:
        """What identifies the RRset within its zone: owner name and type."""
        return self.fqdn, self.rdtype

    @property
    def type_text(self) -> str:
        """The type mnemonic."""
        import dns.rdatatype

        return dns.rdatatype.to_text(self.rdtype)

    @property
    def is_cname(self) -> bool:
        """Whether this is a CNAME, which must be alone at its name."""
        return self.type_text == "CNAME"

    @property
    def is_apex_ns(self) -> bool:
        """Whether this is the zone's own NS set, which a server never deletes as a whole.

        RFC 2136 §3.4.2.4: deleting the NS RRset at the apex is ignored; single records may be
        deleted, except the last one.
        """
        return self.fqdn == self.zone and self.type_text == "NS"

    def same_place(self, other: RecordSet) -> bool:
        """Whether both are the same RRset (zone, owner name and type)."""
        return (self.zone, self.key) == (other.zone, other.key)

    def label(self) -> str:
        """E.g. `www.example.org. A`."""
        return f"{self.fqdn.to_text()} {self.type_text}"

    def values(self) -> list[str]:
        """The values in canonical presentation format, sorted."""
        return names.canonical(self.rdatas)

    def outputs(self) -> RecordSetOutputs:
        """The outputs describing this RRset."""
        return RecordSetOutputs(
            fqdn=self.fqdn.to_text(), type=self.type_text, ttl=self.ttl, values=self.values()
        )


def shown(rdatas: frozenset[dns.rdata.Rdata]) -> str:
    """Values for a message, e.g. `192.0.2.1, 192.0.2.2`, or `nothing`."""
    return ", ".join(names.canonical(rdatas)) or "nothing"
