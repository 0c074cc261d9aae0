"""Servers the tools start: free loopback ports, the project's tools, clean stops."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import redis

ROOT = Path(__file__).resolve().parents[1]
# What Reflex, granian, nginx and redis-server say when their port was taken meanwhile.
PORT_TAKEN = re.compile(r"address already in use|port: \d+ is already in use", re.IGNORECASE)


class ServerNotReady(RuntimeError):
    """A started server exited, or did not answer in time; the message ends with its log."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def reserved_port() -> Iterator[int]:
    """A port held for a server that can only start later (its URL is needed first).

    The socket stays bound with SO_REUSEPORT, so no other process is handed the port,
    while a server that also binds with SO_REUSEPORT (nginx: `listen ... reuseport`) can
    take it; leave the block once that server listens.
    """
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        holder.bind(("127.0.0.1", 0))
        yield int(holder.getsockname()[1])


def tool_path() -> str:
    """PATH with the project's bun and the venv's scripts first, as scripts/env.sh sets it."""
    extra = [
        str(ROOT / ".tools/reflex/bun/bin"),
        str(ROOT / ".tools/node_modules/.bin"),
        str(ROOT / ".tools/node/bin"),
        str(Path(sys.executable).parent),
    ]
    return os.pathsep.join([*extra, os.environ.get("PATH", "")])


def reflex_prod(port: int, *, backend_only: bool = False) -> list[str]:
    """`reflex run --env prod` on loopback `port`, as production starts it: the backend
    alone, or the whole app (the built UI and the backend on that one port)."""
    reflex = str(Path(sys.executable).parent / "reflex")
    if backend_only:
        return [reflex, "run", "--env", "prod", "--backend-only",
                "--backend-host", "127.0.0.1", "--backend-port", str(port)]  # fmt: skip
    return [reflex, "run", "--env", "prod", "--backend-host", "127.0.0.1",
            "--frontend-port", str(port), "--backend-port", str(port)]  # fmt: skip


def redis_server(port: int) -> list[str]:
    """A throwaway redis-server on loopback `port`: nothing saved to disk."""
    return ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--daemonize", "no"]  # fmt: skip


def redis_answers(url: str) -> bool:
    with suppress(redis.RedisError), redis.Redis.from_url(url, socket_timeout=2) as client:
        return bool(client.ping())
    return False


def start_logged(
    command: list[str], env: dict[str, str], log: Path, cwd: Path = ROOT
) -> subprocess.Popen[bytes]:
    """Start a server from the project root (or another checkout of it, `cwd`) in its own
    process group, its output in `log`."""
    with log.open("w") as output:
        return subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def log_tail(log: Path, lines: int = 60) -> str:
    text = log.read_text(errors="replace") if log.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def http_answers(url: str, ready: Callable[[int], bool] = lambda status: status == 200) -> bool:
    with suppress(httpx.TransportError):
        return ready(httpx.get(url, timeout=5, follow_redirects=True).status_code)
    return False


def wait_until_ok(
    process: subprocess.Popen[bytes],
    url: str,
    log: Path,
    timeout: float,
    name: str = "reflex",
    ready: Callable[[int], bool] = lambda status: status == 200,
    probe: Callable[[str], bool] | None = None,
) -> None:
    """Poll `url` until its status is `ready` (or `probe(url)` is true, for servers that do
    not speak HTTP); raise at once, with the log, if the server exits."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise ServerNotReady(f"{name} exited with {process.returncode}:\n{log_tail(log)}")
        if probe(url) if probe else http_answers(url, ready):
            return
        if time.monotonic() > deadline:
            raise ServerNotReady(f"{name}: {url} did not answer in {timeout} s:\n{log_tail(log)}")
        time.sleep(0.5)


def stop_process_group(
    process: subprocess.Popen[bytes], sig: signal.Signals = signal.SIGTERM
) -> None:
    """Stop a server started with start_new_session=True, and everything it spawned."""
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def serve_on_free_port(
    start: Callable[[int], subprocess.Popen[bytes]],
    ready_url: Callable[[int], str],
    log: Path,
    timeout: float,
    name: str = "server",
    attempts: int = 3,
    probe: Callable[[str], bool] | None = None,
) -> tuple[subprocess.Popen[bytes], int]:
    """Start a server with `start(port)` on a free port and wait until `ready_url(port)` answers.

    A port that was free when chosen can be taken before the server binds it (another
    test run, a browser): a server that exits saying so is started again on another port.
    """
    for attempt in range(1, attempts + 1):
        port = free_port()
        process = start(port)
        try:
            wait_until_ok(process, ready_url(port), log, timeout, name, probe=probe)
        except ServerNotReady:
            stop_process_group(process)
            if attempt == attempts or not PORT_TAKEN.search(log_tail(log, 200)):
                raise
            continue
        return process, port
    raise AssertionError("unreachable")
