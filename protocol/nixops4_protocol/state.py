"""NixOps4 state documents: the empty state, RFC 6902 patches, materialisation."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from .errors import ResourceError

STATE_TYPE = "nixopsState"


def empty_state() -> dict[str, Any]:
    """Return the state document every store starts from."""
    return {"_type": STATE_TYPE, "resources": {}, "deployments": {}}


def initial_patch() -> list[dict[str, Any]]:
    """Return the first event's patch, as nixops4's own state file writes it."""
    return [{"op": "add", "path": "", "value": empty_state()}]


def apply_patch(document: Any, patch: list[dict[str, Any]]) -> Any:
    """Apply an RFC 6902 patch to a copy of `document` and return the result.

    Raises ResourceError naming the failing operation when the patch does not apply.
    """
    import jsonpatch
    import jsonpointer

    try:
        return jsonpatch.JsonPatch(patch).apply(copy.deepcopy(document), in_place=True)
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as error:
        raise ResourceError(
            f"state patch does not apply: {error}",
            hint="The stored state and the deployment disagree; inspect the store's event history.",
        ) from error
    except (TypeError, KeyError, ValueError) as error:
        raise ResourceError(f"malformed state patch: {error}") from error


def materialise(patches: Iterable[list[dict[str, Any]]]) -> dict[str, Any]:
    """Apply patches in order to an empty document and check the result is a NixOps4 state."""
    document: Any = {}
    for patch in patches:
        document = apply_patch(document, patch)
    if document == {}:
        return empty_state()
    check_state_document(document)
    result: dict[str, Any] = document
    return result


def check_state_document(document: Any) -> None:
    """Raise ResourceError unless `document` has the shape nixops4 reads back."""
    if not isinstance(document, dict) or document.get("_type") != STATE_TYPE:
        found = document.get("_type") if isinstance(document, dict) else type(document).__name__
        raise ResourceError(f"stored state is not a NixOps4 state document (_type is {found!r})")
