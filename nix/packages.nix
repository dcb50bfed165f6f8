# The Python application, built the nixpkgs way (pyproject, hatchling), from pyproject.toml.
#
# Closures: every provider is an optional-dependency group of pyproject.toml with an executable
# `nixops4-<group>`. `nixops4-<group>` is the same source built with only the base dependencies
# and that group, installing only that executable: `nixops4-dns` carries no psycopg and
# `nixops4-postgresql` no dnspython (their modules are present but never imported, since the
# providers import their backend lazily). `nixops4-providers` has every group and every
# executable, and runs the test suite against PostgreSQL and Knot in the build sandbox.
# A new provider (group + script in pyproject.toml) gets its package here without changes.
{
  lib,
  python3Packages,
  postgresql,
  knot-dns,
}:
let
  pyproject = builtins.fromTOML (builtins.readFile ../pyproject.toml);
  project = pyproject.project;
  groups = project.optional-dependencies;

  # "psycopg[binary]>=3.1" -> python3Packages.psycopg
  requirement =
    spec: python3Packages.${lib.toLower (builtins.head (builtins.match "([A-Za-z0-9_.-]+).*" spec))};

  providerNames = builtins.filter (name: project.scripts ? "nixops4-${name}") (
    builtins.attrNames groups
  );

  root = toString ../.;
  topLevel = import ./source-files.nix;
  src = lib.cleanSourceWith {
    name = "nixops4-providers-source";
    src = ../.;
    filter =
      path: type:
      let
        relative = lib.removePrefix (root + "/") (toString path);
      in
      builtins.elem (builtins.head (lib.splitString "/" relative)) topLevel
      && !(lib.hasSuffix ".pyc" relative)
      && baseNameOf relative != "__pycache__";
  };

  application =
    {
      pname,
      providers,
      executables,
      doCheck ? false,
    }:
    python3Packages.buildPythonApplication {
      inherit pname src doCheck;
      inherit (project) version;
      pyproject = true;
      build-system = [ python3Packages.hatchling ];
      dependencies =
        map requirement project.dependencies
        ++ lib.unique (lib.concatMap (name: map requirement groups.${name}) providers);

      # Keep only the executables of this package (and their wrapped originals).
      postInstall = ''
        for program in $out/bin/* $out/bin/.*-wrapped; do
          [ -e "$program" ] || continue
          case "$(basename "$program")" in
            ${lib.concatMapStringsSep "|" (e: "${e}|.${e}-wrapped") executables}) ;;
            *) rm "$program" ;;
          esac
        done
      '';

      pythonImportsCheck = [ "nixops4_protocol.provider" ] ++ map (name: "nixops4_providers.${name}") providers;

      nativeCheckInputs = [
        python3Packages.pytestCheckHook
        python3Packages.pytest-asyncio
        python3Packages.jsonschema
        postgresql
        knot-dns
      ];
      # The tests start the installed executables: beside the interpreter in a virtualenv, on
      # PATH here (tests/support/executables.py).
      preCheck = ''
        export PATH="$out/bin:$PATH"
      '';
      # Nix inside the build sandbox is not available; the Nix tests run outside (docs/nix.md).
      disabledTestPaths = [ "tests/nix" "tests/proxmox" ]; # fakepve is not in nixpkgs
      __darwinAllowLocalNetworking = true;

      meta = {
        description = project.description;
        license = lib.licenses.eupl12;
        mainProgram = if executables == [ "nixops4-${lib.head providers}" ] then lib.head executables else "nixops4-provider-run";
        platforms = lib.platforms.unix;
      };
    };

  perProvider = lib.listToAttrs (
    map (name: {
      name = "nixops4-${name}";
      value = application {
        pname = "nixops4-${name}";
        providers = [ name ];
        executables = [ "nixops4-${name}" ];
      };
    }) providerNames
  );
in
perProvider
// {
  nixops4-providers = application {
    pname = "nixops4-providers";
    providers = providerNames;
    executables = builtins.attrNames project.scripts;
    doCheck = true;
  };
}
