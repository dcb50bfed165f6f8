"""The generators in-process: format and length of every kind, policies, and the entropy source."""

from __future__ import annotations

import base64
import random
import string
import uuid
from collections import Counter
from typing import Any

import bcrypt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from nixops4_providers.scram import verifier_matches
from nixops4_providers.secrets import entropy, kinds
from nixops4_providers.secrets.keys import StoreKey
from nixops4_providers.secrets.model import SecretInputs
from pydantic import ValidationError

from tests.secrets.helpers import KINDS, inputs

KEY = StoreKey.from_bytes(bytes(range(32)))


def model(kind: str, **overrides: Any) -> SecretInputs:
    """Validated inputs of a secret of `kind`."""
    return SecretInputs.model_validate(inputs("unit", kind, **overrides))


def test_password_default_policy() -> None:
    """A default password has 32 characters from letters, digits and the default symbols."""
    allowed = set(string.ascii_letters + string.digits + "!#%*+,-./:=?@^_~")
    for _ in range(50):
        value = kinds.generate(model("password"))
        assert len(value) == 32
        assert set(value) <= allowed
        assert kinds.problem(model("password"), value) is None


@pytest.mark.parametrize(
    "policy",
    [
        {"length": 12, "minLowercase": 3, "minUppercase": 3, "minDigits": 3, "minSymbols": 3},
        {"length": 20, "symbols": False, "minDigits": 5, "excludeCharacters": "Il1O0o"},
        {"length": 8, "lowercase": False, "uppercase": False, "symbols": False},
        {"length": 16, "symbolCharacters": "-_", "minSymbols": 2, "digits": False},
    ],
)
def test_password_policies_are_satisfied(policy: dict[str, Any]) -> None:
    """Every generated password meets its length, class, minimum and exclusion rules."""
    secret = model("password", **policy)
    excluded = set(policy.get("excludeCharacters", ""))
    for _ in range(200):
        value = kinds.generate(secret)
        assert len(value) == policy["length"]
        assert not set(value) & excluded
        assert kinds.problem(secret, value) is None
        counts = Counter(
            "lower"
            if c.islower()
            else "upper"
            if c.isupper()
            else "digit"
            if c.isdigit()
            else "sym"
            for c in value
        )
        assert counts["lower"] >= policy.get("minLowercase", 0)
        assert counts["upper"] >= policy.get("minUppercase", 0)
        assert counts["digit"] >= policy.get("minDigits", 0)
        assert counts["sym"] >= policy.get("minSymbols", 0)
        if policy.get("symbols") is False:
            assert counts["sym"] == 0
        if policy.get("digits") is False:
            assert counts["digit"] == 0


def test_password_characters_are_spread_over_the_alphabet() -> None:
    """Across many passwords every allowed character occurs, none far more often than the mean."""
    secret = model("password", length=64)
    counts = Counter("".join(kinds.generate(secret) for _ in range(200)))
    alphabet = secret.password_policy().alphabet
    assert set(counts) == set(alphabet)
    mean = 64 * 200 / len(alphabet)
    assert max(counts.values()) < 1.5 * mean
    assert min(counts.values()) > 0.5 * mean


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ({"length": 4, "minDigits": 3, "minSymbols": 3}, "add up to 6, more than length 4"),
        ({"digits": False, "minDigits": 1}, "digits are off"),
        (
            {"lowercase": False, "uppercase": False, "digits": False, "symbols": False},
            "no character",
        ),
        (
            {"symbols": True, "minSymbols": 1, "excludeCharacters": "!#%*+,-./:=?@^_~"},
            "all are excluded",
        ),
        ({"symbolCharacters": "ab"}, "symbolCharacters"),
    ],
)
def test_impossible_policies_are_rejected(policy: dict[str, Any], message: str) -> None:
    """A policy no password can meet fails validation and says why."""
    with pytest.raises(ValidationError, match=message):
        model("password", **policy)


def test_length_is_refused_for_kinds_without_one() -> None:
    """`length` set for a UUID is an input error, not silently ignored."""
    with pytest.raises(ValidationError, match="does not apply to kind `uuid`"):
        model("uuid", length=16)


@pytest.mark.parametrize(
    ("encoding", "length", "decode"),
    [
        ("hex", 16, bytes.fromhex),
        ("base64", 32, lambda text: base64.b64decode(text, validate=True)),
        ("base64url", 48, lambda text: base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))),
    ],
)
def test_token_encodings(encoding: str, length: int, decode: Any) -> None:
    """A token decodes in its encoding to exactly `length` random bytes."""
    secret = model("token", encoding=encoding, length=length)
    values = {kinds.generate(secret) for _ in range(20)}
    assert len(values) == 20
    for value in values:
        assert len(decode(value)) == length
        assert kinds.problem(secret, value) is None
    if encoding == "base64url":
        assert not any(set(value) & set("+/=") for value in values)


