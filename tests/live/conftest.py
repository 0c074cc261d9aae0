"""The real backend, started the way production and the conformance suite start it."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from app.core.config import PROJECT_ROOT, settings
from tests.processes import free_port, stop_process_group, tool_path


@dataclass
class LiveBackend:
    url: str
    log: Path


@pytest.fixture(scope="session")
def live_backend(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveBackend]:
    """`reflex run --env prod --backend-only` on the run's database, in its own process group."""
    port = free_port()
    log = tmp_path_factory.mktemp("live") / "backend.log"
    env = {
        **os.environ,
        "PATH": tool_path(),
        "REFLEX_USE_SYSTEM_BUN": "1",
        "REFLEX_TELEMETRY_ENABLED": "false",
        "DATABASE_URL": database,
        "SECRET_KEY": settings.SECRET_KEY,
    }
    reflex = Path(sys.executable).parent / "reflex"
    command = [
        str(reflex), "run", "--env", "prod", "--backend-only",
        "--backend-host", "127.0.0.1", "--backend-port", str(port),
    ]  # fmt: skip
    with log.open("w") as output:
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                pytest.fail(f"reflex exited with {process.returncode}:\n{log.read_text()}")
            try:
                if httpx.get(f"{url}/api/ping", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"reflex did not answer within 180 s:\n{log.read_text()}")
            time.sleep(0.5)
        yield LiveBackend(url, log)
    finally:
        stop_process_group(process)
