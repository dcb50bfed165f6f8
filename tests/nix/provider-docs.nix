# NixOps4's own renderProviderDocs (nix/render-provider-docs/package.nix of the nixops4 pin),
# evaluated for a provider module as far as evaluation goes. Building the Markdown needs a full
# nixpkgs and a Nix store, so the builders are replaced: `nixosOptionsDoc` by what nixpkgs'
# make-options-doc evaluates (`lib.optionAttrSetToDocList`, visible options, `transformOptions`),
# its CommonMark by the option list as JSON between OPTIONS< and >OPTIONS, and `runCommand` /
# `writeText` by the text they would build, as JSON between PAGE< and >PAGE.
#
#   nix-instantiate --eval --strict --json tests/nix/provider-docs.nix --arg provider '<module>'
{
  provider,
  sources ? import ../../npins,
}:
let
  lib = import (sources.nixpkgs.outPath + "/lib");

  nixosOptionsDoc =
    {
      options,
      transformOptions ? lib.id,
    }:
    let
      visible = lib.filter (o: o.visible && !o.internal) (lib.optionAttrSetToDocList options);
      optionsNix = builtins.listToAttrs (
        map (o: {
          inherit (o) name;
          value = removeAttrs o [
            "name"
            "visible"
            "internal"
          ];
        }) (map transformOptions visible)
      );
    in
    {
      inherit optionsNix;
      optionsCommonMark.overrideAttrs = _: "OPTIONS<${builtins.toJSON optionsNix}>OPTIONS";
    };

  built = name: text: { outPath = "PAGE<${builtins.toJSON { inherit name text; }}>PAGE"; };

  docs = import (sources.nixops4.outPath + "/nix/render-provider-docs/package.nix") {
    inherit lib nixosOptionsDoc;
    self.outPath = toString sources.nixops4.outPath;
    providerModule = provider;
    runCommand = name: _: script: built name script;
    writeText = built;
  };
in
docs.outPath
