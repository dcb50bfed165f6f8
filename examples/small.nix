# An example deployment composing the providers: a generated password, a PostgreSQL role whose
# password it is, a database owned by that role, and a DNS record naming the database server.
# State is kept in a local state file, so a second `nixops4 apply` changes nothing.
{
  # PostgreSQL server, reached as a superuser (`user`, optional `passwordFile`).
  postgresql ? {
    host = "localhost";
  },
  # Primary DNS server with a TSIG key allowed to update `zone`.
  dns,
  zone,
  # The address the record `db.<zone>` points at.
  databaseAddress,
}:
{ providers, members, ... }:
{
  members = {
    state = {
      type = providers.local.state_file;
      inputs.name = "nixops4-state.json";
    };

    appPassword = {
      type = providers.secrets.secret;
      state = members.state;
      inputs = {
        name = "app-db-password";
        kind = "password";
        symbols = false;
      };
    };

    appRole = {
      type = providers.postgresql.role;
      inputs = {
        connection = postgresql;
        name = "app";
        login = true;
        passwordFile = members.appPassword.outputs.path;
      };
    };

    appDatabase = {
      type = providers.postgresql.database;
      inputs = {
        connection = postgresql;
        name = "app";
        owner = members.appRole.outputs.name;
      };
    };

    # Stateful, so a changed address is an update of the record set this deployment wrote; a
    # stateless record cannot tell its own old values from someone else's and refuses them.
    dbRecord = {
      type = providers.dns.record;
      state = members.state;
      inputs = {
        server = dns;
        inherit zone;
        name = "db";
        type = "A";
        values = [ databaseAddress ];
      };
    };
  };
}
