"""Every response code and TSIG error the provider may see has a message and a hint."""

from __future__ import annotations

import pytest
from nixops4_providers.dns.rcodes import Where, rcode_error

WHERE = Where(
    server="192.0.2.53:53/tcp",
    zone="example.org.",
    name="www.example.org.",
    key_name="nixops4",
    key_algorithm="hmac-sha256",
)
CODES = [
    "FORMERR", "SERVFAIL", "NOTIMP", "REFUSED", "NOTAUTH", "NOTZONE", "YXDOMAIN", "YXRRSET",
    "NXDOMAIN", "NXRRSET", "BADSIG", "BADKEY", "BADTIME", "BADTRUNC", "DSOTYPENI",
]  # fmt: skip


@pytest.mark.parametrize("code", CODES)
def test_every_code_is_explained(code: str) -> None:
    """The message names the code and the server; the hint says what to check; no blanks left."""
    error = rcode_error(code, WHERE)
    text = str(error)
    assert code in text
    assert "192.0.2.53:53/tcp" in text
    assert error.hint
    assert "{" not in text


def test_explanations_name_the_facts_to_check() -> None:
    """The hints point at the key, the zone apex, the update policy and the clock."""
    assert "`nixops4`" in str(rcode_error("REFUSED", WHERE))
    assert "update-policy" in str(rcode_error("REFUSED", WHERE))
    assert "apex" in str(rcode_error("NOTZONE", WHERE))
    assert "NTP" in str(rcode_error("BADTIME", WHERE))
    assert "unsigned answer" in str(rcode_error("NOTAUTH", WHERE, unsigned=True))
