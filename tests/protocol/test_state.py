"""State documents: RFC 6902 patches, RFC 6901 escaping, materialisation, clear failures."""

from __future__ import annotations

import pytest
from nixops4_protocol.errors import ResourceError
from nixops4_protocol.state import apply_patch, empty_state, initial_patch, materialise


def test_materialise_applies_patches_in_order() -> None:
    """The initial event then changes give the expected document; the input is not mutated."""
    add = [{"op": "add", "path": "/resources/a~1b", "value": {"type": "t", "input_properties": {}}}]
    rename = [{"op": "move", "from": "/resources/a~1b", "path": "/resources/c~0d"}]
    state = materialise([initial_patch(), add, rename])
    assert state["resources"] == {"c~d": {"type": "t", "input_properties": {}}}
    assert add[0]["path"] == "/resources/a~1b"


def test_no_events_means_empty_state() -> None:
    """A store without events reads as the empty state document."""
    assert materialise([]) == empty_state()


def test_a_patch_that_does_not_apply_names_the_problem() -> None:
    """Removing a missing entry is a clear ResourceError, not a crash."""
    with pytest.raises(ResourceError, match="state patch does not apply"):
        apply_patch(empty_state(), [{"op": "remove", "path": "/resources/missing"}])


def test_a_document_that_is_not_state_is_refused() -> None:
    """A patch sequence that yields something other than a nixopsState is refused."""
    with pytest.raises(ResourceError, match="not a NixOps4 state document"):
        materialise([[{"op": "add", "path": "", "value": {"_type": "other"}}]])


def test_test_operation_failure_is_reported() -> None:
    """A failing `test` op stops the patch."""
    with pytest.raises(ResourceError):
        apply_patch(empty_state(), [{"op": "test", "path": "/_type", "value": "nope"}])
