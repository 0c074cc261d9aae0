"""Servers the tests start: free loopback ports, the project's tools, clean stops."""

import os
import signal
import socket
import subprocess
import sys
from contextlib import suppress
from pathlib import Path

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
