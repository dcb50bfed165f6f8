"""Password policies: character classes with minimum counts, generation and checking."""

from __future__ import annotations

import string
from dataclasses import dataclass

from . import entropy

DEFAULT_SYMBOLS = "!#%*+,-./:=?@^_~"
"""Symbols that need no quoting in shell words, YAML plain scalars or libpq key=value strings."""


@dataclass(frozen=True)
class CharacterClass:
    """One class of characters a password may or must contain."""

    name: str
    characters: str
    """The allowed characters of the class, excluded characters already removed."""
    enabled: bool
    minimum: int


@dataclass(frozen=True)
class PasswordPolicy:
    """What a generated password looks like: its length and character classes."""

    length: int
    classes: tuple[CharacterClass, ...]

    @property
    def alphabet(self) -> str:
        """Every character a password may contain."""
        return "".join(c.characters for c in self.classes if c.enabled)

    def problems(self) -> list[str]:
        """Why no password can satisfy this policy (empty when one can)."""
        found = []
        for cls in self.classes:
            if cls.minimum and not cls.enabled:
                found.append(f"a minimum of {cls.minimum} {cls.name} is set but {cls.name} are off")
            elif cls.minimum and not cls.characters:
                found.append(f"a minimum of {cls.minimum} {cls.name} is set but all are excluded")
        if not self.alphabet:
            found.append("no character is allowed (every class is off or excluded)")
        required = sum(c.minimum for c in self.classes)
        if required > self.length:
            found.append(f"the minimum counts add up to {required}, more than length {self.length}")
        return found

    def generate(self) -> str:
        """A new password: the minimum of each class, the rest from the whole alphabet, shuffled."""
        chars = [entropy.choice(c.characters) for c in self.classes for _ in range(c.minimum)]
        alphabet = self.alphabet
        chars += [entropy.choice(alphabet) for _ in range(self.length - len(chars))]
        entropy.shuffle(chars)
        return "".join(chars)

    def problem_with(self, value: str) -> str | None:
        """Why `value` does not satisfy this policy, without revealing it; None if it does."""
        if len(value) != self.length:
            return f"its length is {len(value)}, the policy asks for {self.length}"
        allowed = set(self.alphabet)
        if any(char not in allowed for char in value):
            return "it contains characters the policy does not allow"
        for cls in self.classes:
            count = sum(char in cls.characters for char in value)
            if count < cls.minimum:
                return f"it has {count} {cls.name}, the policy asks for at least {cls.minimum}"
        return None


def make_policy(
    *,
    length: int,
    lowercase: tuple[bool, int],
    uppercase: tuple[bool, int],
    digits: tuple[bool, int],
    symbols: tuple[bool, int],
    symbol_characters: str,
    exclude: str,
) -> PasswordPolicy:
    """Build a policy from (enabled, minimum) pairs per class and the excluded characters."""

    def cls(name: str, chars: str, setting: tuple[bool, int]) -> CharacterClass:
        kept = "".join(dict.fromkeys(char for char in chars if char not in exclude))
        return CharacterClass(name, kept, setting[0], setting[1])

    return PasswordPolicy(
        length,
        (
            cls("lowercase letters", string.ascii_lowercase, lowercase),
            cls("uppercase letters", string.ascii_uppercase, uppercase),
            cls("digits", string.digits, digits),
            cls("symbols", symbol_characters, symbols),
        ),
    )
