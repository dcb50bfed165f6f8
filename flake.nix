# A thin adapter over nix/default.nix for flake users. The flake has no inputs: npins/ is the only
# pin, so there is no flake.lock to drift from it. To build with your own nixpkgs instead of the
# pinned one, use `lib.withNixpkgs`:
#
#   (inputs.nixops4-providers.lib.withNixpkgs inputs.nixpkgs).modules.nixops4Provider.postgresql
{
  description = "NixOps4 resource providers for PostgreSQL, DNS (RFC 2136) and generated secrets";

  outputs =
    { self }:
    let
      systems = [
        "x86_64-linux"
        "aarch64-linux"
        "x86_64-darwin"
        "aarch64-darwin"
      ];
      forAllSystems = f: builtins.listToAttrs (map (system: { name = system; value = f system; }) systems);

      # nix/default.nix for a system; `pkgsFor` picks the nixpkgs (default: the npins pin).
      outputsFor = arguments: system: import ./nix (arguments // { inherit system; });

      flakeOutputs = arguments: {
        packages = forAllSystems (
          system:
          let
            packages = (outputsFor arguments system).packages;
          in
          packages // { default = packages.nixops4-providers; }
        );
        checks = forAllSystems (system: (outputsFor arguments system).checks);
        devShells = forAllSystems (system: {
          default = (outputsFor arguments system).shell;
        });
        # Provider modules are system independent: NixOps4 picks the executable's system.
        modules.nixops4Provider = (outputsFor arguments "x86_64-linux").modules.nixops4Provider;
      };
    in
    flakeOutputs { }
    // {
      lib.withNixpkgs =
        nixpkgs:
        flakeOutputs {
          pkgsFor = system: nixpkgs.legacyPackages.${system};
        };
    };
}
