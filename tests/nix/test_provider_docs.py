"""The docs of every provider render through NixOps4's own renderProviderDocs.

`provider-docs.nix` evaluates NixOps4's renderer (at the pin) for the committed provider modules;
every option of every resource type must be documented with the type description, text and
default our tables show. Needs Nix and the pinned sources (skips otherwise, see docs/nix.md).
"""

from __future__ import annotations

from typing import Any

import pytest
from nixops4_protocol import nixgen
from nixops4_protocol.nixgen.files import load_provider
from nixops4_protocol.nixgen.tables import doc_entries
from nixops4_providers import PROVIDERS

from tests.nix.support import DocPage, render_provider_docs
from tests.nix.test_evaluation import provider_module

pytestmark = pytest.mark.nix


def assert_documents(pages: dict[str, DocPage], decls: list[nixgen.ResourceTypeDecl]) -> None:
    """Each type has a page whose option docs match the declarations, option by option."""
    assert set(pages) == {"index.md"} | {f"{d.name}.md" for d in decls}
    for decl in decls:
        page = pages[f"{decl.name}.md"]
        assert f"# {decl.name}\n\n{decl.description}" in page.text
        assert f"**State Required:** {'Yes' if decl.require_state else 'No'}" in page.text
        rendered: dict[tuple[str, ...], dict[str, Any]] = {}
        for options in page.options:
            rendered |= {tuple(doc["loc"]): doc for doc in options.values()}
        expected = {
            path: option
            for part, options in (("inputs", decl.inputs), ("outputs", decl.outputs))
            for path, option in doc_entries(options, (part,))
        }
        assert set(rendered) == set(expected), decl.name
        for path, option in expected.items():
            doc = rendered[path]
            where = f"{decl.name} {'.'.join(path)}"
            assert doc["type"] == nixgen.type_description(option.type), where
            assert doc["description"].removesuffix("\n") == option.description, where
            if option.default is not nixgen.NO_DEFAULT:
                assert doc["default"]["_type"] == "literalExpression", where


@pytest.mark.parametrize("name", sorted(PROVIDERS))
def test_provider_docs_render_through_nixops4(name: str) -> None:
    """renderProviderDocs documents every option of the committed module of `name` as we do."""
    provider, _ = load_provider(PROVIDERS[name])
    pages = render_provider_docs(provider_module(name))
    assert_documents(pages, nixgen.resource_type_decls(provider))
