"""A real authoritative DNS server (Knot) accepting TSIG-signed RFC 2136 updates, for tests."""
