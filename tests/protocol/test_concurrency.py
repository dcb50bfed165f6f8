"""Several provider processes at once, as nixops4 runs independent resources in parallel."""

from __future__ import annotations

import asyncio
from pathlib import Path

from nixops4_protocol.client import create_request
from nixops4_protocol.testing import async_run_requests, outputs_of

from tests.protocol.test_process import EXAMPLE


async def test_parallel_processes_answer_independently(tmp_path: Path) -> None:
    """Eight concurrent providers each answer their own request on their own channel."""
    requests = [
        create_request(
            "file", {"path": str(tmp_path / f"f{n}"), "contents": "x" * n}, stateful=False
        )
        for n in range(8)
    ]
    runs = await asyncio.gather(*(async_run_requests(EXAMPLE, [r]) for r in requests))
    assert [outputs_of(run.responses[0]) for run in runs] == [{"size": n} for n in range(8)]
    assert all(run.exit_status == 0 and run.trailing_stdout == b"" for run in runs)
