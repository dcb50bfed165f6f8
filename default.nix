# See nix/default.nix.
import ./nix
