# The pinned sources of ./sources.json (npins format, version 5): `import ./npins` gives one
# attribute per pin, the pin's fields plus `outPath`, its source tree fetched with the recorded hash.
#
# Manage the pins with npins (`npins update`, `npins add github <owner> <repo> --branch <b>`); it
# may replace this file by its own generated loader, which reads the same file the same way.
#
# `NPINS_OVERRIDE_<name>=<directory>` (in the name, every character other than a letter or digit
# becomes `_`) replaces a pin by a local directory, e.g. a checkout under development or an export
# used by the evaluation tests.
let
  data = builtins.fromJSON (builtins.readFile ./sources.json);

  characters = text: builtins.genList (i: builtins.substring i 1 text) (builtins.stringLength text);

  envName =
    name:
    "NPINS_OVERRIDE_"
    + builtins.concatStringsSep "" (
      map (c: if builtins.match "[a-zA-Z0-9]" c == null then "_" else c) (characters name)
    );

  repositoryUrl =
    repository:
    if repository.type == "GitHub" then
      "https://github.com/${repository.owner}/${repository.repo}.git"
    else if repository.type == "Git" then
      repository.url
    else
      throw "npins: unsupported repository type ${repository.type}";

  fetch =
    spec:
    if (spec.type == "Git" || spec.type == "GitRelease") && (spec.url or null) != null && !spec.submodules then
      builtins.fetchTarball {
        inherit (spec) url;
        sha256 = spec.hash;
      }
    else if spec.type == "Git" || spec.type == "GitRelease" then
      (builtins.fetchGit {
        url = repositoryUrl spec.repository;
        rev = spec.revision;
        inherit (spec) submodules;
      }).outPath
    else if spec.type == "Channel" || (spec.type == "Tarball") then
      builtins.fetchTarball {
        inherit (spec) url;
        sha256 = spec.hash;
      }
    else
      throw "npins: unsupported pin type ${spec.type}";

  source =
    name: spec:
    let
      override = builtins.getEnv (envName name);
      local = if builtins.substring 0 1 override == "/" then override else builtins.getEnv "PWD" + "/" + override;
    in
    spec
    // {
      outPath =
        if override == "" then
          fetch spec
        else
          builtins.trace "npins: ${name} overridden by ${envName name}=${override}" (/. + local);
    };
in
if data.version == 5 then
  builtins.mapAttrs source data.pins
else
  throw "npins: unsupported format version ${toString data.version} of npins/sources.json; run `npins upgrade`"
