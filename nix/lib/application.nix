# The application unit: a NixOps4 composite component that gives one application everything it
# needs on a shared cluster, wired output to input:
#
#   vm            a Proxmox VM cloned from the cluster's NixOS template; its addresses and SSH
#                 host key (read through the guest agent) are outputs
#   a, aaaa       DNS records <hostName>.<zone> holding the VM's addresses
#   dbPassword    a generated password (secret store; never in state)
#   dbRole        a PostgreSQL role with that password; database, owned by the role
#   media         a Garage bucket; mediaKey, an access key; mediaAccess, its read/write grant
#   dbPasswordKey, mediaSecretKey
#                 the two secrets delivered to the VM over SSH (checked against the VM's host
#                 key), root-owned 0400 files under `keysDirectory`
#   nixos         the VM's NixOS configuration, applied by nixops4-nixos (when
#                 `nixos.component` is given), seeing all of the above as `application`
#
# Use it as a member of a deployment: `members.<name> = { imports = [ units.application ];
# application = { cluster = config.cluster; name = "..."; ... }; };`.
{ providerModules, localProvider }:
{
  config,
  lib,
  providers,
  members,
  ...
}:
let
  inherit (lib) mkOption types;
  cfg = config.application;
  inherit (cfg) cluster;
  vm = members.vm.outputs;
  fqdn = "${cfg.hostName}.${cluster.dns.zone}";
  # The VM as the deployer reaches it over SSH, with the one host key it must present.
  sshTarget = {
    address =
      if cluster.ssh.address != null then
        cluster.ssh.address
      else if vm.ipv4Addresses == [ ] then
        throw "application ${cfg.name}: the VM reports no IPv4 address (is its guest agent running?)"
      else
        builtins.head vm.ipv4Addresses;
    inherit (cluster.ssh) port user identityFile;
    hostPublicKey = vm.sshHostPublicKey;
  };
  delivery = source: fingerprint: file: {
    type = providers.secrets.delivery;
    inputs = {
      inherit source fingerprint;
      host = sshTarget;
      path = "${cfg.keysDirectory}/${file}";
      inherit (cfg.keys) owner group mode;
    };
  };
