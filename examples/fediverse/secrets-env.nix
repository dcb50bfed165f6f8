# A root service that turns the secret files the deployment delivered (root, 0400) into an
# environment file only `user` can read, before `before` starts; the application reads it.
{
  name,
  user,
  before,
  variables,
}:
{ lib, ... }:
{
  systemd.services."${name}-secrets" = {
    description = "Environment file of ${name} from the delivered secrets";
    wantedBy = [ "multi-user.target" ];
    inherit before;
    requiredBy = before;
    serviceConfig = {
      Type = "oneshot";
      RemainAfterExit = true;
      RuntimeDirectory = "${name}-secrets";
      RuntimeDirectoryPreserve = true;
    };
    script = ''
      umask 077
      {
      ${lib.concatStrings (
        lib.mapAttrsToList (variable: file: ''
          printf '%s=%s\n' ${variable} "$(cat ${lib.escapeShellArg file})"
        '') variables
      )}} > /run/${name}-secrets/env
      chown ${user} /run/${name}-secrets/env
    '';
  };
}
