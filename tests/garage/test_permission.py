"""The `permission` type against the real Garage: exact convergence from any starting state."""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Callable
from typing import Any

import pytest
from nixops4_protocol.client import ProviderProcess
from nixops4_protocol.requests import create_request
from nixops4_protocol.testing import TRANSCRIPT, Applied, Step, error_of, outputs_of

from tests.garage.conftest import PROVIDER, Garage

pytestmark = pytest.mark.garage

FLAGS = ("read", "write", "owner")
STATES = [
    dict(zip(FLAGS, values, strict=True)) for values in itertools.product((False, True), repeat=3)
]


def bucket_and_key(garage: Garage, name: str) -> tuple[str, str]:
    """A bucket and a key made by the provider; their ID and access key ID."""
    bucket = garage.created("bucket", garage.bucket_inputs(name))
    key = garage.created("key", garage.key_inputs(name))
    garage.key(key["accessKeyId"])
    return bucket["bucketId"], key["accessKeyId"]


def set_behind_our_back(
    garage: Garage, bucket_id: str, access_key_id: str, flags: dict[str, bool]
) -> None:
    """Give the key exactly these flags directly through the admin API."""
    body = {"bucketId": bucket_id, "accessKeyId": access_key_id}
    garage.server.api(
        "POST", "AllowBucketKey", {**body, "permissions": {f: True for f in FLAGS if flags[f]}}
    )
    garage.server.api(
        "POST", "DenyBucketKey", {**body, "permissions": {f: True for f in FLAGS if not flags[f]}}
    )


def walk_through_every_pair(count: int) -> list[int]:
    """A walk over states 0..count-1 that takes every ordered pair (a, b) once, a == b included.

    Every state has as many ways in as out, so such a walk exists (Hierholzer's algorithm).
    """
    remaining = {state: list(range(count)) for state in range(count)}
    stack, walk = [0], []
    while stack:
        state = stack[-1]
        if remaining[state]:
            stack.append(remaining[state].pop())
        else:
            walk.append(stack.pop())
    return walk[::-1]


def test_converges_from_every_starting_state(garage: Garage, name: str) -> None:
    """Each of the 8 flag combinations is reached exactly from each of the 8 starting ones.

    The first state is set behind the provider's back; each step then starts where the previous
    one ended, so one walk of 64 requests covers all 64 (starting, declared) pairs.
    """
    bucket_id, access_key_id = bucket_and_key(garage, name)
    walk = walk_through_every_pair(len(STATES))
    pairs = list(itertools.pairwise(walk))
    assert sorted(pairs) == sorted(itertools.product(range(len(STATES)), repeat=2))
    set_behind_our_back(garage, bucket_id, access_key_id, STATES[walk[0]])
    assert garage.grant(bucket_id, access_key_id)[0] == STATES[walk[0]]
    with (
        tempfile.TemporaryFile() as stderr,
        ProviderProcess(PROVIDER, stderr=stderr, cwd=garage.cwd) as process,
    ):
        responses: list[dict[str, Any]] = []
        for start, wanted in ((STATES[a], STATES[b]) for a, b in pairs):
            inputs = garage.permission_inputs(bucket_id, access_key_id, **wanted)
            responses.append(process.request(create_request("permission", inputs, stateful=False)))
            outputs = outputs_of(responses[-1])
            assert {f: outputs[f] for f in FLAGS} == wanted
            assert garage.grant(bucket_id, access_key_id)[0] == wanted, (start, wanted)
        status, _ = process.close()
        stderr.seek(0)
        TRANSCRIPT.append(stderr.read().decode("utf-8", errors="replace"))
        TRANSCRIPT.extend(repr(response) for response in responses)
    assert status == 0


