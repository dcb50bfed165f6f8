"""The acceptance-step harness and `inputs()` of `nixops4_protocol.testing`, on the example provider."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path
from typing import Annotated

import pytest
from nixops4_protocol.resource import Model
from nixops4_protocol.testing import Applied, Case, Step, inputs
from pydantic import Field

from tests.example_provider import provider
from tests.example_provider.file import FileInputs

EXAMPLE = [sys.executable, str(Path(__file__).resolve().parents[1] / "example_provider")]


class Inner(Model):
    """A nested model with defaults."""

    host: str
    port: int = 5432


class Outer(Model):
    """A model with every kind of field `inputs` fills."""

    name: str
    inner: Inner
    maybe: Inner | None = None
    many: list[Inner] = Field(default_factory=list)
    keyed: dict[str, Annotated[Inner, "meta"]] = Field(default_factory=dict)
    log_level: str | None = None


def test_inputs_fill_every_default_by_wire_name() -> None:
    """Defaults and nulls are present, camelCase; nested mappings get their defaults too."""
    built = inputs(
        Outer,
        name="n",
        inner={"host": "a"},
        maybe={"host": "b", "port": 1},
        many=[{"host": "c"}],
        keyed={"k": {"host": "d"}},
        logLevel="debug",
    )
    assert built == {
        "name": "n",
        "inner": {"host": "a", "port": 5432},
        "maybe": {"host": "b", "port": 1},
        "many": [{"host": "c", "port": 5432}],
        "keyed": {"k": {"host": "d", "port": 5432}},
        "logLevel": "debug",
    }
    assert inputs(Outer, name="n", inner={"host": "a"}, log_level=None)["maybe"] is None
    assert Outer.model_validate(built).inner.port == 5432


def test_inputs_refuse_unknown_and_missing_fields() -> None:
    """A typo or a missing required input at the top is a TypeError; nested ones pass as given."""
    with pytest.raises(TypeError, match="no field colour"):
        inputs(Outer, name="n", inner={"host": "a"}, colour="red")
    with pytest.raises(TypeError, match="needs a value for inner"):
        inputs(Outer, name="n")
    invalid = inputs(Outer, name="n", inner={"port": "x", "extra": 1})
    assert invalid["inner"] == {"port": "x", "extra": 1}


def test_stateless_case_creates_converges_and_destroys(tmp_path: Path) -> None:
    """Each step converges with a create, is applied twice, and destroy is repeated safely."""
    path = tmp_path / "f.txt"
    seen: list[str] = []

    def read(applied: Applied) -> None:
        seen.append(path.read_text())

    results = Case(
        type="file",
        provider=provider,
        observe=lambda: path.exists() and path.read_text(),
        steps=[
            Step(inputs=inputs(FileInputs, path=str(path), contents="a"), check=read),
            Step(
                inputs=inputs(FileInputs, path=str(path), contents="bb"),
                expect_outputs={"size": 2},
                check=read,
            ),
            Step(destroy=True),
        ],
    ).run()
    assert [next(iter(r.request)) for r in results] == [
        "createResourceRequest",
        "createResourceRequest",
        "destroyResourceRequest",
    ]
    assert results[2].request["destroyResourceRequest"]["resource"]["outputProperties"] == {
        "size": 2
    }
    assert seen == ["a", "bb"]
    assert not path.exists()


def test_stateful_case_updates_with_previous_inputs_and_outputs(tmp_path: Path) -> None:
    """Later steps of a stateful case are updates carrying the previous record; errors keep it."""
    first = {"initialize_with": 1}
    results = Case(
        type="memo",
        command=EXAMPLE,
        stateful=True,
        steps=[
            Step(inputs=first, expect_outputs={"value": 1}),
            Step(inputs={"initialize_with": "x", "colour": 1}, expect_error="unknown field"),
            Step(inputs={"initialize_with": 2}, expect_outputs={"value": 1}),
        ],
    ).run()
    update = results[2].request["updateResourceRequest"]
    assert update["resource"] == {
        "type": "memo",
        "inputProperties": first,
        "outputProperties": {"value": 1},
    }


def test_a_second_apply_that_changes_something_fails(tmp_path: Path) -> None:
    """The harness notices when re-applying the same inputs changes what `observe` sees."""
    changes = itertools.count()
    case = Case(
        type="file",
        provider=provider,
        observe=lambda: next(changes),
        steps=[Step(inputs=inputs(FileInputs, path=str(tmp_path / "f"), contents="a"))],
    )
    with pytest.raises(AssertionError, match="step 1: applying again was not a no-op"):
        case.run()


def test_wrong_expectations_fail_and_name_the_step(tmp_path: Path) -> None:
    """A wrong output, a missing error, an unexpected error and a missing log line all fail."""
    good = inputs(FileInputs, path=str(tmp_path / "f"), contents="abc")
    cases = {
        "step 1: output size is 3, not 4": Step(inputs=good, expect_outputs={"size": 4}),
        "step 1: expected an error": Step(inputs=good, expect_error="nope"),
        "step 1: provider answered an error": Step(inputs={**good, "behaviour": "crash"}),
        "lacks 'something else'": Step(
            inputs={**good, "behaviour": "crash"}, expect_error="something else"
        ),
        "step 1: stderr lacks 'never logged'": Step(inputs=good, expect_log="never logged"),
    }
    for message, step in cases.items():
        with pytest.raises(AssertionError, match=message):
            Case(type="file", provider=provider, steps=[step]).run()


@pytest.mark.parametrize("in_process", [True, False], ids=["provider", "command"])
def test_declared_secrets_are_scanned_in_stdout_and_stderr(
    tmp_path: Path, in_process: bool
) -> None:
    """A value the case declares secret fails the case when the provider prints or logs it."""
    stray = inputs(FileInputs, path=str(tmp_path / "f"), contents="x", behaviour="print")

    def make(step: Step, secrets: list[str]) -> Case:
        if in_process:
            return Case("file", [step], provider=provider, secrets=secrets)
        return Case("file", [step], command=EXAMPLE, secrets=secrets)

    with pytest.raises(AssertionError, match=r"step 1: a declared secret \(12 chars\)"):
        make(Step(inputs=stray), ["stray output"]).run()
    learned: list[str] = []

    def learn(applied: Applied) -> None:
        learned.append("wrote file")

    logged = inputs(FileInputs, path=str(tmp_path / "g"), contents="x")
    with pytest.raises(AssertionError, match="declared secret"):
        make(Step(inputs=logged, check=learn), learned).run()


def test_a_declared_secret_in_a_response_fails_before_any_expectation() -> None:
    """A secret in the outputs is reported as a leak, not quoted in an expectation's message."""
    case = Case(
        "memo",
        [Step({"initialize_with": "s3cr3t-value"}, expect_outputs={"value": "other"})],
        provider=provider,
        stateful=True,
        secrets=["s3cr3t-value"],
    )
    with pytest.raises(AssertionError, match=r"declared secret \(12 chars\)") as raised:
        case.run()
    assert "s3cr3t-value" not in str(raised.value)
