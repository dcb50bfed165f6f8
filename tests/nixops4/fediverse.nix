# examples/fediverse as `nixops4 apply --file` loads it in the tests: NixOps4's root component,
# with the providers' executables taken from the test environment instead of Nix packages. The
# NixOS members are left out (`nixos = null`): the real nixops4 would run them, and they need a
# real host. The test writes a one-line file importing this one with its arguments.
{
  # JSON: the example's `site` (tests/support/local_cluster.py).
  site,
  # Directory with bin/nixops4-<provider> (the virtual environment).
  providersPrefix,
  # Directory with bin/nixops4-resources-local (NixOps4's local provider).
  localPrefix,
  # JSON: definitions added over the example's, at the highest priority (a changed input).
  overrides ? "{}",
  sources ? import ../../npins,
}:
let
  lib = import (sources.nixpkgs.outPath + "/lib");
  nixops4Lib = import (sources.nixops4.outPath + "/nix/lib/lib.nix") {
    inherit lib;
    self = throw "tests/nixops4/fediverse.nix: the nixops4 flake is not available";
    selfWithSystem = throw "tests/nixops4/fediverse.nix: the nixops4 flake is not available";
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
      packagesFor =
        _:
        lib.genAttrs (map (p: "nixops4-${p}") [
          "dns"
          "garage"
          "postgresql"
          "proxmox"
          "secrets"
        ]) package;
    };
    localProvider = import (sources.nixops4.outPath + "/nix/providers/local.nix") {
      withSystem = _: f: f { config.packages.nixops4-resources-local-release = localPrefix; };
    };
  };
in
mkDeployment [
  (import ../../examples/fediverse { site = builtins.fromJSON site; })
  (lib.mapAttrsRecursive (_: lib.mkForce) (builtins.fromJSON overrides))
]
