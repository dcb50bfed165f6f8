"""Parsing and checking zone names, owner names, record types and record values.

Every function raises ValueError with a message for people; the input model turns it into an
error naming the field.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import dns.name
    import dns.rdata
    import dns.rdatatype

MAX_TTL = 2**31 - 1
_REFUSED_TYPES = {"SOA": "the SOA record is maintained by the server"}
_TEXT_TYPES = {"TXT", "SPF"}
_MAX_STRING = 255
MAX_RDATA = 65535
"""Largest record data (RDLENGTH is 16 bits)."""


def parse_absolute(text: str) -> dns.name.Name:
    """An absolute name, with or without the trailing dot (a zone apex, a TSIG key name)."""
    import dns.name

    _check_plain(text)
    return _from_text(text, dns.name.root)


def parse_zone(text: str) -> dns.name.Name:
    """The absolute name of a zone apex (`example.org` or `example.org.`)."""
    name = parse_absolute(text)
    if name.is_wild():
        raise ValueError("a zone name cannot be a wildcard")
    return name


def parse_owner(text: str, zone: dns.name.Name) -> dns.name.Name:
    """The absolute owner name: `@` is the apex, a trailing dot means absolute, else zone-relative."""
    _check_plain(text)
    if text == "@":
        return zone
    name = _from_text(text, zone)
    if not name.is_subdomain(zone):
        raise ValueError(
            f"{name.to_text()} is outside zone {zone.to_text()}; give a name relative to the zone "
            "(without a trailing dot) or an absolute name inside it"
        )
    if any(label == b"*" for label in name.labels[1:]):
        raise ValueError("a `*` label is a wildcard only as the leftmost label")
    return name


def parse_type(text: str) -> dns.rdatatype.RdataType:
    """A record type mnemonic such as `A`, `caa` or `TYPE65280`; meta types are refused."""
    import dns.rdatatype

    _check_plain(text)
    try:
        rdtype = dns.rdatatype.from_text(text.upper())
    except dns.rdatatype.UnknownRdatatype:
        raise ValueError(f"unknown record type {text!r}") from None
    if dns.rdatatype.is_metatype(rdtype):
        raise ValueError(f"{text.upper()} is a query meta type, not a record type")
    reason = _REFUSED_TYPES.get(dns.rdatatype.to_text(rdtype))
    if reason:
        raise ValueError(f"{text.upper()} records cannot be managed: {reason}")
    return rdtype


def parse_values(
    values: Sequence[str], rdtype: dns.rdatatype.RdataType, zone: dns.name.Name
) -> frozenset[dns.rdata.Rdata]:
    """Parse values in presentation format (names relative to the zone unless absolute).

    A TXT or SPF value that does not start with `"` is one text, split into 255-octet strings.
    """
    import dns.exception
    import dns.rdata
    import dns.rdatatype

    type_text = dns.rdatatype.to_text(rdtype)
    if dns.rdatatype.is_singleton(rdtype) and len(values) > 1:
        raise ValueError(
            f"a {type_text} record set holds one record, not {len(values)}; a name has at most one "
            f"{type_text}"
        )
    parsed: dict[dns.rdata.Rdata, int] = {}
    for index, text in enumerate(values):
        try:
            if type_text in _TEXT_TYPES and not text.lstrip().startswith('"'):
                rdata = _text_record(rdtype, text)
            else:
                rdata = _presentation_record(rdtype, text, zone)
        except (dns.exception.DNSException, ValueError, TypeError) as error:
            raise ValueError(
                f"item {index} is not valid {type_text} data ({text!r}): {_reason(error)}"
            ) from None
        size = len(rdata.to_wire() or b"")
        if size > MAX_RDATA:
            raise ValueError(
                f"item {index} is {size} octets of {type_text} data, and a record holds at most "
                f"{MAX_RDATA}; split it into several records"
            )
        if rdata in parsed:
            raise ValueError(
                f"items {parsed[rdata]} and {index} are the same record "
                f"({rdata.to_text()}); a record set holds each record once"
            )
        parsed[rdata] = index
    return frozenset(parsed)


def canonical(rdatas: frozenset[dns.rdata.Rdata]) -> list[str]:
    """The values in presentation format with absolute names, in a stable order."""
    return sorted(rdata.to_text() for rdata in rdatas)


def _presentation_record(
    rdtype: dns.rdatatype.RdataType, text: str, zone: dns.name.Name
) -> dns.rdata.Rdata:
    """One record in presentation format; anything on a further line is refused, not dropped."""
    import dns.rdata
    import dns.rdataclass
    import dns.tokenizer

    tokens = dns.tokenizer.Tokenizer(text)
    rdata = dns.rdata.from_text(
        dns.rdataclass.IN,
        rdtype,
        tokens,
        origin=zone,
        relativize=False,
        idna_codec=idna_codec(text),
    )
    while not (token := tokens.get()).is_eof():
        if not token.is_eol():
            raise ValueError(
                f"it holds more than one record (a second line starting with {token.value!r}); "
                "give each record as an item of its own"
            )
    return rdata


def _text_record(rdtype: dns.rdatatype.RdataType, text: str) -> dns.rdata.Rdata:
    import dns.rdataclass
    import dns.rdtypes.ANY.TXT

    data = text.encode("utf-8")
    chunks = [data[i : i + _MAX_STRING] for i in range(0, len(data), _MAX_STRING)] or [b""]
    return dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, rdtype, chunks)


def idna_codec(text: str) -> dns.name.IDNACodec | None:
    """For non-ASCII `text`: IDNA 2008 with UTS 46 mapping (non-transitional), as octodns uses.

    dnspython falls back to IDNA 2003 without the `idna` package, which maps `ß` to `ss` and so
    writes `straße` as `strasse`; requiring IDNA 2008 makes a missing package an error instead.
    """
    import dns.name

    if text.isascii():
        return None
    if not dns.name.have_idna_2008:
        raise ValueError(
            "non-ASCII names need the Python package `idna` (IDNA 2008), which is not installed"
        )
    return dns.name.IDNA_2008_Practical


def _check_plain(text: str) -> None:
    if not text:
        raise ValueError("must not be empty")
    if any(character.isspace() for character in text):
        raise ValueError("must not contain whitespace")


def _from_text(text: str, origin: dns.name.Name) -> dns.name.Name:
    import dns.exception
    import dns.name

    try:
        return dns.name.from_text(text, origin, idna_codec=idna_codec(text))
    except dns.name.EmptyLabel:
        raise ValueError("has an empty label (two dots in a row, or a leading dot)") from None
    except dns.name.LabelTooLong:
        raise ValueError("has a label longer than 63 octets") from None
    except dns.name.NameTooLong:
        raise ValueError("is longer than 255 octets (as an absolute name)") from None
    except dns.exception.DNSException as error:
        raise ValueError(_reason(error)) from None


def _reason(error: BaseException) -> str:
    return str(error) or type(error).__name__
