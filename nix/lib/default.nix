# The deployment library: NixOps4 components composing this repository's resource types into
# units. `mkDeployment` passes it to every deployment as the module argument `units`.
#
#   cluster      a root module declaring the option `cluster`: the servers applications share
#   application  a composite component: VM, DNS records, database, bucket, secrets on the VM,
#                and the VM's NixOS configuration (./application.nix)
{ providerModules, localProvider }:
{
  cluster =
    { lib, ... }:
    {
      options.cluster = lib.mkOption {
        type = lib.types.submodule ./cluster.nix;
        description = "The servers the deployment's applications share, declared once.";
      };
    };

  application = import ./application.nix { inherit providerModules localProvider; };
}
