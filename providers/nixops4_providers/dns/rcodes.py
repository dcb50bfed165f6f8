"""What each DNS response code and TSIG error means for an update, and what to check."""

from __future__ import annotations

from dataclasses import dataclass

from nixops4_protocol.errors import ResourceError


@dataclass(frozen=True)
class Where:
    """The facts an explanation names: server, zone, owner name and key."""

    server: str
    zone: str
    name: str
    key_name: str
    key_algorithm: str


_RCODES: dict[str, tuple[str, str]] = {
    "FORMERR": (
        "the server could not parse the message (FORMERR)",
        "The server may not support this record type or its data; its log says more.",
    ),
    "SERVFAIL": (
        "the server failed to process the request (SERVFAIL)",
        "Check the server's log: the zone may not be loaded, or its journal or database may "
        "not be writable. Applying again later is safe.",
    ),
    "NOTIMP": (
        "the server does not implement dynamic updates (NOTIMP)",
        "Point `server.address` at the zone's primary server with dynamic updates enabled.",
    ),
    "REFUSED": (
        "the server refused the request (REFUSED)",
        "Check that key `{key_name}` may update zone `{zone}` (BIND: `update-policy` or "
        "`allow-update`; Knot: an `acl` with `action: update`), and that {server} is the "
        "zone's primary.",
    ),
    "NOTAUTH": (
        "the server is not authoritative for zone `{zone}` or did not accept the TSIG "
        "signature (NOTAUTH)",
        "Check that `zone` is the apex of a zone {server} is primary for, that `keyName`, "
        "`keyAlgorithm` and `secretFile` match the server's key, and that both clocks agree.",
    ),
    "NOTZONE": (
        "the name `{name}` is not inside zone `{zone}` (NOTZONE)",
        "Set `zone` to the apex of the zone that contains the name; a delegated subzone is a "
        "zone of its own.",
    ),
    "YXDOMAIN": (
        "a prerequisite failed (YXDOMAIN): the name `{name}` is in use",
        "The records changed while this update ran; apply again.",
    ),
    "YXRRSET": (
        "a prerequisite failed (YXRRSET): the record set exists",
        "The records changed while this update ran; apply again.",
    ),
    "NXDOMAIN": (
        "a prerequisite failed (NXDOMAIN): the name `{name}` does not exist",
        "The records changed while this update ran; apply again.",
    ),
    "NXRRSET": (
        "a prerequisite failed (NXRRSET): the record set does not hold the expected values",
        "The records changed while this update ran; apply again.",
    ),
    "BADSIG": (
        "the server rejected the TSIG signature (BADSIG)",
        "The secret in `secretFile` does not match the server's secret for key `{key_name}`; "
        "check the file and `keyAlgorithm`.",
    ),
    "BADKEY": (
        "the server does not accept TSIG key `{key_name}` with algorithm {key_algorithm} (BADKEY)",
        "Check `keyName` and `keyAlgorithm` against the server's key definition; Knot also "
        "answers BADKEY when the zone's ACL does not allow the key to update zone `{zone}`.",
    ),
    "BADTIME": (
        "the server rejected the time in the TSIG signature (BADTIME)",
        "The clocks of this machine and {server} differ by more than the 300 s the signature "
        "allows; synchronise them (NTP).",
    ),
    "BADTRUNC": (
        "the server rejected the truncated TSIG MAC (BADTRUNC)",
        "Use another `keyAlgorithm` the server supports.",
    ),
}


def rcode_error(code: str, where: Where, *, unsigned: bool = False) -> ResourceError:
    """The error for response code (or TSIG error) `code` at `where`."""
    message, hint = _RCODES.get(
        code,
        (f"the server answered {code}", "Check the server's log for the reason."),
    )
    facts = {
        "server": where.server,
        "zone": where.zone,
        "name": where.name,
        "key_name": where.key_name,
        "key_algorithm": where.key_algorithm,
    }
    text = f"{message.format(**facts)} from {where.server}"
    if unsigned:
        text += " (an unsigned answer: the server did not verify our key for this zone)"
    return ResourceError(text, hint=hint.format(**facts))
