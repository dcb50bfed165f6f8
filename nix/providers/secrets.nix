# NixOps4 provider module for generated secrets; its resource types are generated from the
# Python models.
{ packagesFor }:
import ./mk-provider.nix { inherit packagesFor; } {
  name = "secrets";
  title = "Secrets";
  description = ''
    Generated secrets (passwords, tokens, SSH, WireGuard and TSIG keys) kept in a secret store
    on the deployer machine or, encrypted, in PostgreSQL; never in NixOps4 state, logs or the
    Nix store.
  '';
}
