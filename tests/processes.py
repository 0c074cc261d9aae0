"""Servers the tests start: free loopback ports, the project's tools, clean stops."""

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path

import httpx
import pytest

from app.core.config import PROJECT_ROOT


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def tool_path() -> str:
    """PATH with the project's bun and the venv's scripts first, as scripts/env.sh sets it."""
    extra = [str(PROJECT_ROOT / ".tools/node_modules/.bin"), str(Path(sys.executable).parent)]
    return os.pathsep.join([*extra, os.environ.get("PATH", "")])


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


def start_logged(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start a server from the project root in its own process group, its output in `log`."""
    with log.open("w") as output:
        return subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
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
    process: subprocess.Popen[bytes], url: str, log: Path, timeout: float, name: str = "reflex"
) -> None:
    """Poll `url` until it answers 200, failing at once (with the log) if the server exits."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            pytest.fail(f"{name} exited with {process.returncode}:\n{log_tail(log)}")
        try:
            if httpx.get(url, timeout=5, follow_redirects=True).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{name}: {url} did not answer 200 in {timeout} s:\n{log_tail(log)}")
        time.sleep(0.5)
