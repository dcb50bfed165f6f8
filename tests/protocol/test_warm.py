"""The warm provider server: safety, freshness, fallback, and runs identical to in-process ones."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.warm import Result, Warm
from tests.support.warm import run as run_recorded

ROOT = Path(__file__).resolve().parents[2]
PROBE = [sys.executable, str(ROOT / "tests" / "protocol" / "warm_probe")]
EXAMPLE = [sys.executable, str(ROOT / "tests" / "example_provider")]


def run(
    command: list[str], requests: list[dict[str, Any] | bytes], env: dict[str, str], **options: Any
) -> Result:
    """Run a provider of these tests (no secrets) without adding to the leak-scan transcript."""
    return run_recorded(command, requests, env, record=False, **options)


def probe(**inputs: Any) -> dict[str, Any]:
    """A createResourceRequest for the probe type."""
    body = {"type": "probe", "inputProperties": inputs, "isStateful": False}
    return {"createResourceRequest": body}


def outputs(result: Result, index: int = 0) -> dict[str, Any]:
    """The outputs of the `index`th response, failing with the error text."""
    response = result.responses[index]
    assert "createResourceResponse" in response, response
    found: dict[str, Any] = response["createResourceResponse"]["outputProperties"]
    return found


def without_pid(result: Result) -> list[dict[str, Any]]:
    """The responses without the probe's pid and `preloaded` (they differ warm and cold)."""
    return [
        {
            kind: {
                **body,
                "outputProperties": {**body["outputProperties"], "pid": 0, "preloaded": None},
            }
        }
        if "outputProperties" in body
        else {kind: body}
        for response in result.responses
        for kind, body in response.items()
    ]


def test_first_run_is_served_in_process_and_starts_the_server(warm: Warm) -> None:
    """The first run finds no server: it is served in process, and starts one for the next runs."""
    first = run(PROBE, [probe()], warm.env)
    assert first.served_in_process
    assert "started one for the next runs" in first.stderr
    assert outputs(first)["pid"] == first.pid
    warm.wait_for_socket()
    second = run(PROBE, [probe()], warm.env)
    assert not second.served_in_process, second.stderr
    assert outputs(second)["pid"] != second.pid
    assert second.status == 0


def test_worker_has_the_imports_providers_defer_into_functions(warm: Warm) -> None:
    """A module a provider imports only inside a function is already loaded in a warm worker."""
    warm.start(PROBE)
    hot = run(PROBE, [probe()], warm.env)
    cold = run(PROBE, [probe()], warm.cold_env)
    assert not hot.served_in_process, hot.stderr
    assert outputs(hot)["preloaded"] is True
    assert outputs(cold)["preloaded"] is False


def test_worker_runs_with_the_clients_cwd_umask_argv_environment_and_stdio(
    warm: Warm, tmp_path: Path
) -> None:
    """A worker takes the client's working directory, umask, arguments, environment and stdio."""
    warm.start(PROBE)
    command = [*PROBE, "--option", "värde"]
    env = {**warm.env, "WARM_PROBE": "a value ✓"}
    hot = run(command, [probe()], env, cwd=str(tmp_path), umask=0o027)
    cold = run(
        command, [probe()], {**env, "NIXOPS4_PROVIDER_WARM": "0"}, cwd=str(tmp_path), umask=0o027
    )
    assert not hot.served_in_process, hot.stderr
    assert cold.served_in_process
    for result in (hot, cold):
        seen = outputs(result)
        assert seen["cwd"] == str(tmp_path)
        assert seen["umask"] == 0o027
        assert seen["argv"][1:] == ["--option", "värde"]
        assert seen["value"] == "a value ✓"
        assert seen["stdinIsNull"]
        assert seen["stdoutIsStderr"]
    assert outputs(hot)["pid"] != hot.pid
    assert outputs(cold)["pid"] == cold.pid
    assert without_pid(hot) == without_pid(cold)


