# The NixOps4 provider modules of this repository (`modules.nixops4Provider.<name>`).
#
# `packagesFor` maps a system (NixOps4's `resourceProviderSystem`) to this repository's packages
# for that system. It is called only when NixOps4 needs a provider's executable, so the modules
# also evaluate where nothing can be built (documentation, evaluation tests).
#
# To add a provider: write ./<name>.nix like the others, list it here, add it to
# `nixops4_providers.PROVIDERS` and run `scripts/generate.py`, which creates
# ./<name>/resource-types.nix.
{ packagesFor }:
let
  provider = file: import file { inherit packagesFor; };
in
{
  dns = provider ./dns.nix;
  garage = provider ./garage.nix;
  postgresql = provider ./postgresql.nix;
  proxmox = provider ./proxmox.nix;
  secrets = provider ./secrets.nix;
}
