"""Servers the tools start: free loopback ports, the project's tools, clean stops."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


class ServerNotReady(RuntimeError):
    """A started server exited, or did not answer in time; the message ends with its log."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def tool_path() -> str:
    """PATH with the project's bun and the venv's scripts first, as scripts/env.sh sets it."""
    extra = [str(ROOT / ".tools/node_modules/.bin"), str(Path(sys.executable).parent)]
    return os.pathsep.join([*extra, os.environ.get("PATH", "")])


def start_logged(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start a server from the project root in its own process group, its output in `log`."""
    with log.open("w") as output:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def log_tail(log: Path, lines: int = 60) -> str:
    text = log.read_text(errors="replace") if log.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def wait_until_ok(
    process: subprocess.Popen[bytes],
    url: str,
    log: Path,
    timeout: float,
    name: str = "reflex",
    ready: Callable[[int], bool] = lambda status: status == 200,
) -> None:
    """Poll `url` until its status is `ready`; raise at once, with the log, if the server exits."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise ServerNotReady(f"{name} exited with {process.returncode}:\n{log_tail(log)}")
        with suppress(httpx.TransportError):
            if ready(httpx.get(url, timeout=5, follow_redirects=True).status_code):
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
