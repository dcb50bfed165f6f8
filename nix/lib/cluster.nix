# The options of a cluster: the servers every application of a deployment shares, declared once
# (`cluster = { ... };` at the root) and handed to each application (`application.cluster`).
# The connection types are the generated ones of the resource types that use them.
{ lib, ... }:
let
  inherit (lib) mkOption types;
  inputType =
    provider: type: option:
    (import (../providers + "/${provider}/resource-types.nix") { inherit lib; })
    .${type}.inputs.options.${option}.type;
in
{
  options = {
    state = mkOption {
      type = types.raw;
      description = ''
        The state store member (e.g. `members.state`, a `local.state_file`) of the stateful
        resources (VMs, generated secrets).
      '';
    };

    proxmox = {
      connection = mkOption {
        type = inputType "proxmox" "vm" "connection";
        description = "The Proxmox VE API and its credentials (see the `vm` resource type).";
      };
      node = mkOption {
        type = types.str;
        description = "The node the VMs are created on.";
      };
      template = mkOption {
        type = types.either types.ints.positive types.str;
        description = "The template VM (VMID or name) the VMs are cloned from: a NixOS image with cloud-init and the guest agent.";
      };
      storage = mkOption {
        type = types.str;
        default = "local-lvm";
        description = "PVE storage of the VM disks and the cloud-init drives.";
      };
      bridge = mkOption {
        type = types.str;
        default = "vmbr0";
        description = "Bridge the VMs' network interface is attached to.";
      };
      gateway4 = mkOption {
        type = types.nullOr types.str;
        default = null;
        description = "IPv4 default gateway of VMs with a static IPv4 address.";
      };
      gateway6 = mkOption {
        type = types.nullOr types.str;
        default = null;
        description = "IPv6 default gateway of VMs with a static IPv6 address.";
      };
      nameservers = mkOption {
        type = types.listOf types.str;
        default = [ ];
        description = "DNS servers the VMs use (cloud-init).";
      };
    };

    postgresql = {
      connection = mkOption {
        type = inputType "postgresql" "role" "connection";
        description = "How the deployer reaches the PostgreSQL server, as a role that may create roles and databases.";
      };
      address = mkOption {
        type = types.str;
        description = "Host name or address of the PostgreSQL server as the applications reach it.";
      };
      port = mkOption {
        type = types.port;
        default = 5432;
        description = "Port of the PostgreSQL server as the applications reach it.";
      };
    };

    garage = {
      connection = mkOption {
        type = inputType "garage" "bucket" "connection";
        description = "How the deployer reaches Garage's admin API (see the `bucket` resource type).";
      };
      s3Endpoint = mkOption {
        type = types.str;
        description = "URL of Garage's S3 API as the applications reach it, e.g. `https://s3.example.org`.";
      };
    };

    dns = {
      server = mkOption {
        type = inputType "dns" "record" "server";
        description = "The primary server of `zone` and the TSIG key allowed to update it.";
      };
      zone = mkOption {
        type = types.str;
        description = "The zone the applications' names are in, e.g. `example.org`.";
      };
    };

    secrets.directory = mkOption {
      type = types.str;
      default = ".nixops4-secrets";
      description = "Directory on the deployer holding the generated secrets (the `secret` type's `directory`).";
    };

    keysDirectory = mkOption {
      type = types.str;
      default = "/var/lib/nixops4-keys";
      description = "Directory on the VMs under which each application's secrets are delivered (`<keysDirectory>/<name>/`).";
    };

    ssh = {
      identityFile = mkOption {
        type = types.str;
        description = "Path of the deployer's SSH private key; it logs in to the VMs to deliver secrets and switch NixOS.";
      };
      publicKey = mkOption {
        type = types.str;
        description = "The public key of `identityFile`, authorised on the VMs through cloud-init.";
      };
      user = mkOption {
        type = types.str;
        default = "root";
        description = "User the deployer logs in to the VMs as.";
      };
      port = mkOption {
        type = types.port;
        default = 22;
        description = "Port of the VMs' SSH servers.";
      };
      address = mkOption {
        type = types.nullOr types.str;
        default = null;
        description = "Address the deployer reaches every VM's SSH server at (a port-forwarding gateway, a tunnel); null: each VM's first IPv4 address.";
      };
    };
  };
}
