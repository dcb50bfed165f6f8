"""Every input or output field named like a secret is marked, so logs redact it by construction."""

from __future__ import annotations

import importlib
import re
from typing import Any

import pytest
from nixops4_protocol.resource import CredentialFile, Secret, _nested_models
from nixops4_providers import PROVIDERS
from pydantic import BaseModel, SecretStr

SECRET_LIKE = re.compile(r"(password|passwd|secret|token|private|credential|psk|key)", re.I)
NOT_SECRET = re.compile(
    r"(^publicKey$|^expose[A-Z]|(Iterations|Length|Policy|Algorithm|Name|Type|Id|Kind|Fingerprint|Generation|PublicKeys?|Count)$)"
)
"""Names that look secret-like but name a property of a secret, not the secret itself."""


def _providers() -> list[Any]:
    found = []
    for name, target in PROVIDERS.items():
        module_name, _, attribute = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue
        found.append(pytest.param(getattr(module, attribute), id=name))
    example = importlib.import_module("tests.example_provider")
    found.append(pytest.param(example.provider, id="example"))
    return found


def _unmarked(model: type[BaseModel], path: str = "") -> list[str]:
    problems = []
    for name, field in model.model_fields.items():
        wire = field.alias or name
        marked = field.annotation is SecretStr or any(
            isinstance(marker, Secret | CredentialFile) for marker in field.metadata
        )
        if SECRET_LIKE.search(wire) and not NOT_SECRET.search(wire) and not marked:
            problems.append(f"{path}{wire}")
        for nested in _nested_models(field.annotation):
            problems += _unmarked(nested, f"{path}{wire}.")
    return problems


@pytest.mark.parametrize("provider", _providers())
def test_secret_like_fields_are_marked(provider: Any) -> None:
    """A field whose name suggests a secret carries Secret(), CredentialFile() or SecretStr."""
    problems = []
    for type_name in provider.type_names:
        cls = provider.resource_class(type_name)
        for model in (cls.inputs_model, cls.outputs_model):
            problems += [f"{type_name}.{field}" for field in _unmarked(model)]
    assert problems == [], f"mark these fields Secret() or CredentialFile(): {problems}"