in
{
  options.application = {
    cluster = mkOption {
      type = types.submodule ./cluster.nix;
      description = "The shared servers (usually `config.cluster` of the deployment).";
    };
    name = mkOption {
      type = types.strMatching "[a-z][a-z0-9-]{0,30}";
      description = "Short name of the application: the VM's name and the prefix of its database, bucket, key and secrets.";
      example = "social";
    };
    hostName = mkOption {
      type = types.str;
      default = cfg.name;
      defaultText = lib.literalExpression "config.application.name";
      description = "Name of the application in the cluster's DNS zone; it gets the VM's addresses.";
    };
    vm = {
      cores = mkOption {
        type = types.ints.positive;
        default = 2;
        description = "CPU cores of the VM.";
      };
      memory = mkOption {
        type = types.ints.positive;
        default = 4096;
        description = "Memory of the VM in MiB.";
      };
      diskSize = mkOption {
        type = types.ints.positive;
        default = 32;
        description = "Size of the VM's disk in GiB (disks only grow).";
      };
      ipv4 = mkOption {
        type = types.str;
        default = "dhcp";
        description = ''`"dhcp"`, or a static address with prefix, e.g. `192.0.2.21/24` (with the cluster's `gateway4`).'';
      };
      ipv6 = mkOption {
        type = types.nullOr types.str;
        default = null;
        description = "A static IPv6 address with prefix (with the cluster's `gateway6`); it also adds the AAAA record. Null: no IPv6.";
      };
      extraInputs = mkOption {
        type = types.attrsOf types.anything;
        default = { };
        description = "Further inputs of the `vm` resource (e.g. `tags`, `pool`), merged over the unit's.";
      };
    };
    database = {
      name = mkOption {
        type = types.str;
        default = builtins.replaceStrings [ "-" ] [ "_" ] cfg.name;
        defaultText = lib.literalMD "the application's name, `-` replaced by `_`";
        description = "Name of the PostgreSQL database.";
      };
      user = mkOption {
        type = types.str;
        default = cfg.database.name;
        defaultText = lib.literalExpression "config.application.database.name";
        description = "Name of the PostgreSQL role owning the database.";
      };
    };
    media.bucket = mkOption {
      type = types.str;
      default = "${cfg.name}-media";
      defaultText = lib.literalExpression ''"''${config.application.name}-media"'';
      description = "Global alias (bucket name) of the media bucket in Garage.";
    };
    keysDirectory = mkOption {
      type = types.str;
      default = "${cluster.keysDirectory}/${cfg.name}";
      defaultText = lib.literalExpression ''"''${config.application.cluster.keysDirectory}/''${config.application.name}"'';
      description = "Directory on the VM the secrets are delivered to.";
    };
    keys = {
      owner = mkOption {
        type = types.str;
        default = "root";
        description = ''
          Owner of the delivered secret files. Root (the default) works before the application's
          user exists: services read the files with systemd's `LoadCredential=`.
        '';
      };
      group = mkOption {
        type = types.str;
        default = "root";
        description = "Group of the delivered secret files.";
      };
      mode = mkOption {
        type = types.str;
        default = "0400";
        description = "Mode of the delivered secret files.";
      };
    };
    nixos = {
      component = mkOption {
        type = types.nullOr types.raw;
        default = null;
        description = "nixops4-nixos's component module (`inputs.nixops4-nixos.modules.nixops4Component.nixos`); null: the VM's NixOS configuration is not deployed.";
      };
      nixpkgs = mkOption {
        type = types.raw;
        default = null;
        description = "The nixpkgs (flake or source with `lib.nixosSystem`) the VM's NixOS is built from.";
      };
      module = mkOption {
        type = types.deferredModule;
        default = { };
        description = "The application's NixOS module. It receives the resolved `application` settings (see `settings`) as a module argument.";
      };
    };
    settings = mkOption {
      type = types.raw;
      readOnly = true;
      description = ''
        What the application's NixOS configuration needs, from the resources' outputs:
        `name`, `domain`, `addresses.{ipv4,ipv6}`, `database.{host,port,name,user,passwordFile,passwordFingerprint}`,
        `media.{bucket,endpoint,region,accessKeyId,secretKeyFile}`. The files are paths on the VM.
      '';
    };
  };

  config = {
    providers = providerModules // {
      local = localProvider;
    };

    application.settings = {
      inherit (cfg) name;
      domain = fqdn;
      addresses = {
        ipv4 = vm.ipv4Addresses;
        ipv6 = vm.ipv6Addresses;
      };
      database = {
        host = cluster.postgresql.address;
        inherit (cluster.postgresql) port;
        name = members.database.outputs.name;
        user = members.dbRole.outputs.name;
        passwordFile = members.dbPasswordKey.outputs.path;
        passwordFingerprint = members.dbPasswordKey.outputs.fingerprint;
      };
      media = {
        bucket = builtins.head members.media.outputs.globalAliases;
        endpoint = cluster.garage.s3Endpoint;
        region = cluster.garage.connection.s3Region;
        accessKeyId = members.mediaAccess.outputs.accessKeyId;
        secretKeyFile = members.mediaSecretKey.outputs.path;
      };
    };

    members = lib.mkMerge [
      {
        vm = {
          type = providers.proxmox.vm;
          state = cluster.state;
          inputs = lib.mkMerge [
            {
              inherit (cluster.proxmox) connection node;
              inherit (cfg) name;
              clone = {
                inherit (cluster.proxmox) template storage;
              };
              inherit (cfg.vm) cores memory;
              disks = [
                {
                  slot = "scsi0";
                  inherit (cluster.proxmox) storage;
                  size = cfg.vm.diskSize;
                }
              ];
              networks = [ { inherit (cluster.proxmox) bridge; } ];
              cloudInit = {
                inherit (cluster.proxmox) storage nameservers;
                inherit (cluster.ssh) user;
                sshPublicKeys = [ cluster.ssh.publicKey ];
                searchDomain = cluster.dns.zone;
                ipConfig = [
                  {
                    inherit (cfg.vm) ipv4 ipv6;
                    gateway4 = if cfg.vm.ipv4 == "dhcp" then null else cluster.proxmox.gateway4;
                    gateway6 = if cfg.vm.ipv6 == null then null else cluster.proxmox.gateway6;
                  }
                ];
              };
            }
            cfg.vm.extraInputs
          ];
        };

        a = {
          type = providers.dns.record;
          # Stateful: when the VM's addresses change, the record set written before is updated.
          state = cluster.state;
          inputs = {
            inherit (cluster.dns) server zone;
            name = cfg.hostName;
            type = "A";
            values = vm.ipv4Addresses;
          };
        };

        dbPassword = {
          type = providers.secrets.secret;
          state = cluster.state;
          inputs = {
            name = "${cfg.name}-db-password";
            kind = "password";
            symbols = false;
            inherit (cluster.secrets) directory;
          };
        };

        dbRole = {
          type = providers.postgresql.role;
          inputs = {
            inherit (cluster.postgresql) connection;
            name = cfg.database.user;
            login = true;
            passwordFile = members.dbPassword.outputs.path;
          };
        };

        database = {
          type = providers.postgresql.database;
          inputs = {
            inherit (cluster.postgresql) connection;
            inherit (cfg.database) name;
            owner = members.dbRole.outputs.name;
          };
        };

        media = {
          type = providers.garage.bucket;
          inputs = {
            inherit (cluster.garage) connection;
            globalAliases = [ cfg.media.bucket ];
          };
        };

        mediaKey = {
          type = providers.garage.key;
          inputs = {
            inherit (cluster.garage) connection;
            name = "${cfg.name}-media";
            inherit (cluster.secrets) directory;
          };
        };

        mediaAccess = {
          type = providers.garage.permission;
          inputs = {
            inherit (cluster.garage) connection;
            bucket = members.media.outputs.bucketId;
            accessKeyId = members.mediaKey.outputs.accessKeyId;
            read = true;
            write = true;
          };
        };

        dbPasswordKey =
          delivery members.dbPassword.outputs.path members.dbPassword.outputs.fingerprint
            "db-password";

        # The access key id stands for the secret key: a new key has a new id.
        mediaSecretKey =
          delivery members.mediaKey.outputs.secretKeyFile members.mediaKey.outputs.accessKeyId
            "media-secret-key";
      }

      (lib.mkIf (cfg.vm.ipv6 != null) {
        aaaa = {
          type = providers.dns.record;
          # Stateful: when the VM's addresses change, the record set written before is updated.
          state = cluster.state;
          inputs = {
            inherit (cluster.dns) server zone;
            name = cfg.hostName;
            type = "AAAA";
            values = vm.ipv6Addresses;
          };
        };
      })

      (lib.mkIf (cfg.nixos.component != null) {
        nixos = {
          type = providers.local.exec;
          imports = [ cfg.nixos.component ];
          inherit (cfg.nixos) nixpkgs;
          nixos.module = cfg.nixos.module;
          nixos.specialArgs.application = cfg.settings;
          ssh = {
            host = sshTarget.address;
            inherit (sshTarget) user hostPublicKey;
            opts = "-i ${cluster.ssh.identityFile} -p ${toString cluster.ssh.port}";
          };
        };
      })
    ];
  };
}
