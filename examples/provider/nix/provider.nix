# The NixOps4 provider module of the example provider. Its `resourceTypes` are generated from the
# Python models by `python generate.py`; `executable` is the provider program (your package's).
{ executable }:
{ lib, ... }:
{
  _class = "nixops4Provider";
  name = "Example";
  description = "An example provider: text files, memos and a file-backed state store.";
  sourceBaseUrl = "https://example.invalid/src";
  sourceName = "example";
  inherit executable;
  resourceTypes = import ./resource-types.nix { inherit lib; };
}
