# NixOps4 provider module for Garage; its resource types are generated from the Python models.
{ packagesFor }:
import ./mk-provider.nix { inherit packagesFor; } {
  name = "garage";
  title = "Garage";
  description = ''
    Garage buckets (global aliases, quotas, website, CORS and lifecycle rules), access keys whose
    secret is delivered as a file and kept out of NixOps4 state, and the exact permissions of keys
    on buckets, through Garage's admin API v2 (Garage >= 2.0).
  '';
}
