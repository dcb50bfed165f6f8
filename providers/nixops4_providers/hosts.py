"""Checking server host names and addresses before any lookup, so a bad one names its field."""

from __future__ import annotations

import ipaddress
import re

_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")


def check_host(host: str) -> str:
    """Accept an IP address or an ASCII host name (labels of letters, digits, `-` and `_`)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        labels = host.removesuffix(".").split(".")
        if len(host) > 253 or not all(_LABEL.match(label) for label in labels):
            raise ValueError(
                f"{host[:80]!r} is not an IP address or a host name; give an internationalised "
                "name in its ASCII (xn--) form"
            ) from None
    return host
