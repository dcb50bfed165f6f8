"""Talking to the primary: signed UPDATE messages with prerequisites, and direct RD=0 reads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nixops4_protocol.errors import ResourceError

from .rcodes import Where, rcode_error
from .server import Server, load_key
from .transport import exchange

if TYPE_CHECKING:
    import dns.message
    import dns.name
    import dns.rdata
    import dns.rdatatype
    import dns.tsig
    import dns.update

PREREQUISITE_FAILED = frozenset({"YXDOMAIN", "YXRRSET", "NXDOMAIN", "NXRRSET"})
"""Response codes of an UPDATE whose prerequisites did not hold (nothing was changed)."""


@dataclass(frozen=True)
class Observed:
    """What the primary serves at one owner name and type."""

    rdatas: frozenset[dns.rdata.Rdata]
    ttl: int | None
    cname: str | None = None
    """The target of a CNAME at the name, when another type was asked for."""


class DnsClient:
    """One primary server and TSIG key; every failure becomes a ResourceError for people."""

    def __init__(self, server: Server) -> None:
        """Read the key from `secretFile`; nothing is sent yet."""
        self.server = server
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
    ) -> str:
        """Send one signed UPDATE built by `build`; return NOERROR or a prerequisite failure code.

        Any other outcome raises a ResourceError saying what it means.
        """
        import dns.update

        message = dns.update.UpdateMessage(zone, keyring=self.key)
        build(message)
        code = self._rcode(self._send(message, self.where(zone, name), is_update=True))
        if code == "NOERROR" or code in PREREQUISITE_FAILED:
            return code
        raise rcode_error(code, self.where(zone, name))

    def absent(
        self, zone: dns.name.Name, name: dns.name.Name, rdtype: dns.rdatatype.RdataType
    ) -> bool:
        """Whether the record set is really absent, asked as a prerequisite-only UPDATE.

        Unlike a query, this is not fooled by records a wildcard synthesises.
        """
        return self.update(zone, name, lambda message: message.absent(name, rdtype)) == "NOERROR"

    def read(
        self, zone: dns.name.Name, name: dns.name.Name, rdtype: dns.rdatatype.RdataType
    ) -> Observed:
        """Ask the primary directly (RD=0, signed) what it serves at `name` for `rdtype`."""
        import dns.flags
        import dns.message
        import dns.rdatatype

        where = self.where(zone, name)
        query = dns.message.make_query(name, rdtype)
        query.flags &= ~dns.flags.RD
        query.use_tsig(self.key)
        response = self._send(query, where, is_update=False)
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

    def _send(
        self, message: dns.message.Message, where: Where, *, is_update: bool
    ) -> dns.message.Message:
        import dns.exception
        import dns.message
        import dns.tsig

        raw = exchange(message.to_wire(), self.server, is_update=is_update)
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
            if message.keyring is None or "TSIG" not in str(error):
                raise ResourceError(f"unreadable answer from {where.server}: {error}") from None
            unsigned = dns.message.from_wire(raw, keyring=False)
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
