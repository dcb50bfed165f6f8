"""Generated input/output tables inside hand-written Markdown stay in step with the models."""

from __future__ import annotations

import pytest
from nixops4_protocol import nixgen
from nixops4_protocol.nixgen import tables as markdown
from nixops4_protocol.provider import Provider

from tests.example_provider import provider as example


def _tables(provider: Provider) -> dict[str, str]:
    return markdown.tables({"example": nixgen.resource_type_decls(provider)})


def test_tables_list_every_field_with_type_default_and_description() -> None:
    """An inputs table has one row per field; required fields say so; outputs have no default."""
    tables = _tables(example)
    inputs = tables["example.file.inputs"].splitlines()
    assert inputs[0] == "| input | type | default | description |"
    assert (
        "| `path` | string | required | Path of the file, relative to the working directory. "
        "Immutable: an update that changes it is refused. Declare a new resource instead, or "
        "keep the old value. |" in inputs
    )
    assert "| `mode` | signed integer | `420` | Permission bits of the file. |" in inputs
    assert (
        tables["example.file.outputs"].splitlines()[2]
        == "| `size` | signed integer | Size of the file in bytes. |"
    )
    assert tables["example.state_file.outputs"] == "_(none)_\n"


def test_fill_replaces_only_marked_regions() -> None:
    """Text around a region is kept; the region gets the current table."""
    text = "before\n<!-- generated: example.memo.outputs -->\nold rows\n<!-- end generated -->\nafter\n"
    filled = markdown.fill(text, _tables(example), document="doc.md")
    assert filled.startswith("before\n<!-- generated: example.memo.outputs -->\n| output |")
    assert filled.endswith("<!-- end generated -->\nafter\n")
    assert "old rows" not in filled


def test_unknown_table_is_an_error() -> None:
    """A region naming a table that does not exist fails generation with the document's name."""
    text = "<!-- generated: example.nope.inputs -->\n<!-- end generated -->\n"
    with pytest.raises(
        nixgen.NixGenError, match=r"doc\.md: no generated table named 'example\.nope\.inputs'"
    ):
        markdown.fill(text, _tables(example), document="doc.md")
