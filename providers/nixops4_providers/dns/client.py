"""Talking to the primary: signed UPDATE messages with prerequisites, and direct RD=0 reads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nixops4_protocol.errors import ResourceError

from .rcodes import Where, rcode_error
from .server import Server, load_key
from .transport import exchange, exchange_many

if TYPE_CHECKING:
    import dns.message
    import dns.name
    import dns.rdata
    import dns.rdatatype
    import dns.rrset
    import dns.tsig
    import dns.update
    from nixops4_protocol.log import Logger

MAX_MESSAGE = 65535
"""The largest DNS message: TCP frames a message with a 16-bit length."""

PREREQUISITE_FAILED = frozenset({"YXDOMAIN", "YXRRSET", "NXDOMAIN", "NXRRSET"})
"""Response codes of an UPDATE whose prerequisites did not hold (nothing was changed)."""


@dataclass(frozen=True)
class Observed:
    """What the primary serves at one owner name and type."""

    rdatas: frozenset[dns.rdata.Rdata]
    ttl: int | None
    cname: str | None = None
    """The target of a CNAME at the name, when another type was asked for."""


ABSENT = Observed(frozenset(), None)
"""An absent record set."""


class DnsClient:
    """One primary server and TSIG key; every failure becomes a ResourceError for people."""

    def __init__(self, server: Server, log: Logger) -> None:
        """Read the key from `secretFile`; nothing is sent yet."""
        self.server = server
        self.log = log
        self.key: dns.tsig.Key = load_key(server)

    def where(self, zone: dns.name.Name, name: dns.name.Name) -> Where:
        """The facts error explanations name."""
        return Where(
            server=self.server.describe(),
            zone=zone.to_text(),
            name=name.to_text(),
            key_name=self.server.key_name,
            key_algorithm=self.server.key_algorithm,
        )

    def update(
        self,
        zone: dns.name.Name,
        name: dns.name.Name,
        build: Callable[[dns.update.UpdateMessage], None],
        *,
        what: str = "",
    ) -> str:
        """Send one signed UPDATE built by `build`; return NOERROR or a prerequisite failure code.

        An UPDATE too large for one DNS message is refused, naming `what` it carries.  Any other
        outcome raises a ResourceError saying what it means.
        """
        import dns.update

        message = dns.update.UpdateMessage(zone, keyring=self.key)
        build(message)
        wire = _to_wire(message, what or name.to_text())
        where = self.where(zone, name)
        code = self._rcode(
            self._parse(message, exchange(wire, self.server, self.log, is_update=True), where)
        )
        if code == "NOERROR" or code in PREREQUISITE_FAILED:
            return code
        raise rcode_error(code, self.where(zone, name))

    def absent(
        self, zone: dns.name.Name, name: dns.name.Name, rdtype: dns.rdatatype.RdataType | None
    ) -> bool:
        """Whether the record set (or with `rdtype` None, any data at the name) is really absent.

        Asked as a prerequisite-only UPDATE, which unlike a query is not fooled by records a
        wildcard synthesises.
        """

        def build(message: dns.update.UpdateMessage) -> None:
            if rdtype is None:
                message.absent(name)
            else:
                message.absent(name, rdtype)

        return self.update(zone, name, build) == "NOERROR"

    def read(
        self, zone: dns.name.Name, name: dns.name.Name, rdtype: dns.rdatatype.RdataType
    ) -> Observed:
        """Ask the primary directly (RD=0, signed) what it serves at `name` for `rdtype`."""
        return self.read_many(zone, [(name, rdtype)])[0]

    def read_many(
        self, zone: dns.name.Name, keys: list[tuple[dns.name.Name, dns.rdatatype.RdataType]]
    ) -> list[Observed]:
        """Read several record sets, pipelined over one connection (TCP), in the order asked."""
        import dns.flags
        import dns.message

        queries = []
        ids: set[int] = set()
        for name, rdtype in keys:
            query = dns.message.make_query(name, rdtype)
            while query.id in ids:  # answers are matched by ID
                query.id = (query.id + 1) % 65536
            ids.add(query.id)
            query.flags &= ~dns.flags.RD
            query.use_tsig(self.key)
            queries.append(query)
        raws = exchange_many([query.to_wire() for query in queries], self.server, self.log)
        return [
            self._observed(zone, name, rdtype, self._parse(query, raw, self.where(zone, name)))
            for (name, rdtype), query, raw in zip(keys, queries, raws, strict=True)
        ]

    def read_real(
        self, zone: dns.name.Name, keys: list[tuple[dns.name.Name, dns.rdatatype.RdataType]]
    ) -> list[Observed]:
        """Like `read_many`, but what a wildcard answers for an absent record set reads as absent.

        A query cannot tell a synthesised answer from a real one, so the record sets (and CNAMEs)
        found are confirmed with one prerequisite-only UPDATE, and one each if that fails.
        """
        import dns.rdatatype

        observed = self.read_many(zone, keys)
        found = {
            index: (name, dns.rdatatype.CNAME if seen.cname is not None else rdtype)
            for index, ((name, rdtype), seen) in enumerate(zip(keys, observed, strict=True))
            if seen.rdatas or seen.cname is not None
        }

        def build(message: dns.update.UpdateMessage) -> None:
            for name, rdtype in found.values():
                message.present(name, rdtype)

        if not found or self.update(zone, zone, build, what="presence checks") == "NOERROR":
            return observed
        return [
            ABSENT if index in found and self.absent(zone, *found[index]) else seen
            for index, seen in enumerate(observed)
        ]

    def _observed(
        self,
        zone: dns.name.Name,
        name: dns.name.Name,
        rdtype: dns.rdatatype.RdataType,
        response: dns.message.Message,
    ) -> Observed:
        """Interpret the answer to a direct read of `name` and `rdtype`."""
        import dns.flags
        import dns.rdatatype

        where = self.where(zone, name)
        code = self._rcode(response)
        if code == "NXDOMAIN":
            return Observed(frozenset(), None)
        if code != "NOERROR":
            error = rcode_error(code, where)
            raise ResourceError(
                f"reading {name.to_text()} {dns.rdatatype.to_text(rdtype)}: {error}",
                hint=f"The server may not serve zone {zone.to_text()}. {error.hint}",
            )
        if not response.flags & dns.flags.AA:
            for rrset in response.authority:  # NS records below the apex are a delegation
                if rrset.name == name and rrset.rdtype == rdtype == dns.rdatatype.NS:
                    return Observed(frozenset(rrset), rrset.ttl)
            raise ResourceError(
                f"{where.server} is not authoritative for {name.to_text()}",
                hint=f"Point `server.address` at the primary of zone {zone.to_text()}; if the "
                "name lies in a delegated subzone, set `zone` to that subzone.",
            )
        cname = None
        for rrset in response.answer:
            if rrset.name != name:
                continue
            if rrset.rdtype == rdtype:
                return Observed(frozenset(rrset), rrset.ttl)
            if rrset.rdtype == dns.rdatatype.CNAME:
                cname = rrset[0].to_text()
        return Observed(frozenset(), None, cname)

    def _parse(self, message: dns.message.Message, raw: bytes, where: Where) -> dns.message.Message:
        """Decode and verify the answer `raw` to `message`."""
        import dns.exception
        import dns.message
        import dns.tsig

        if len(raw) >= 2 and int.from_bytes(raw[:2], "big") != message.id:
            raise ResourceError(
                f"{where.server} answered something other than our request (message ID "
                f"{int.from_bytes(raw[:2], 'big')} instead of {message.id})",
                hint="The server, or something between it and this machine, is misbehaving.",
            )
        try:
            response = dns.message.from_wire(raw, keyring=message.keyring, request_mac=message.mac)
        except dns.tsig.PeerBadKey:
            raise rcode_error("BADKEY", where) from None
        except dns.tsig.PeerBadSignature:
            raise rcode_error("BADSIG", where) from None
        except dns.tsig.PeerBadTime:
            raise rcode_error("BADTIME", where) from None
        except dns.tsig.PeerBadTruncation:
            raise rcode_error("BADTRUNC", where) from None
        except dns.exception.FormError as error:
            unreadable = ResourceError(f"unreadable answer from {where.server}: {error}")
            if message.keyring is None or "TSIG" not in str(error):
                raise unreadable from None
            try:
                unsigned = dns.message.from_wire(raw, keyring=False)
            except dns.exception.DNSException:
                raise unreadable from None
            raise rcode_error(self._rcode(unsigned), where, unsigned=True) from None
        except dns.exception.DNSException as error:
            raise ResourceError(
                f"the answer from {where.server} failed TSIG verification: {error}",
                hint="Check `keyAlgorithm` and `secretFile` against the server's key.",
            ) from None
        if not message.is_response(response):
            raise ResourceError(f"{where.server} answered something other than our request")
        return response

    @staticmethod
    def _rcode(response: dns.message.Message) -> str:
        import dns.rcode

        return dns.rcode.to_text(response.rcode())


def _to_wire(message: dns.update.UpdateMessage, what: str) -> bytes:
    """Render (and sign) an UPDATE; refuse one too large for a DNS message rather than split it."""
    import dns.exception

    try:
        return message.to_wire()
    except dns.exception.TooBig:
        size = 12 + sum(_uncompressed(section) for section in message.sections)
        raise ResourceError(
            f"the update of {what} does not fit in one DNS message: it needs about {size} octets "
            f"(before name compression), and a message holds at most {MAX_MESSAGE}; nothing was "
            "sent",
            hint="Split the records into several resources (each is applied atomically on its "
            "own), or shorten them.",
        ) from None


def _uncompressed(section: list[dns.rrset.RRset]) -> int:
    import io

    out = io.BytesIO()
    for rrset in section:
        rrset.to_wire(out)
    return out.tell()
