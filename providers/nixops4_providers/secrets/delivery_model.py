"""Inputs and outputs of the `delivery` resource type."""

from __future__ import annotations

from typing import Annotated

from nixops4_protocol.resource import CredentialFile, Model
from pydantic import Field

HOST_KEY_PATTERN = r"^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa) [A-Za-z0-9+/]+=*( .*)?$"
ACCOUNT_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$"
MODE_PATTERN = r"^0?[0-7]{3}$"
PATH_PATTERN = r"^/[^\x00\n]*[^/\x00\n]$"


class SshTarget(Model):
    """An SSH server and how to log in to it, with the one host key it must present."""

    address: str = Field(description="Host name or IP address of the host.")
    port: int = Field(default=22, ge=1, le=65535, description="SSH port.")
    user: str = Field(
        default="root",
        pattern=ACCOUNT_PATTERN,
        description="User to log in as; it must be allowed to set the file's owner (root).",
    )
    identity_file: Annotated[str, CredentialFile()] = Field(
        description="Path of the SSH private key (OpenSSH format, 0600) the deployer logs in with."
    )
    host_public_key: str = Field(
        pattern=HOST_KEY_PATTERN,
        description="The host's public key (`ssh-ed25519 AAAA...`), e.g. a VM's "
        "`sshHostPublicKey` output. It is the only key accepted (strict host key checking).",
    )
    connect_timeout: int = Field(
        default=10, ge=1, le=600, description="Seconds to wait for one connection attempt."
    )
    wait_seconds: int = Field(
        default=120,
        ge=0,
        le=3600,
        description="How long to keep retrying while the host refuses connections (still booting).",
    )


class DeliveryInputs(Model):
    """Inputs of `delivery`."""

    source: Annotated[str, CredentialFile()] = Field(
        description="Path of the secret's file on the deployer, e.g. a secret's `path` output."
    )
    fingerprint: str | None = Field(
        default=None,
        description="The secret's `fingerprint` output. Passed through to the output of the same "
        "name, so what depends on the delivered file changes when the secret rotates.",
    )
    host: SshTarget = Field(
        description="The host receiving the file.",
        examples=[
            {
                "address": "192.0.2.10",
                "identityFile": "/home/deployer/.ssh/id_ed25519",
                "hostPublicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ0bmV4YW1wbGVrZXlrZXlrZXlrZXlrZXlrZXk",
            }
        ],
    )
    path: str = Field(
        pattern=PATH_PATTERN,
        description="Absolute path of the file on the host, e.g. `/var/lib/keys/app-db-password`.",
        examples=["/var/lib/nixops4-keys/app/db-password"],
    )
    owner: str = Field(
        default="root", pattern=ACCOUNT_PATTERN, description="Owner of the file (name or uid)."
    )
    group: str = Field(
        default="root", pattern=ACCOUNT_PATTERN, description="Group of the file (name or gid)."
    )
    mode: str = Field(
        default="0400", pattern=MODE_PATTERN, description="Permissions of the file, octal."
    )
    create_directory: bool = Field(
        default=True,
        description="Create the file's directory (0755, root) when it is missing; otherwise a "
        "missing directory is an error.",
    )
    remove_on_destroy: bool = Field(
        default=True, description="Whether destroying the resource removes the file from the host."
    )


class DeliveryOutputs(Model):
    """Outputs of `delivery`: where the file is, never its value."""

    path: str = Field(description="Absolute path of the file on the host.")
    address: str = Field(description="The host's address.")
    fingerprint: str | None = Field(description="The `fingerprint` input, passed through.")