def test_token_of_another_encoding_or_length_does_not_fit() -> None:
    """A stored token no longer fits once the encoding or length changes."""
    value = kinds.generate(model("token", encoding="hex"))
    assert kinds.problem(model("token", encoding="hex", length=16), value) == (
        "it holds 32 bytes, the inputs ask for 16"
    )
    assert kinds.problem(model("token", encoding="base64"), value) is not None


def test_uuid_is_version_4() -> None:
    """A UUID is a canonical random (version 4, RFC 4122 variant) UUID."""
    value = kinds.generate(model("uuid"))
    parsed = uuid.UUID(value)
    assert (parsed.version, parsed.variant, str(parsed)) == (4, uuid.RFC_4122, value)
    assert kinds.problem(model("uuid"), value.upper()) is not None


def test_ssh_key_pair() -> None:
    """The SSH value is an OpenSSH ed25519 private key; the output is its public key line."""
    secret = model("ssh-ed25519", comment="deploy@example")
    value = kinds.generate(secret)
    key = serialization.load_ssh_private_key(value.encode(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    assert kinds.derived(secret, value, KEY) == {"publicKey": public.decode() + " deploy@example"}
    assert value.startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    assert kinds.problem(secret, value) is None


def test_wireguard_key_pair() -> None:
    """The WireGuard value is a clamped base64 Curve25519 key; the output is its public key."""
    secret = model("wireguard")
    value = kinds.generate(secret)
    raw = base64.b64decode(value)
    assert len(raw) == 32
    assert raw[0] & 7 == 0
    assert raw[31] & 0xC0 == 0x40
    public = X25519PrivateKey.from_private_bytes(raw).public_key().public_bytes_raw()
    assert kinds.derived(secret, value, KEY) == {"publicKey": base64.b64encode(public).decode()}


@pytest.mark.parametrize(("algorithm", "size"), [("hmac-sha256", 32), ("hmac-sha512", 64)])
def test_tsig_key(algorithm: str, size: int) -> None:
    """A TSIG key is base64 of the algorithm's digest size, as `tsig-keygen` makes it."""
    secret = model("tsig", algorithm=algorithm)
    value = kinds.generate(secret)
    assert len(base64.b64decode(value, validate=True)) == size
    assert kinds.derived(secret, value, KEY) == {"algorithm": algorithm}


def test_password_verifiers_are_correct_and_stable() -> None:
    """SCRAM and bcrypt outputs verify the password and stay equal for the same value."""
    secret = model("password")
    value = kinds.generate(secret)
    first, second = (kinds.derived(secret, value, KEY) for _ in range(2))
    assert first == second
    assert verifier_matches(first["scramSha256"], value)
    assert bcrypt.checkpw(value.encode(), first["bcryptHash"].encode())
    assert first["bcryptHash"].startswith("$2b$04$")
    other = StoreKey.from_bytes(bytes(32))
    assert kinds.derived(secret, value, other)["scramSha256"] != first["scramSha256"]


def test_bcrypt_is_left_out_when_off_or_too_long() -> None:
    """No bcrypt hash for `bcryptCost = null` or a password beyond bcrypt's 72 bytes."""
    long = model("password", length=80)
    assert kinds.derived(long, kinds.generate(long), KEY)["bcryptHash"] is None
    off = model("password", bcryptCost=None)
    assert kinds.derived(off, kinds.generate(off), KEY)["bcryptHash"] is None


def test_fingerprint_is_keyed() -> None:
    """The fingerprint depends on the value and the store key, and does not contain the value."""
    assert KEY.fingerprint("a", "value-1") != KEY.fingerprint("a", "value-2")
    assert KEY.fingerprint("a", "value-1") == KEY.fingerprint("a", "value-1")
    assert KEY.fingerprint("a", "value-1") != StoreKey.from_bytes(bytes(32)).fingerprint(
        "a", "value-1"
    )


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_draws_only_from_os_urandom(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """With os.urandom replaced by a fixed stream, every kind is reproducible: no other source is used.

    Seeding Python's `random` module differently between the two runs must change nothing.
    """
    secret = model(kind)

    def generate_with_fixed_urandom(seed: int) -> str:
        stream = random.Random(1234)
        monkeypatch.setattr("os.urandom", stream.randbytes)
        random.seed(seed)
        value = kinds.generate(secret)
        monkeypatch.undo()
        return value

    first = generate_with_fixed_urandom(1)
    assert generate_with_fixed_urandom(2) == first
    assert kinds.generate(secret) != first


def test_random_below_is_uniform_and_in_range() -> None:
    """The rejection sampler covers [0, n) evenly and never leaves it."""
    counts = Counter(entropy.random_below(6) for _ in range(6000))
    assert set(counts) == set(range(6))
    assert all(800 < count < 1200 for count in counts.values())
