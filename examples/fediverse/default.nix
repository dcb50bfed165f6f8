# Two fediverse applications on one Proxmox VE cluster: Mastodon at social.<zone> and GoToSocial
# at microblog.<zone>. They share one PostgreSQL server, one Garage and one DNS zone; each gets
# its own VM, DNS records, database and role (with a generated password), media bucket and key,
# its secrets delivered to its VM, and its NixOS configuration.
#
# Apply with nixops4 (see docs/deployments.md), or run it locally with `bash scripts/demo`.
{
  # The operator's servers and addresses (./site.nix); scripts/demo passes local ones.
  site ? import ./site.nix,
  # nixops4-nixos (`{ component; nixpkgs; }`) to deploy the VMs' NixOS configurations; null
  # makes the resources only.
  nixos ? null,
}:
{
  config,
  providers,
  members,
  units,
  ...
}:
let
  # The NixOS configuration of an application's VM, when nixops4-nixos is given.
  nixosOf =
    module:
    if nixos == null then
      { }
    else
      {
        inherit (nixos) component nixpkgs;
        inherit module;
      };
in
{
  imports = [ units.cluster ];

  # Deployment state (VMs, generated secrets) in a file beside the deployment.
  members.state = {
    type = providers.local.state_file;
    inputs.name = "fediverse-state.json";
  };

  # The shared servers, declared once.
  cluster = site.cluster // {
    state = members.state;
  };

  members.social = {
    imports = [ units.application ];
    application = {
      inherit (config) cluster;
      name = "social";
      vm = {
        cores = 4;
        memory = 8192;
        diskSize = 64;
        inherit (site.addresses.social) ipv4 ipv6;
      };
      nixos = nixosOf ./mastodon.nix;
    };
  };

  members.microblog = {
    imports = [ units.application ];
    application = {
      inherit (config) cluster;
      name = "microblog";
      vm = {
        cores = 2;
        memory = 2048;
        inherit (site.addresses.microblog) ipv4 ipv6;
      };
      nixos = nixosOf ./gotosocial.nix;
    };
  };
}
