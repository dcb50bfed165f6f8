# The example deployment (examples/small.nix) as `nixops4 apply --file` loads it in the
# tests: a file that evaluates to NixOps4's root component, with the providers' executables taken
# from the test environment instead of Nix packages. The test writes a one-line file importing this
# one with its arguments.
{
  # JSON of the example's arguments: postgresql, dns, zone, databaseAddress.
  settings,
  # Directory with bin/nixops4-{postgresql,dns,secrets} (the virtual environment).
  providersPrefix,
  # Directory with bin/nixops4-resources-local (NixOps4's local provider).
  localPrefix,
  # JSON: null to keep the example's local `state_file`, or the inputs of a `postgresql.state`
  # store to keep the state in instead.
  stateStore ? "null",
  # JSON: { <member> = { <input> = <value>; }; }, inputs set on top of the example's.
  inputOverrides ? "{}",
  sources ? import ../../npins,
}:
let
  lib = import (sources.nixpkgs.outPath + "/lib");
  nixops4Lib = import (sources.nixops4.outPath + "/nix/lib/lib.nix") {
    inherit lib;
    self = throw "tests/nixops4/deployment.nix: the nixops4 flake is not available";
    selfWithSystem = throw "tests/nixops4/deployment.nix: the nixops4 flake is not available";
  };
  # What `lib.getExe` needs of a package: its prefix and main program.
  package = name: {
    type = "derivation";
    outPath = providersPrefix;
    meta.mainProgram = name;
  };
  mkDeployment = import ../../nix/deployment {
    inherit nixops4Lib;
    providerModules = import ../../nix/providers {
      packagesFor = _: {
        nixops4-dns = package "nixops4-dns";
        nixops4-postgresql = package "nixops4-postgresql";
        nixops4-secrets = package "nixops4-secrets";
      };
    };
    localProvider = import (sources.nixops4.outPath + "/nix/providers/local.nix") {
      withSystem = _: f: f { config.packages.nixops4-resources-local-release = localPrefix; };
    };
  };
  store = builtins.fromJSON stateStore;
in
mkDeployment (
  [
    (import ../../examples/small.nix (builtins.fromJSON settings))
    {
      members = builtins.mapAttrs (_: inputs: { inherit inputs; }) (
        builtins.fromJSON inputOverrides
      );
    }
  ]
  ++ lib.optional (store != null) (
    { providers, ... }:
    {
      members.state = lib.mkForce {
        type = providers.postgresql.state;
        inputs = store;
      };
    }
  )
)
