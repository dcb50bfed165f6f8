"""The `probe` type: outputs what a run sees of its process; ends the process on request."""

from __future__ import annotations

import os
import signal
import sys
import time

from nixops4_protocol.context import Context
from nixops4_protocol.resource import Model, Resource
from pydantic import Field

VERSION = "1"
"""Changed by the freshness test in a copy of this package."""


class ProbeInputs(Model):
    """Inputs of `probe`."""

    variable: str = Field(default="WARM_PROBE", description="Environment variable to report.")
    exit_code: int | None = Field(default=None, description="End the process with os._exit.")
    signal: int | None = Field(default=None, description="End the process with this signal.")
    sleep: float = Field(default=0, description="Seconds to sleep before answering.")


class ProbeOutputs(Model):
    """Outputs of `probe`."""

    version: str = Field(description="VERSION of the code that answered.")
    pid: int = Field(description="Process id of the run.")
    cwd: str = Field(description="Working directory of the run.")
    umask: int = Field(description="Umask of the run.")
    argv: list[str] = Field(description="sys.argv of the run.")
    value: str | None = Field(description="The environment variable `variable`.")
    stdin_is_null: bool = Field(description="Whether fd 0 is /dev/null (stdout discipline).")
    stdout_is_stderr: bool = Field(description="Whether fd 1 is fd 2 (stdout discipline).")
    preloaded: bool = Field(description="Whether the module `_deferred` imports was loaded.")


class Probe(Resource[ProbeInputs, ProbeOutputs]):
    """Reports its process."""

    def describe(self, inputs: ProbeInputs) -> str:
        """Name the probe by its variable."""
        return inputs.variable

    def create(self, inputs: ProbeInputs, ctx: Context) -> ProbeOutputs:
        """Report, or end the process as asked."""
        preloaded = "colorsys" in sys.modules
        _deferred()
        time.sleep(inputs.sleep)
        sys.stderr.flush()
        if inputs.exit_code is not None:
            os._exit(inputs.exit_code)
        if inputs.signal is not None:
            os.kill(os.getpid(), inputs.signal)
            signal.pause()
        umask = os.umask(0)
        os.umask(umask)
        ctx.log.info("probed", variable=inputs.variable)
        return ProbeOutputs.model_validate(
            {
                "version": VERSION,
                "pid": os.getpid(),
                "cwd": os.getcwd(),
                "umask": umask,
                "argv": sys.argv,
                "value": os.environ.get(inputs.variable),
                "stdinIsNull": os.path.samestat(os.fstat(0), os.stat(os.devnull)),
                "stdoutIsStderr": os.path.samestat(os.fstat(1), os.fstat(2)),
                "preloaded": preloaded,
            }
        )


def _deferred() -> None:
    """Stands for a backend client a provider imports only when a request needs it."""
    import colorsys

    colorsys.rgb_to_hsv(0, 0, 0)
