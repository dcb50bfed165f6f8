# NixOS VM tests (need KVM): `nix-build -A checks.deployment` from the repository root.
{
  pkgs,
  packages,
  sources,
  # Packages of the nixops4 pin: `nixops4`, `nixops4-resources-local-release`.
  nixops4,
}:
{
  deployment = pkgs.testers.runNixOSTest (
    import ./deployment.nix {
      inherit packages sources nixops4;
    }
  );
}
