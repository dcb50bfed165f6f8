"""Errors for people: what failed, on which resource, and what to do."""

from __future__ import annotations

TYPE_CHECKING = False  # typing itself is not imported at run time: start-up is paid per process
if TYPE_CHECKING:
    from typing import Any

    from pydantic import ValidationError


class ProviderError(Exception):
    """Base of the errors the library turns into an `errorResponse` without a traceback."""


class ResourceError(ProviderError):
    """A failure a resource handler reports to the user, e.g. a refused change or a backend error.

    The message should say what failed and what to do; the library prefixes the resource.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        """Create the error with a message and an optional line telling the user what to do."""
        super().__init__(message)
        self.hint = hint

    def __str__(self) -> str:
        """Render the message and, on its own line, the hint."""
        text = super().__str__()
        return f"{text}\n{self.hint}" if self.hint else text


class ImmutableFieldError(ResourceError):
    """An input that cannot change in place was changed."""

    def __init__(
        self,
        field: str,
        old: object,
        new: object,
        *,
        hint: str | None = None,
        show_values: bool = True,
    ) -> None:
        """Name the field, its stored and requested values (unless secret) and what to do."""
        change = f" (from {old!r} to {new!r})" if show_values else ""
        super().__init__(
            f"input `{field}` cannot be changed in place{change}",
            hint=hint or f"Declare a new resource for the new `{field}`, or restore the old value.",
        )
        self.field = field


class RequestError(ProviderError):
    """A request the provider cannot act on: malformed, unknown type, invalid inputs."""


def describe_cause_chain(error: BaseException) -> str:
    """Render an exception and its causes, one `Caused by:` line each, without tracebacks."""
    lines = [_one_line(error)]
    seen = {id(error)}
    cause = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        lines.append(f"Caused by: {_one_line(cause)}")
        cause = cause.__cause__ or (None if cause.__suppress_context__ else cause.__context__)
    return "\n".join(lines)


def _one_line(error: BaseException) -> str:
    text = str(error).strip()
    if isinstance(error, ProviderError):
        return text
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


MAX_PROBLEMS = 20
"""Problems listed in one error message; the rest are counted."""

MAX_SHOWN = 80
"""Characters of one piece of the input (a name, a value, a field) an error message repeats."""


def clip(text: str, limit: int = MAX_SHOWN) -> str:
    """`text` for an error message: at most `limit` characters, a lone surrogate escaped."""
    shown = text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"
    return shown.encode("utf-8", "backslashreplace").decode("utf-8")


def format_validation_error(
    error: ValidationError,
    *,
    what: str,
    known_fields: list[str] | None = None,
    secret_fields: frozenset[str] = frozenset(),
) -> str:
    """Turn a pydantic ValidationError into one line per problem, naming each field.

    Offending values are shown when short, except for fields in `secret_fields`.
    """
    lines = [f"invalid {what}:"]
    problems = error.errors(include_url=False, include_input=True)
    listed_known = False
    for problem in problems[:MAX_PROBLEMS]:
        location = ".".join(clip(str(part)) for part in problem["loc"]) or "(whole object)"
        kind = problem["type"]
        if kind == "extra_forbidden":
            line = f"  - unknown field `{location}`"
            if known_fields is not None and len(problem["loc"]) == 1 and not listed_known:
                line += f" (known fields: {', '.join(known_fields)})"
                listed_known = True
        elif kind == "missing":
            line = f"  - missing field `{location}`"
        else:
            secret = any(str(part) in secret_fields for part in problem["loc"])
            shown = "" if secret else _shown_input(problem)
            line = f"  - field `{location}`: {clip(problem['msg'], 1000)}{shown}"
        lines.append(line)
    if len(problems) > MAX_PROBLEMS:
        lines.append(f"  - and {len(problems) - MAX_PROBLEMS} more problems")
    return "\n".join(lines)


def _shown_input(problem: Any) -> str:
    """Show the offending value when it is a short scalar."""
    value = problem.get("input")
    if isinstance(value, bool | int | float) or value is None:
        return f" (got {value!r})"
    if isinstance(value, str) and len(value) <= MAX_SHOWN:
        return f" (got {clip(repr(value))})"
    if isinstance(value, str):
        return f" (got a string of {len(value)} characters)"
    if problem.get("type") == "value_error":
        return ""  # the message says what is wrong with the value
    return f" (got a value of type {_json_type(value)})"


def _json_type(value: object) -> str:
    """The JSON name of a value's type."""
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return type(value).__name__
