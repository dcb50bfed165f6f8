# The `social` VM: Mastodon, configured from what the deployment made (`application`).
{ application, ... }:
let
  inherit (application) database media;
in
{
  imports = [
    (import ./secrets-env.nix {
      name = "mastodon";
      user = "mastodon";
      before = [
        "mastodon-init-db.service"
        "mastodon-web.service"
        "mastodon-sidekiq-all.service"
        "mastodon-streaming.target"
      ];
      variables = {
        DB_PASS = database.passwordFile;
        AWS_SECRET_ACCESS_KEY = media.secretKeyFile;
      };
    })
  ];

  networking.hostName = application.name;
  services.qemuGuest.enable = true;
  services.openssh.enable = true;
  system.stateVersion = "25.11";

  services.mastodon = {
    enable = true;
    localDomain = application.domain;
    configureNginx = true;
    smtp.fromAddress = "noreply@${application.domain}";
    streamingProcesses = 1;
    database = {
      createLocally = false;
      inherit (database) host port name user;
    };
    extraEnvFiles = [ "/run/mastodon-secrets/env" ];
    extraConfig = {
      S3_ENABLED = "true";
      S3_BUCKET = media.bucket;
      S3_ENDPOINT = media.endpoint;
      S3_REGION = media.region;
      AWS_ACCESS_KEY_ID = media.accessKeyId;
    };
  };
  # The fingerprint changes when the password rotates: the services restart with the new one.
  systemd.services.mastodon-web.restartTriggers = [ database.passwordFingerprint ];
  systemd.services.mastodon-sidekiq-all.restartTriggers = [ database.passwordFingerprint ];

  security.acme = {
    acceptTerms = true;
    defaults.email = "hostmaster@${application.domain}";
  };
  networking.firewall.allowedTCPPorts = [
    80
    443
  ];
}
