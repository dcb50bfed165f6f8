"""NixOps4 provider for PostgreSQL: databases, roles, grants, schemas, extensions, state store."""

from nixops4_protocol.provider import Provider

provider = Provider(
    "postgresql",
    {
        "database": "nixops4_providers.postgresql.database:Database",
        "role": "nixops4_providers.postgresql.role:Role",
        "grant": "nixops4_providers.postgresql.grant:Grant",
        "schema": "nixops4_providers.postgresql.schema:Schema",
        "extension": "nixops4_providers.postgresql.extension:Extension",
        "state": "nixops4_providers.postgresql.state:State",
    },
)
"""The provider; resource types are registered lazily as `module:Class` strings."""
