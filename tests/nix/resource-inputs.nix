# The inputs NixOps4 would send for resources declared with a provider module, as JSON: each
# member `<type>` of the root declares one resource of that type with the given inputs, evaluated
# by NixOps4's own `mkRoot` / `rootFunction`. Types that require state get the local provider's
# `state_file` as their state.
#
#   nix-instantiate --eval --strict --json tests/nix/resource-inputs.nix \
#     --arg provider '<path of a provider module>' --argstr declarations '{"<type>": {...}}'
#
# nixpkgs' `lib` and NixOps4's sources come from the pins (overridable with NPINS_OVERRIDE_nixpkgs
# and NPINS_OVERRIDE_nixops4; the nixpkgs pin may point at a nixpkgs.lib checkout).
{
  provider,
  declarations,
  sources ? import ../../npins,
}:
let
  lib = import (sources.nixpkgs.outPath + "/lib");
  nixops4Lib = import (sources.nixops4.outPath + "/nix/lib/lib.nix") {
    inherit lib;
    self = throw "resource-inputs.nix: the nixops4 flake is not available";
    selfWithSystem = throw "resource-inputs.nix: the nixops4 flake is not available";
  };
  localProvider = import (sources.nixops4.outPath + "/nix/providers/local.nix") {
    withSystem = throw "resource-inputs.nix: no provider executables";
  };
  resources = builtins.fromJSON declarations;

  root = nixops4Lib.mkRoot {
    modules = [
      (
        { providers, members, ... }:
        {
          providers.tested = provider;
          providers.local = localProvider;
          members = {
            "state file" = {
              type = providers.local.state_file;
              inputs.name = "state.json";
            };
          }
          // builtins.mapAttrs (typeName: inputs: {
            type = providers.tested.${typeName};
            inherit inputs;
            state = if providers.tested.${typeName}.requireState then members."state file" else null;
          }) resources;
        }
      )
    ];
  };
  exported = root.rootFunction {
    resourceProviderSystem = builtins.currentSystem;
    outputValues = { };
  };
in
builtins.mapAttrs (typeName: _: exported.members.${typeName}.resource.inputs) resources
