# The inputs NixOps4 would send for each resource of the example deployment
# (examples/small.nix), evaluated by NixOps4's `mkRoot` / `rootFunction` with the outputs
# of earlier resources injected as nixops4 does: `{ <member> = { type; state; inputs; }; }`.
{
  outputValues,
  # JSON of the example's arguments (servers, zone, address); the defaults only evaluate.
  settings ? builtins.toJSON {
    dns = {
      address = "192.0.2.53";
      keyName = "deployer";
      secretFile = "/etc/tsig-secret";
    };
    zone = "example.test";
    databaseAddress = "192.0.2.10";
  },
  sources ? import ../../npins,
}:
let
  lib = import (sources.nixpkgs.outPath + "/lib");
  nixops4Lib = import (sources.nixops4.outPath + "/nix/lib/lib.nix") {
    inherit lib;
    self = throw "example-deployment.nix: the nixops4 flake is not available";
    selfWithSystem = throw "example-deployment.nix: the nixops4 flake is not available";
  };
  mkDeployment = import ../../nix/deployment {
    inherit nixops4Lib;
    providerModules = import ../../nix/providers {
      packagesFor = throw "example-deployment.nix: no provider executables";
    };
    localProvider = import (sources.nixops4.outPath + "/nix/providers/local.nix") {
      withSystem = throw "example-deployment.nix: no provider executables";
    };
  };
  root = mkDeployment [
    (import ../../examples/small.nix (builtins.fromJSON settings))
  ];
  exported = root.rootFunction {
    resourceProviderSystem = builtins.currentSystem;
    outputValues = builtins.fromJSON outputValues;
  };
in
builtins.mapAttrs (_: member: {
  inherit (member.resource) type state inputs;
}) exported.members
