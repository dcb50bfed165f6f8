"""Cloud-init: the input model and the `ci*`/`ipconfig<n>` config keys PVE builds its drive from."""

from __future__ import annotations

import ipaddress
from typing import Annotated
from urllib.parse import quote, unquote

from nixops4_protocol.resource import Model
from pydantic import AfterValidator, Field, model_validator

from .hardware import STORAGE

USER = r"^[A-Za-z_][A-Za-z0-9_.-]*$"
SEARCH_DOMAIN = r"^[A-Za-z0-9_.-]+( [A-Za-z0-9_.-]+)*$"
SSH_KEY = r"^[^\x00-\x1f\x7f]+$"
"""One public key line: no newline, which would smuggle in another key."""


def _address(value: str | None, version: int, keywords: tuple[str, ...]) -> str | None:
    if value is None or value in keywords:
        return value
    try:
        network = ipaddress.ip_interface(value)
    except ValueError:
        raise ValueError(
            f"{value!r} is not an IPv{version} address with prefix, nor one of {keywords}"
        ) from None
    if network.version != version or "/" not in value:
        raise ValueError(f"{value!r} is not an IPv{version} address with a /prefix")
    return value


def _v4(value: str | None) -> str | None:
    return _address(value, 4, ("dhcp",))


def _v6(value: str | None) -> str | None:
    return _address(value, 6, ("dhcp", "auto"))


def _ip(value: str | None, version: int | None = None) -> str | None:
    if value is None:
        return None
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address") from None
    if version is not None and address.version != version:
        raise ValueError(f"{value!r} is not an IPv{version} address")
    return value


def _gateway4(value: str | None) -> str | None:
    return _ip(value, 4)


def _gateway6(value: str | None) -> str | None:
    return _ip(value, 6)


def _nameserver(value: str) -> str:
    return _ip(value) or value


class IpConfig(Model):
    """Addresses of one interface, as cloud-init configures them in the guest."""

    ipv4: Annotated[str | None, AfterValidator(_v4)] = Field(
        default=None, description='`"dhcp"`, or an address with prefix such as `192.0.2.10/24`.'
    )
    gateway4: Annotated[str | None, AfterValidator(_gateway4)] = Field(
        default=None, description="IPv4 default gateway (static only)."
    )
    ipv6: Annotated[str | None, AfterValidator(_v6)] = Field(
        default=None, description='`"dhcp"`, `"auto"` (SLAAC), or e.g. `2001:db8::10/64`.'
    )
    gateway6: Annotated[str | None, AfterValidator(_gateway6)] = Field(
        default=None, description="IPv6 default gateway (static only)."
    )

    @model_validator(mode="after")
    def _gateways_need_static(self) -> IpConfig:
        if self.gateway4 is not None and self.ipv4 in (None, "dhcp"):
            raise ValueError("`gateway4` needs a static `ipv4`")
        if self.gateway6 is not None and self.ipv6 in (None, "dhcp", "auto"):
            raise ValueError("`gateway6` needs a static `ipv6`")
        return self

    def value(self) -> str | None:
        """The `ipconfig<n>` property string, or None when nothing is configured."""
        parts = []
        if self.ipv4 is not None:
            parts.append(f"ip={self.ipv4}")
        if self.gateway4 is not None:
            parts.append(f"gw={self.gateway4}")
        if self.ipv6 is not None:
            parts.append(f"ip6={self.ipv6}")
        if self.gateway6 is not None:
            parts.append(f"gw6={self.gateway6}")
        return ",".join(parts) or None

    def static_addresses(self) -> tuple[str | None, str | None]:
        """The static IPv4 and IPv6 addresses without prefix (None for DHCP/SLAAC/none)."""
        v4 = str(ipaddress.ip_interface(self.ipv4).ip) if self.ipv4 not in (None, "dhcp") else None
        v6 = (
            str(ipaddress.ip_interface(self.ipv6).ip)
            if self.ipv6 not in (None, "dhcp", "auto")
            else None
        )
        return v4, v6


class CloudInit(Model):
    """What PVE's cloud-init drive tells the guest on first boot (and when regenerated)."""

    storage: str = Field(
        pattern=STORAGE, description="PVE storage of the cloud-init drive, e.g. `local-lvm`."
    )
    slot: str = Field(
        default="ide2", pattern=r"^(ide[0-3]|sata[0-5]|scsi[0-9])$", description="Drive slot."
    )
    user: str | None = Field(
        default=None, pattern=USER, description="User cloud-init creates; null: image's."
    )
    ssh_public_keys: list[Annotated[str, Field(pattern=SSH_KEY)]] = Field(
        default_factory=list, description="SSH public keys authorised for `user`."
    )
    ip_config: list[IpConfig] = Field(
        default_factory=list,
        description="Addresses per interface: the n-th entry configures `networks`' n-th NIC.",
    )
    nameservers: list[Annotated[str, AfterValidator(_nameserver)]] = Field(
        default_factory=list, description="DNS servers (IP addresses)."
    )
    search_domain: str | None = Field(
        default=None, pattern=SEARCH_DOMAIN, description="DNS search domain."
    )

    def config(self) -> dict[str, str | None]:
        """The cloud-init config keys; None values are keys to delete."""
        keys: dict[str, str | None] = {
            "ciuser": self.user,
            "sshkeys": encode_ssh_keys(self.ssh_public_keys) if self.ssh_public_keys else None,
            "nameserver": " ".join(self.nameservers) or None,
            "searchdomain": self.search_domain,
        }
        for index, ip in enumerate(self.ip_config):
            keys[f"ipconfig{index}"] = ip.value()
        return keys


CLOUD_INIT_KEYS = ("ciuser", "sshkeys", "nameserver", "searchdomain", "cipassword", "citype")
"""Config keys whose change needs the cloud-init drive regenerated (plus `ipconfig<n>`)."""


def is_cloud_init_key(key: str) -> bool:
    """Whether a config key feeds the cloud-init drive."""
    return key in CLOUD_INIT_KEYS or key.startswith("ipconfig")


def encode_ssh_keys(keys: list[str]) -> str:
    """PVE's `sshkeys` value: the keys one per line, URI-encoded as its API demands."""
    return quote("\n".join(key.strip() for key in keys) + "\n", safe="")


def decode_ssh_keys(value: str) -> str:
    """The keys of an `sshkeys` value, for comparison."""
    return unquote(value).strip()
