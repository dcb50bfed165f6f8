# Everything Nix offers for this repository: packages, NixOps4 provider modules, the example
# deployment, checks (NixOS VM tests) and a development shell.
#
#   nix-build -A packages.nixops4-postgresql      nix-build -A checks.deployment
#   nix-shell                                     (import ./. { }).modules.nixops4Provider.dns
#
# The sources come from ../npins (the single source of truth for pins). `pkgsFor` gives the
# package set of a system; pass your own to build everything with your nixpkgs (flake.nix does).
{
  sources ? import ../npins,
  system ? builtins.currentSystem,
  pkgsFor ? (
    system:
    import sources.nixpkgs {
      inherit system;
      config = { };
      overlays = [ ];
    }
  ),
  pkgs ? pkgsFor system,
}:
let
  inherit (pkgs) lib;
  hostSystem = pkgs.stdenv.hostPlatform.system;

  packagesWith = pkgs: pkgs.callPackage ./packages.nix { };
  packages = packagesWith pkgs;
  packagesFor = system: if system == hostSystem then packages else packagesWith (pkgsFor system);

  providerModules = import ./providers { inherit packagesFor; };

  # NixOps4 itself (CLI, resource runner, `lib`, the local provider) from its pin.
  flakeOutputs =
    source:
    (import sources.flake-compat.outPath {
      src = source.outPath;
      system = hostSystem;
    }).outputs;
  nixops4 = flakeOutputs sources.nixops4;
  nixops4Packages = nixops4.packages.${hostSystem};

  mkDeployment = import ./deployment {
    nixops4Lib = nixops4.lib;
    inherit providerModules;
    localProvider = nixops4.modules.nixops4Provider.local;
  };
in
{
  inherit packages sources;

  modules.nixops4Provider = providerModules;

  lib = {
    # `mkDeployment [ modules ]`: a NixOps4 root with every provider of this repository declared.
    inherit mkDeployment;
    # The deployment library (./lib): `units.cluster`, `units.application` (also the module
    # argument `units` of every mkDeployment module).
    units = import ./lib {
      inherit providerModules;
      localProvider = nixops4.modules.nixops4Provider.local;
    };
    # The example deployment (../examples/small.nix) as a component module.
    exampleDeployment = import ../examples/small.nix;
    # The realistic example (../examples/fediverse): `fediverseDeployment { site; nixos; }`.
    fediverseDeployment = import ../examples/fediverse;
  };

  # The provider reference rendered by NixOps4's own renderProviderDocs (tests/nix/
  # test_provider_docs.py evaluates it for every provider).
  docs = lib.mapAttrs (
    name: module:
    nixops4.lib.renderProviderDocs {
      system = hostSystem;
      inherit module;
    }
  ) providerModules;

  checks =
    packages
    // import ./tests {
      inherit pkgs packages sources;
      nixops4 = nixops4Packages;
    };

  shell = pkgs.mkShell {
    packages = [
      (pkgs.python3.withPackages (
        ps:
        packages.nixops4-providers.dependencies
        ++ [
          ps.pytest
          ps.pytest-asyncio
          ps.jsonschema
        ]
      ))
      pkgs.ruff
      pkgs.mypy
      pkgs.postgresql
      pkgs.knot-dns
      pkgs.npins
      pkgs.nixfmt
      nixops4Packages.nixops4
      nixops4Packages.nixops4-resource-runner
    ];
  };
}
