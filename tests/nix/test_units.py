"""The deployment library's units evaluated alone: the operator's site, typed options, nesting."""

from __future__ import annotations

import json
import subprocess

from pydantic import BaseModel

from tests.nix.support import REPOSITORY, nix_eval, nix_instantiate, source_overrides
from tests.support.deploy import provider_of_type

EXAMPLE = REPOSITORY / "tests/nix/fediverse.nix"


def _models() -> dict[str, type[BaseModel]]:
    """Input model of each of our resource types."""
    import importlib

    from nixops4_providers import PROVIDERS

    models = {}
    for target in PROVIDERS.values():
        module, _, attribute = target.partition(":")
        provider = getattr(importlib.import_module(module), attribute)
        for name in provider.type_names:
            models[name] = provider.resource_class(name).inputs_model
    return models


def _failure(overrides: dict[str, object], resource: str, outputs: object = None) -> str:
    """Nix's error evaluating `resource` with these overriding definitions (and outputs)."""
    result = subprocess.run(
        [
            nix_instantiate(), "--store", "dummy://", "--eval", "--strict", "--json",
            str(EXAMPLE), "--argstr", "overrides", json.dumps(overrides),
            "--argstr", "explain", resource, "--argstr", "outputValues", json.dumps(outputs or {}),
        ],
        capture_output=True, text=True, env=source_overrides() | {"PATH": "/usr/bin:/bin"},
        timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode != 0, "evaluation should fail"
    return result.stderr


def test_operator_site_evaluates_to_inputs_the_models_accept() -> None:
    """With examples/fediverse/site.nix, the resources that need no outputs validate as sent."""
    resources = nix_eval(EXAMPLE, "-A", "resources", env=source_overrides())
    models = _models()
    types = provider_of_type()
    ready = {path: r for path, r in resources.items() if r["ready"] and r["type"] in types}
    assert sorted(ready) == [
        f"{app}.{member}"
        for app in ("microblog", "social")
        for member in ("dbPassword", "media", "mediaKey", "vm")
    ]
    for path, resource in ready.items():
        model = models[resource["type"]]
        dumped = model.model_validate(resource["inputs"]).model_dump(mode="json", by_alias=True)
        assert dumped == resource["inputs"], path
    vm = ready["social.vm"]["inputs"]
    assert vm["cloudInit"]["ipConfig"] == [
        {"ipv4": "192.0.2.21/24", "gateway4": "192.0.2.1", "ipv6": "2001:db8::21/64",
         "gateway6": "2001:db8::1"}
    ]  # fmt: skip
    assert vm["connection"]["tokenSecretFile"] == "/run/keys/pve-token"
    assert resources["social.dbPassword"]["state"] == ["state"]


def test_option_of_the_wrong_type_is_refused_by_name() -> None:
    """A string where the unit wants a number fails, naming the application's option."""
    error = _failure(
        {"members": {"social": {"application": {"vm": {"memory": "lots"}}}}}, "social.vm"
    )
    assert "members.social.application.vm.memory" in error
    assert "positive integer" in error


def test_cluster_connection_is_typed_by_the_generated_option() -> None:
    """The shared PostgreSQL connection takes the resource type's own options: a typo is refused."""
    secret = {"path": "/deployer/secrets/social-db-password", "fingerprint": "hmac-sha256:00"}
    error = _failure(
        {"cluster": {"postgresql": {"connection": {"hots": "db"}}}},
        "social.dbRole",
        {"social": {"dbPassword": secret}},
    )
    assert "cluster.postgresql.connection.hots" in error
    assert "does not exist" in error