def test_local_aliases_converge_exactly(garage: Garage, name: str) -> None:
    """Declared local aliases are added, others of this key on this bucket removed."""
    bucket_id, access_key_id = bucket_and_key(garage, name)
    body = {"bucketId": bucket_id, "accessKeyId": access_key_id}
    garage.server.api("POST", "AddBucketAlias", {**body, "localAlias": "stray"})
    garage.server.api("POST", "AddBucketAlias", {**body, "localAlias": "kept"})
    inputs = garage.permission_inputs(
        name, access_key_id, read=True, localAliases=["kept", "media"]
    )
    outputs = garage.created("permission", inputs)
    assert outputs == {
        "bucketId": bucket_id,
        "accessKeyId": access_key_id,
        "read": True,
        "write": False,
        "owner": False,
        "localAliases": ["kept", "media"],
    }
    assert garage.grant(bucket_id, access_key_id) == (
        {"read": True, "write": False, "owner": False},
        ["kept", "media"],
    )
    garage.created("permission", {**inputs, "localAliases": []})
    assert garage.grant(bucket_id, access_key_id)[1] == []


def test_alias_taken_by_another_bucket(garage: Garage, name: str) -> None:
    """A local alias the key already uses for another bucket gives a clear error."""
    bucket_id, access_key_id = bucket_and_key(garage, name)
    other = garage.created("bucket", garage.bucket_inputs(f"{name}-o"))["bucketId"]
    garage.server.api(
        "POST",
        "AddBucketAlias",
        {"bucketId": other, "accessKeyId": access_key_id, "localAlias": "media"},
    )
    message = error_of(
        garage.create(
            "permission", garage.permission_inputs(bucket_id, access_key_id, localAliases=["media"])
        )
    )
    assert "cannot add the local alias 'media'" in message
    assert "localAliases" in message


def test_missing_bucket_or_key(garage: Garage, name: str) -> None:
    """A permission on a bucket or key that does not exist names it and says what to do."""
    bucket_id, access_key_id = bucket_and_key(garage, name)
    message = error_of(
        garage.create("permission", garage.permission_inputs(f"{name}-none", access_key_id))
    )
    assert f"bucket '{name}-none' does not exist" in message
    for flags in ({}, {"read": True}, {"localAliases": ["app"]}):
        inputs = garage.permission_inputs(bucket_id, "GK000000000000000000000000", **flags)
        message = error_of(garage.create("permission", inputs))
        assert "key 'GK000000000000000000000000' does not exist" in message, flags


def test_lifecycle(garage: Garage, name: str) -> None:
    """Create, re-apply (no-op), change flags and aliases, refuse another key, destroy (revoke)."""
    bucket_id, access_key_id = bucket_and_key(garage, name)

    def grant(flags: dict[str, bool], aliases: list[str]) -> Callable[[Applied], None]:
        def check(_: Applied) -> None:
            assert garage.grant(bucket_id, access_key_id) == (
                {"read": False, "write": False, "owner": False, **flags},
                aliases,
            )

        return check

    observe = lambda: garage.grant(bucket_id, access_key_id)  # noqa: E731 - a snapshot
    garage.case(
        "permission",
        Step(
            garage.permission_inputs(bucket_id, access_key_id, read=True),
            check=grant({"read": True}, []),
        ),
        Step(
            garage.permission_inputs(bucket_id, access_key_id, owner=True, localAliases=["site"]),
            expect_outputs={"read": False, "owner": True, "localAliases": ["site"]},
            expect_log="changed the permission",
            check=grant({"owner": True}, ["site"]),
        ),
        Step(
            garage.permission_inputs(bucket_id, "GK111111111111111111111111", owner=True),
            expect_error=[
                "input `accessKeyId` cannot be changed in place",
                "Declare a new permission resource",
            ],
        ),
        Step(destroy=True, check=grant({}, [])),
        stateful=True,
        observe=observe,
    )
    garage.case(
        "permission",
        Step(
            garage.permission_inputs(name, access_key_id, write=True),
            check=grant({"write": True}, []),
        ),
        observe=observe,
    )
