"""The provider example of docs/write-a-provider.md works as the page says."""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

from nixops4_protocol.client import create_request, update_request
from nixops4_protocol.testing import error_of, outputs_of, run_requests

PAGE = Path(__file__).resolve().parents[2] / "docs" / "write-a-provider.md"


def _example(tmp_path: Path) -> list[str]:
    section = PAGE.read_text(encoding="utf-8").split("# Write your own provider", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "the page's provider example is missing"
    script = tmp_path / "greeting.py"
    script.write_text(match[1], encoding="utf-8")
    return [sys.executable, str(script)]


def test_readme_provider_example_runs_as_documented(tmp_path: Path) -> None:
    """Create, a refused move, and the unknown-field message quoted on the page."""
    command = _example(tmp_path)
    inputs = {"path": "hello.txt", "name": "world"}
    run = run_requests(
        command,
        [
            create_request("greeting", inputs, stateful=True),
            update_request(
                "greeting", {"path": "moved.txt", "name": "x"}, inputs, {"text": "Hello, world!"}
            ),
            create_request("greeting", inputs | {"colour": "red"}, stateful=False),
        ],
        cwd=tmp_path,
    )
    assert outputs_of(run.responses[0]) == {"text": "Hello, world!"}
    assert (tmp_path / "hello.txt").read_text() == "Hello, world!"
    assert error_of(run.responses[1]).startswith(
        "failed to update greeting greeting moved.txt: input `path` cannot be changed in place"
    )
    assert error_of(run.responses[2]).startswith(
        "invalid inputs for greeting greeting:\n  - unknown field `colour` (known fields: path, name)"
    )


def test_readme_testing_example_runs(tmp_path: Path) -> None:
    """The page's acceptance-case example passes against its provider."""
    import runpy

    from nixops4_protocol.testing import Case, Step, inputs

    section = PAGE.read_text(encoding="utf-8").split("# Write your own provider", 1)[1]
    provider_code, case_code = re.findall(r"```python\n(.*?)```", section, re.S)[:2]
    (tmp_path / "greeting.py").write_text(provider_code, encoding="utf-8")
    namespace = runpy.run_path(str(tmp_path / "greeting.py"), run_name="greeting")
    file = tmp_path / "hello.txt"
    names = {"Case": Case, "Step": Step, "inputs": inputs, "file": file, **namespace}
    exec(textwrap.dedent(case_code), names)  # noqa: S102 - the PAGE's own example
    assert file.read_text() == "Hello, you!"
