# The `microblog` VM: GoToSocial, configured from what the deployment made (`application`).
{ application, ... }:
let
  inherit (application) database media;
in
{
  imports = [
    (import ./secrets-env.nix {
      name = "gotosocial";
      user = "gotosocial";
      before = [ "gotosocial.service" ];
      variables = {
        GTS_DB_PASSWORD = database.passwordFile;
        GTS_STORAGE_S3_SECRET_KEY = media.secretKeyFile;
      };
    })
  ];

  networking.hostName = application.name;
  services.qemuGuest.enable = true;
  services.openssh.enable = true;
  system.stateVersion = "25.11";

  services.gotosocial = {
    enable = true;
    setupPostgresqlDB = false;
    environmentFile = "/run/gotosocial-secrets/env";
    settings = {
      host = application.domain;
      protocol = "https";
      bind-address = "127.0.0.1";
      port = 8080;
      db-type = "postgres";
      db-address = database.host;
      db-port = database.port;
      db-user = database.user;
      db-database = database.name;
      storage-backend = "s3";
      storage-s3-endpoint = builtins.replaceStrings [ "https://" "http://" ] [ "" "" ] media.endpoint;
      storage-s3-bucket = media.bucket;
      storage-s3-access-key = media.accessKeyId;
      instance-languages = [ "en" ];
    };
  };
  # The fingerprints change when a secret rotates: the service restarts with the new value.
  systemd.services.gotosocial.restartTriggers = [
    database.passwordFingerprint
    media.accessKeyId
  ];

  services.caddy = {
    enable = true;
    virtualHosts.${application.domain}.extraConfig = "reverse_proxy 127.0.0.1:8080";
  };
  networking.firewall.allowedTCPPorts = [
    80
    443
  ];
}
