# Builds a NixOps4 provider module (`_class = "nixops4Provider"`) from a provider's name, its
# descriptions and its generated resource types (./<name>/resource-types.nix).
{ packagesFor }:
{
  name,
  title,
  description,
}:
{ lib, resourceProviderSystem, ... }:
{
  _class = "nixops4Provider";
  _file = ./. + "/${name}.nix";
  name = title;
  inherit description;
  sourceBaseUrl = "https://github.com/nixops4-providers/nixops4-providers/tree/main";
  sourceName = "nixops4-providers";
  executable = lib.getExe (packagesFor resourceProviderSystem)."nixops4-${name}";
  resourceTypes = import (./. + "/${name}/resource-types.nix") { inherit lib; };
}
