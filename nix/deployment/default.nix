# A NixOps4 root (`mkRoot`) with this repository's providers and NixOps4's local provider
# declared, and the given component modules (e.g. ../../examples/small.nix) as its members.
# The modules receive the deployment library (../lib) as the module argument `units`.
{
  # NixOps4's `lib` (`nix/lib/lib.nix` of the nixops4 pin, or the nixops4 flake's `lib`).
  nixops4Lib,
  # `modules.nixops4Provider` of this repository.
  providerModules,
  # NixOps4's `local` provider module (its `state_file` keeps the deployment state).
  localProvider,
}:
modules:
nixops4Lib.mkRoot {
  specialArgs.units = import ../lib { inherit providerModules localProvider; };
  modules = [
    {
      providers = providerModules // {
        local = localProvider;
      };
    }
  ]
  ++ modules;
}
