# NixOps4 provider module for PostgreSQL; its resource types are generated from the Python models.
{ packagesFor }:
import ./mk-provider.nix { inherit packagesFor; } {
  name = "postgresql";
  title = "PostgreSQL";
  description = ''
    Databases, roles, grants, schemas and extensions on a PostgreSQL server, managed over a
    libpq connection, and a NixOps4 state store kept in a PostgreSQL table.
  '';
}