CASES: dict[str, tuple[list[dict[str, Any] | bytes], int]] = {
    "a valid request": ([probe()], 0),
    "unknown type": ([{"createResourceRequest": {"type": "nope", "inputProperties": {}}}], 0),
    "invalid inputs": ([probe(colour="blue")], 0),
    "malformed line": ([b"{not json"], 0),
    "unknown kind": ([{"teaRequest": {}}], 0),
    "os._exit(7) in a handler": ([probe(), probe(exitCode=7)], 7),
    "killed by SIGTERM in a handler": ([probe(), probe(signal=int(signal.SIGTERM))], -15),
    "killed by SIGKILL in a handler": ([probe(), probe(signal=int(signal.SIGKILL))], -9),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_responses_and_exit_status_are_the_same_warm_and_cold(warm: Warm, case: str) -> None:
    """Every kind of run answers the same responses and ends with the same status, warm or cold."""
    requests, status = CASES[case]
    warm.start(PROBE)
    hot = run(PROBE, requests, warm.env)
    cold = run(PROBE, requests, warm.cold_env)
    assert not hot.served_in_process, hot.stderr
    assert (hot.status, cold.status) == (status, status), (hot.stderr, cold.stderr)
    assert without_pid(hot) == without_pid(cold)


def test_parallel_runs_each_get_a_worker(warm: Warm) -> None:
    """Eight clients at once (NixOps4 runs resources in parallel) each get their own worker."""
    from concurrent.futures import ThreadPoolExecutor

    warm.start(PROBE)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(
            pool.map(
                lambda index: run(PROBE, [probe()], {**warm.env, "WARM_PROBE": str(index)}),
                range(8),
            )
        )
    assert [outputs(result)["value"] for result in results] == [str(i) for i in range(8)]
    assert all(not result.served_in_process for result in results), results[0].stderr
    workers = {outputs(result)["pid"] for result in results}
    assert len(workers) == 8
    assert workers.isdisjoint(result.pid for result in results)


def test_example_provider_answers_the_same_warm_and_cold(warm: Warm, tmp_path: Path) -> None:
    """The example provider writes the same file and answers the same, warm or cold."""
    request = {
        "createResourceRequest": {
            "type": "file",
            "inputProperties": {"path": "greeting.txt", "contents": "hello"},
            "isStateful": False,
        }
    }
    warm.start(EXAMPLE)
    for env, directory in ((warm.env, "hot"), (warm.cold_env, "cold")):
        (tmp_path / directory).mkdir()
        result = run(EXAMPLE, [request, {"nope": {}}], env, cwd=str(tmp_path / directory))
        assert result.served_in_process == (directory == "cold"), result.stderr
        assert result.status == 0
        assert result.responses[0] == {"createResourceResponse": {"outputProperties": {"size": 5}}}
        assert "errorResponse" in result.responses[1]
        assert (tmp_path / directory / "greeting.txt").read_text() == "hello"
        assert '"event": "wrote file"' in result.stderr


def test_signal_to_the_client_reaches_the_worker(warm: Warm) -> None:
    """SIGTERM to the process nixops4 started ends the worker, and the client ends the same way."""
    import subprocess

    warm.start(PROBE)
    process = subprocess.Popen(
        PROBE,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=warm.env,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    process.stdin.write(
        b'{"createResourceRequest":{"type":"probe","inputProperties":{},"isStateful":false}}\n'
    )
    process.stdin.write(
        b'{"createResourceRequest":{"type":"probe","inputProperties":{"sleep":60},"isStateful":false}}\n'
    )
    process.stdin.flush()
    import json

    worker = json.loads(process.stdout.readline())["createResourceResponse"]["outputProperties"][
        "pid"
    ]
    assert worker != process.pid
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == -signal.SIGTERM
    warm.wait_until(lambda: not _alive(worker), "the worker ended")


def test_killed_client_ends_its_worker(warm: Warm) -> None:
    """A client killed outright (SIGKILL) does not leave its worker running."""
    import json
    import subprocess

    warm.start(PROBE)
    process = subprocess.Popen(
        PROBE,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=warm.env,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    process.stdin.write(
        b'{"createResourceRequest":{"type":"probe","inputProperties":{},"isStateful":false}}\n'
    )
    process.stdin.write(
        b'{"createResourceRequest":{"type":"probe","inputProperties":{"sleep":60},"isStateful":false}}\n'
    )
    process.stdin.flush()
    worker = json.loads(process.stdout.readline())["createResourceResponse"]["outputProperties"][
        "pid"
    ]
    process.kill()
    process.wait()
    warm.wait_until(lambda: not _alive(worker), "the worker of a killed client ended")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
            return stat.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


def test_switch_turns_the_server_off(warm: Warm) -> None:
    """NIXOPS4_PROVIDER_WARM=0 serves in process and starts no server."""
    result = run(PROBE, [probe()], warm.cold_env)
    assert result.served_in_process
    assert "NIXOPS4_PROVIDER_WARM turns the warm server off" in result.stderr
    assert outputs(result)["pid"] == result.pid
    assert not os.path.exists(warm.sockets_directory)


def test_directory_others_can_enter_is_not_used(warm: Warm) -> None:
    """A socket directory open to others (or owned by another user) is never used."""
    os.makedirs(warm.sockets_directory, mode=0o700)
    os.chmod(warm.sockets_directory, 0o755)  # noqa: S103 - the case under test
    result = run(PROBE, [probe()], warm.env)
    assert result.served_in_process
    assert "is open to others (mode 755)" in result.stderr
    assert os.listdir(warm.sockets_directory) == []


@pytest.mark.skipif(os.getuid() != 0, reason="switching to another uid needs root")
def test_another_uid_is_refused(warm: Warm) -> None:
    """A client of another uid that reaches the socket gets no worker (SO_PEERCRED), the owner does."""
    path = warm.start(PROBE)
    os.chmod(warm.directory, 0o711)  # noqa: S103 - let `nobody` reach the socket
    os.chmod(warm.sockets_directory, 0o711)  # noqa: S103 - let `nobody` reach the socket, to test the uid check
    os.chmod(path, 0o666)  # noqa: S103 - see above
    nobody = pwd.getpwnam("nobody")
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        try:
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            client.settimeout(10)
            client.connect(path)
            answer = client.recv(5)  # a worker that takes the connection says `A` first
            os.write(writing, b"refused" if answer == b"" else b"answered " + answer)
        except BaseException as error:
            os.write(writing, f"error {error!r}".encode())
        finally:
            os._exit(0)
    os.close(writing)
    os.waitpid(child, 0)
    with os.fdopen(reading, "rb") as report:
        assert report.read() == b"refused"
    os.chmod(warm.sockets_directory, 0o700)
    owner = run(PROBE, [probe()], warm.env)
    assert not owner.served_in_process, owner.stderr


def test_stale_code_is_never_used(warm: Warm, tmp_path: Path) -> None:
    """After a source file changes, no run gets the old code; the old server exits."""
    package = tmp_path / "staleprobe"
    shutil.copytree(ROOT / "tests" / "protocol" / "warm_probe", package)
    (package / "__init__.py").write_text(
        "from nixops4_protocol.provider import Provider\n"
        'provider = Provider("warmprobe", {"probe": "staleprobe.probe:Probe"})\n'
    )
    (package / "__main__.py").write_text(
        "import os, sys\n"
        "sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.realpath(__file__))))\n"
        "from nixops4_protocol.warm.client import launch\n"
        'launch("staleprobe:provider")\n'
    )
    command = [sys.executable, str(package)]
    old_socket = warm.start(command)
    before = run(command, [probe()], warm.env)
    assert not before.served_in_process
    assert outputs(before)["version"] == "1"
    source = package / "probe.py"
    source.write_text(source.read_text().replace('VERSION = "1"', 'VERSION = "2"'))
    for _ in range(3):
        after = run(command, [probe()], warm.env)
        assert outputs(after)["version"] == "2", after.stderr
    warm.wait_until(lambda: not os.path.exists(old_socket), "the stale server removed its socket")
    warm.wait_for_socket(other_than=[old_socket])
    fresh = run(command, [probe()], warm.env)
    assert not fresh.served_in_process, fresh.stderr
    assert outputs(fresh)["version"] == "2"


def test_server_exits_when_idle(warm: Warm) -> None:
    """A server with nothing to do exits after its idle timeout, and its workers with it."""
    env = {**warm.env, "NIXOPS4_PROVIDER_WARM_IDLE": "1"}
    path = warm.start(PROBE, env)
    warm.wait_until(lambda: not os.path.exists(path), "the idle server removed its socket")
    warm.wait_until(lambda: not warm.processes(), "the idle server and its worker exited")


@pytest.fixture(params=["garbage file", "accepts and closes", "never accepts"])
def broken_socket(request: pytest.FixtureRequest, warm: Warm) -> Iterator[str]:
    """The server's socket path taken over by something that is not a working server."""
    path = warm.start(PROBE)
    os.unlink(path)  # the server sees its socket gone and exits
    warm.wait_until(lambda: not warm.processes(), "the replaced server exited")
    stop = threading.Event()
    if request.param == "garbage file":
        Path(path).write_bytes(b"\x00not a socket")
        yield request.param
        return
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(8)

    def close_every_connection() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            connection.close()

    thread = threading.Thread(target=close_every_connection)
    if request.param == "accepts and closes":
        thread.start()
    yield request.param
    stop.set()
    if thread.is_alive():
        thread.join()
    listener.close()


def test_broken_socket_falls_back_to_in_process(warm: Warm, broken_socket: str) -> None:
    """Whatever is wrong at the socket, the run is served in process, correctly, saying why."""
    result = run(PROBE, [probe()], warm.env)
    assert result.served_in_process, broken_socket
    assert outputs(result)["pid"] == result.pid
    assert result.status == 0
    assert '"warm_server":' in result.stderr
