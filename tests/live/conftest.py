"""The real backend, started the way production and the conformance suite start it."""

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.core.config import settings
from devtools.servers import (
    serve_on_free_port,
    start_logged,
    stop_process_group,
    tool_path,
)


@dataclass
class LiveBackend:
    url: str
    log: Path


@pytest.fixture(scope="session")
def live_backend(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveBackend]:
    """`reflex run --env prod --backend-only` on the run's database, in its own process group."""
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

    def start(port: int) -> subprocess.Popen[bytes]:
        command = [
            str(reflex), "run", "--env", "prod", "--backend-only",
            "--backend-host", "127.0.0.1", "--backend-port", str(port),
        ]  # fmt: skip
        return start_logged(command, env, log)

    process, port = serve_on_free_port(
        start, lambda port: f"http://127.0.0.1:{port}/api/ping", log, 180
    )
    try:
        yield LiveBackend(f"http://127.0.0.1:{port}", log)
    finally:
        stop_process_group(process)
