# The operator's servers: what examples/fediverse asks of its site. Credentials are files on
# the deployer machine (never their contents).
{
  cluster = {
    proxmox = {
      connection = {
        url = "https://pve1.example.org:8006";
        tokenId = "nixops4@pve!deploy";
        tokenSecretFile = "/run/keys/pve-token";
        caFile = "/etc/ssl/pve-root-ca.pem";
      };
      node = "pve1";
      template = "nixos-25-11";
      gateway4 = "192.0.2.1";
      gateway6 = "2001:db8::1";
      nameservers = [ "192.0.2.53" ];
    };
    postgresql = {
      connection = {
        host = "db.example.org";
        passwordFile = "/run/keys/postgres-admin";
        sslmode = "verify-full";
        caFile = "/etc/ssl/db-ca.pem";
      };
      address = "db.example.org";
    };
    garage = {
      connection = {
        adminEndpoint = "https://garage-admin.example.org";
        adminTokenFile = "/run/keys/garage-admin-token";
        s3Endpoint = "https://s3.example.org";
      };
      s3Endpoint = "https://s3.example.org";
    };
    dns = {
      server = {
        address = "192.0.2.53";
        keyName = "deployer";
        secretFile = "/run/keys/tsig-deployer";
      };
      zone = "example.org";
    };
    ssh = {
      identityFile = "/home/deployer/.ssh/id_ed25519";
      publicKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBPyw1zkTfYzzBk0Lq5FIgP7UoLkQ7cZlJgqn2HYcB3m deployer";
    };
  };

  addresses = {
    social = {
      ipv4 = "192.0.2.21/24";
      ipv6 = "2001:db8::21/64";
    };
    microblog = {
      ipv4 = "192.0.2.22/24";
      ipv6 = "2001:db8::22/64";
    };
  };
}
