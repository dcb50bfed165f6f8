"""NixOps4 provider for PostgreSQL: databases, roles, grants, schemas, extensions, state store."""

from nixops4_protocol.provider import Provider

provider = Provider("postgresql", {})
"""The provider; resource types are registered lazily as `module:Class` strings."""
