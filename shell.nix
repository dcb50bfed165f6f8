# The development shell of nix/default.nix: `nix-shell`.
{ ... }@arguments: (import ./nix arguments).shell
