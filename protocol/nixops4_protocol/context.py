"""What a handler gets besides its inputs: who it is, a logger, progress reporting."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .log import Logger
    from .progress import Progress


@dataclass
class Context:
    """Per-request context handed to resource handlers."""

    provider: str
    resource_type: str
    operation: str
    resource: str = ""
    """The handler's own name for the resource (`describe(inputs)`), e.g. `role "app"`."""
    is_stateful: bool = False
    plan: bool = False
    """Plan only (`nixops4-provider-run plan`): log what would change, write nothing."""
    _log: Logger | None = field(default=None, repr=False)

    @property
    def log(self) -> Logger:
        """A structured logger bound to this request; structlog is loaded on first use."""
        if self._log is None:
            from .log import get_logger

            self._log = get_logger(
                provider=self.provider,
                type=self.resource_type,
                op=self.operation,
                **({"resource": self.resource} if self.resource else {}),
            )
        return self._log

    def progress(self, what: str, **details: Any) -> Progress:
        """Report a long wait: a line when it starts, then one every few seconds with elapsed time."""
        from .progress import Progress

        return Progress(self.log, what, details)
