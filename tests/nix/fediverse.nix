# The realistic example (examples/fediverse) evaluated by NixOps4's own module system, as
# nixops4 would: `resources` maps each resource's member path (`social.vm`) to its type, state
# and, when they evaluate with the outputs given so far, the inputs NixOps4 would send.
# `nixos` is each application's NixOS configuration, evaluated with nixops4-nixos's real
# component; only what needs a full nixpkgs is replaced (see `nixosSystem` below).
{
  # JSON: the outputs of the resources applied so far, nested like the members.
  outputValues ? "{}",
  # JSON: the example's `site` (servers and addresses); the default is the operator's site.
  site ? null,
  sources ? import ../../npins,
  # A directory holding nixops4-nixos (NPINS_OVERRIDE_nixops4-nixos); null: no NixOS members.
  nixopsNixos ? null,
  # JSON: definitions added over the example's, at the highest priority (a changed input).
  overrides ? "{}",
  # A resource path: evaluate only its inputs, without catching the error (to show it).
  explain ? null,
}:
let
  lib = import (sources.nixpkgs.outPath + "/lib");
  nixops4Lib = import (sources.nixops4.outPath + "/nix/lib/lib.nix") {
    inherit lib;
    self = throw "fediverse.nix: the nixops4 flake is not available";
    selfWithSystem = throw "fediverse.nix: the nixops4 flake is not available";
  };
  providerModules = import ../../nix/providers {
    packagesFor = throw "fediverse.nix: no provider executables";
  };
  localProvider = import (sources.nixops4.outPath + "/nix/providers/local.nix") {
    withSystem = _: _: "/nix/store/00000000000000000000000000000000-nixops4-resources-local";
  };
  mkDeployment = import ../../nix/deployment {
    inherit nixops4Lib providerModules localProvider;
  };

  # Building a NixOS system needs all of nixpkgs; here its module evaluation stands in: the
  # application's module and nixops4-nixos's, over a free-form configuration, with the
  # `system.build.toplevel` a build would produce.
  nixosSystem =
    { modules, specialArgs }:
    lib.evalModules {
      inherit specialArgs;
      modules = modules ++ [
        (
          { config, ... }:
          {
            freeformType = lib.types.lazyAttrsOf lib.types.anything;
            config.system.build.toplevel = "/nix/store/00000000000000000000000000000000-nixos-system-${config.networking.hostName}";
          }
        )
      ];
    };
  nixos =
    if nixopsNixos == null then
      null
    else
      {
        component = import (nixopsNixos + "/modules/nixops4Resource/nixos.nix") {
          # The flake's own parts the component uses: its NixOS `apply` module (which adds a
          # build step) and bash from the deployer's packages.
          self.modules.nixos.apply = { };
          withSystem = _: f: f {
            pkgs.bash = {
              type = "derivation";
              outPath = "/nix/store/00000000000000000000000000000000-bash";
              meta.mainProgram = "bash";
            };
          };
        };
        nixpkgs.lib = lib // {
          inherit nixosSystem;
        };
      };

  example = import ../../examples/fediverse (
    {
      inherit nixos;
    }
    // lib.optionalAttrs (site != null) { site = builtins.fromJSON site; }
  );
  changes = lib.mapAttrsRecursive (_: lib.mkForce) (builtins.fromJSON overrides);
  root = mkDeployment [
    example
    changes
  ];
  system = "x86_64-linux";

  # The outputs of every resource, as nixops4 offers them: those applied so far, and for the
  # others a value that fails when read (nixops4 would apply that resource first). The tree
  # of members does not depend on outputs, so it is read with none.
  tree = root.rootFunction {
    resourceProviderSystem = system;
    outputValues = { };
  };
  offered =
    path: component: given:
    lib.mapAttrs (
      name: member:
      if member ? resource then
        given.${name} or (throw "not applied yet: ${lib.concatStringsSep "." (path ++ [ name ])}")
      else
        offered (path ++ [ name ]) member (given.${name} or { })
    ) component.members;
  arguments = {
    resourceProviderSystem = system;
    outputValues = offered [ ] tree (builtins.fromJSON outputValues);
  };

  # Every resource of a component's export, by dotted member path.
  flatten =
    prefix: component:
    lib.concatMapAttrs (
      name: member:
      let
        path = prefix ++ [ name ];
      in
      if member ? resource then
        { ${lib.concatStringsSep "." path} = member.resource; }
      else
        flatten path member
    ) component.members;

  resources = lib.mapAttrs (
    _: resource:
    let
      inputs = builtins.tryEval (builtins.deepSeq resource.inputs resource.inputs);
    in
    {
      inherit (resource) type state;
      ready = inputs.success;
      inputs = if inputs.success then inputs.value else null;
    }
  ) (flatten [ ] (root.rootFunction arguments));

  configuration = nixops4Lib.evalRoot {
    prefix = [ ];
    specialArgs.units = import ../../nix/lib { inherit providerModules localProvider; };
    modules = [
      (sources.nixops4.outPath + "/nix/component/base-modules.nix")
      { providers = providerModules // { local = localProvider; }; }
      example
      changes
    ];
  } arguments;
  application = name: configuration.config.members.${name};
in
if explain != null then
  (flatten [ ] (root.rootFunction arguments)).${explain}.inputs
else
{
  inherit resources;
  # For the members named in `applications` (their NixOS inputs must be ready): the unit's
  # settings and the NixOS configuration's values.
  nixos = lib.genAttrs [ "social" "microblog" ] (
    name:
    let
      tried = builtins.tryEval (
        builtins.deepSeq (application name).application.settings (application name).application.settings
      );
    in
    if !tried.success || nixos == null then
      null
    else
      {
        settings = tried.value;
        inherit ((application name).members.nixos) ssh;
        config = builtins.removeAttrs (application name).members.nixos.nixos.configuration.config [
          "_module"
        ];
      }
  );
}
