"""Validation of wire messages against the upstream NixOps4 schema in ../shared/specs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

SPECS = Path(__file__).resolve().parents[3] / "shared" / "specs" / "nixops4"

JSON_PATCH_SCHEMA: dict[str, Any] = {
    "$id": "https://json.schemastore.org/json-patch.json",
    "type": "array",
    "items": {
        "type": "object",
        "required": ["op", "path"],
        "properties": {
            "op": {"enum": ["add", "remove", "replace", "move", "copy", "test"]},
            "path": {"type": "string"},
            "from": {"type": "string"},
        },
    },
}
"""A local stand-in for the RFC 6902 schema the upstream schema references by URL (no network)."""


def load_spec(name: str) -> Any:
    """Load a file from the shared specs folder, skipping when the folder is absent."""
    path = SPECS / name
    if not path.exists():
        pytest.skip(f"{path} is absent (the shared specs folder lives beside the repository)")
    return json.loads(path.read_text(encoding="utf-8"))


def validator(schema_file: str, definition: str | None = None) -> Any:
    """A jsonschema validator for the whole schema or one of its definitions."""
    from jsonschema import Draft4Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    schema = load_spec(schema_file)
    registry = Registry().with_resources(
        [
            (JSON_PATCH_SCHEMA["$id"], Resource.from_contents(JSON_PATCH_SCHEMA, DRAFT4)),
            (schema["$id"], Resource.from_contents(schema, DRAFT4)),
        ]
    )
    target = (
        schema if definition is None else {"$ref": f"{schema['$id']}#/definitions/{definition}"}
    )
    return Draft4Validator(target, registry=registry)
