# The evaluation behind the evaluator bridge (tests/nixops4/eval_bridge.py): a root component
# file evaluated as nixops4-eval does (`rootFunction` applied to its own fixpoint, outputs fed
# back), with Debian's Nix instead of Nix's C API. An output not known yet throws a marker naming
# it, which the bridge turns into the `Needs` answer of NixOps4's evaluator protocol.
{
  # Absolute path of the file given to `nixops4 apply --file`.
  file,
  # JSON: { "<JSON list of the resource's component path>" = { <output name> = <value>; }; }.
  outputsJson,
  # JSON: null for a snapshot of everything (each item tried on its own), or one item to evaluate
  # without a try: { path = [ ... ]; what = "members" | "kind" | "info" | "inputNames" | "input";
  # input = <name>; }.
  probeJson ? "null",
}:
let
  known = builtins.fromJSON outputsJson;
  probe = builtins.fromJSON probeJson;
  root = import file;

  loadMemberOutput =
    path: name: attr: _:
    let
      key = builtins.toJSON (path ++ [ name ]);
    in
    if known ? ${key} && known.${key} ? ${attr} then
      known.${key}.${attr}
    else
      throw "__nixops4_bridge_needs_#${
        builtins.toJSON {
          resource = path ++ [ name ];
          name = attr;
        }
      }#";

  # As nixops4-eval's `makeMemberOutputs`: the output values of each member, by component path.
  makeMemberOutputs =
    path: export:
    builtins.mapAttrs (
      name: memberExport:
      if memberExport ? resource then
        builtins.mapAttrs (loadMemberOutput path name) (
          memberExport.resource.outputsSkeleton
            or (throw "Resource ${name} does not declare its outputs via outputsSkeleton.")
        )
      else
        makeMemberOutputs (path ++ [ name ]) memberExport
    ) (export.members or { });

  fixpoint =
    assert root._type == "nixops4Component";
    root.rootFunction {
      resourceProviderSystem = builtins.currentSystem;
      outputValues = makeMemberOutputs [ ] fixpoint;
    };

  attempt =
    value:
    let
      result = builtins.tryEval (builtins.deepSeq value value);
    in
    if result.success then { inherit (result) value; } else { failed = true; };

  composite = path: export: {
    members =
      let
        names = attempt (builtins.attrNames export.members);
      in
      if names ? failed then
        names
      else
        {
          value = builtins.listToAttrs (
            map (name: {
              inherit name;
              value = member (path ++ [ name ]) export.members.${name};
            }) names.value
          );
        };
  };

  member =
    path: export:
    let
      isResource = attempt (export ? resource);
    in
    if isResource ? failed then
      { kind = isResource; }
    else if isResource.value then
      {
        kind.value = "resource";
        resource = resource export.resource;
      }
    else
      { kind.value = "composite"; } // composite path export;

  resource =
    r:
    let
      inputNames = attempt (builtins.attrNames r.inputs);
    in
    {
      info = attempt { inherit (r) provider type state; };
      inherit inputNames;
      inputs = if inputNames ? failed then { } else builtins.mapAttrs (_: attempt) r.inputs;
    };

  exportAt = path: builtins.foldl' (export: name: export.members.${name}) fixpoint path;

  probed =
    let
      export = exportAt probe.path;
    in
    {
      members = builtins.attrNames export.members;
      kind = if export ? resource then "resource" else "composite";
      info = { inherit (export.resource) provider type state; };
      inputNames = builtins.attrNames export.resource.inputs;
      input = export.resource.inputs.${probe.input};
    }
    .${probe.what};
in
if probe == null then composite [ ] fixpoint else probed
