# NixOS VM test: `nixops4 apply` of the example deployment (../../examples/small.nix) from a
# deployer machine against PostgreSQL and Knot running on a server machine: a generated password,
# a PostgreSQL role using it, a database owned by the role, a DNS record. A second apply must
# change nothing.
#
# The deployment expression is evaluated by nixops4 inside the VM, offline: it refers to the
# pinned sources and the provider packages by store path.
{
  packages,
  sources,
  nixops4,
}:
{ pkgs, lib, ... }:
let
  tsigSecret = "3Q2+7xh0N7nT5f0gYH2e6Zt3pU9cZr1f9W0dK7m5QkE=";

  # The provider packages as NixOps4's provider modules use them, by store path.
  packagesByPath = pkgs.writeText "provider-packages.nix" ''
    _system: {
      ${lib.concatMapStrings (name: ''
        "${name}" = {
          type = "derivation";
          name = "${name}";
          outPath = "${packages.${name}}";
          meta.mainProgram = "${packages.${name}.meta.mainProgram}";
        };
      '') (builtins.attrNames packages)}
    }
  '';

  deploymentExpression = pkgs.writeText "nixops4.nix" ''
    let
      lib = import ${sources.nixpkgs.outPath}/lib;
      nixops4Lib = import ${sources.nixops4.outPath}/nix/lib/lib.nix {
        inherit lib;
        self = throw "not needed to apply";
        selfWithSystem = throw "not needed to apply";
      };
      mkDeployment = import ${../.}/deployment {
        inherit nixops4Lib;
        providerModules = import ${../.}/providers { packagesFor = import ${packagesByPath}; };
        localProvider = import ${sources.nixops4.outPath}/nix/providers/local.nix {
          withSystem = _system: f: f {
            config.packages.nixops4-resources-local-release = "${nixops4.nixops4-resources-local-release}";
          };
        };
      };
    in
    mkDeployment [
      (import ${../../examples/small.nix} {
        postgresql = {
          host = "server";
          user = "postgres";
        };
        dns = {
          address = "192.168.1.2";
          keyName = "deployer";
          keyAlgorithm = "hmac-sha256";
          secretFile = "/etc/tsig-secret";
        };
        zone = "example.test";
        databaseAddress = "192.168.1.2";
      })
    ]
  '';
in
{
  name = "nixops4-providers-deployment";

  nodes.server =
    { pkgs, ... }:
    {
      networking.firewall.allowedTCPPorts = [
        53
        5432
      ];
      networking.firewall.allowedUDPPorts = [ 53 ];

      services.postgresql = {
        enable = true;
        enableTCPIP = true;
        authentication = ''
          host all postgres 192.168.1.0/24 trust
          host all all 192.168.1.0/24 scram-sha-256
        '';
      };

      services.knot = {
        enable = true;
        keyFiles = [
          (pkgs.writeText "tsig.conf" ''
            key:
              - id: deployer
                algorithm: hmac-sha256
                secret: ${tsigSecret}
          '')
        ];
        settings = {
          server.listen = [ "0.0.0.0@53" ];
          acl = [
            {
              id = "deployer";
              key = "deployer";
              action = "update";
            }
          ];
          template = [
            {
              id = "default";
              storage = "/var/lib/knot";
              zonefile-sync = "-1";
              zonefile-load = "difference-no-serial";
              journal-content = "all";
            }
          ];
          zone = [
            {
              domain = "example.test";
              file = pkgs.writeText "example.test.zone" ''
                $ORIGIN example.test.
                @ 3600 SOA ns.example.test. admin.example.test. 1 3600 600 86400 300
                @ 3600 NS ns.example.test.
                ns 3600 A 192.168.1.2
              '';
              acl = [ "deployer" ];
            }
          ];
        };
      };
    };

  nodes.deployer =
    { pkgs, ... }:
    {
      environment.systemPackages = [
        nixops4.nixops4
        pkgs.postgresql
        pkgs.knot-dns
      ];
      environment.etc."tsig-secret".text = tsigSecret;
      environment.etc."deployment/nixops4.nix".source = deploymentExpression;
      nix.settings.experimental-features = [ "nix-command" ];
      # Everything the deployment evaluates and runs must be in the VM's store.
      system.extraDependencies = [
        sources.nixpkgs.outPath
        sources.nixops4.outPath
        packagesByPath
      ];
    };

  testScript = ''
    start_all()
    server.wait_for_unit("postgresql.service")
    server.wait_for_unit("knot.service")
    server.wait_for_open_port(5432)
    deployer.wait_for_unit("multi-user.target")

    deployer.succeed("mkdir -p /root/deployment && cp /etc/deployment/nixops4.nix /root/deployment/")
    deployer.succeed("cd /root/deployment && nixops4 apply --no-interactive >&2")

    with subtest("the role logs in with the generated password, into its own database"):
        deployer.succeed(
            "cd /root/deployment && "
            "PGPASSWORD=$(cat $(find .nixops4-secrets -type f -name '*app-db-password*' | head -n 1)) "
            "psql -h server -U app -d app -tAc 'select current_user' | grep -x app"
        )
        server.succeed(
            "sudo -u postgres psql -tAc "
            "\"select pg_get_userbyid(datdba) from pg_database where datname = 'app'\" | grep -x app"
        )

    with subtest("the DNS record is served"):
        deployer.succeed("kdig @192.168.1.2 db.example.test A +short | grep -x 192.168.1.2")

    with subtest("a second apply changes nothing"):
        output = deployer.succeed("cd /root/deployment && nixops4 apply --no-interactive 2>&1")
        assert "Skipping update" in output, output
  '';
}
