"""The real backend, started the way production and the conformance suite start it."""

import os
import subprocess
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.core.config import settings
from devtools.servers import (
    reflex_prod,
    serve_on_free_port,
    start_logged,
    stop_process_group,
    tool_path,
)


@dataclass
class LiveBackend:
    url: str
    log: Path


def backend_env(**settings_env: str) -> dict[str, str]:
    """The test run's environment with the project's tools on PATH, then `settings_env`."""
    return {
        **os.environ,
        "PATH": tool_path(),
        "REFLEX_USE_SYSTEM_BUN": "1",
        "REFLEX_TELEMETRY_ENABLED": "false",
        **settings_env,
    }


def start_backend(env: dict[str, str], log: Path, port: int) -> subprocess.Popen[bytes]:
    """`reflex run --env prod --backend-only` on `port`, in its own process group."""
    return start_logged(reflex_prod(port, backend_only=True), env, log)


def serve_backend(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], int]:
    """A backend on a free port, once it answers /api/ping; its process and port."""
    return serve_on_free_port(
        lambda port: start_backend(env, log, port),
        lambda port: f"http://127.0.0.1:{port}/api/ping",
        log,
        180,
    )


def run_backend(database: str, log: Path, **settings_env: str) -> Iterator[LiveBackend]:
    """A backend on `database` for as long as the generator runs."""
    env = backend_env(DATABASE_URL=database, SECRET_KEY=settings.SECRET_KEY, **settings_env)
    process, port = serve_backend(env, log)
    try:
        yield LiveBackend(f"http://127.0.0.1:{port}", log)
    finally:
        stop_process_group(process)


# tests/live/faults/sitecustomize.py on a backend's PYTHONPATH: creating a row titled
# FAULT_TITLE raises inside the service, for the tests of what a bug leaves behind.
FAULT_TITLE = "an injected bug"
FAULTS = {
    "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).parent / "faults"), *filter(None, [os.environ.get("PYTHONPATH")])]
    ),
    "FAULT_TITLE": FAULT_TITLE,
}


def run_own_backend(
    database: str, tmp_path_factory: pytest.TempPathFactory, name: str, **settings_env: str
) -> Generator[LiveBackend, None, None]:
    """A backend with settings of its own, for as long as the generator runs: its log and
    its own UI-state folder (so it can run beside live_backend) in a new folder `name`."""
    work = tmp_path_factory.mktemp(name)
    yield from run_backend(
        database,
        work / "backend.log",
        REFLEX_STATES_WORKDIR=str(work / "states"),
        **settings_env,
    )


@pytest.fixture(scope="session")
def live_backend(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveBackend]:
    """The backend as the test run's environment configures it (ENVIRONMENT=local)."""
    yield from run_backend(database, tmp_path_factory.mktemp("live") / "backend.log")


# The deployment's own origins; nothing else may call the API from a browser.
PRODUCTION_FRONTEND = "https://dashboard.example.com"
PRODUCTION_EXTRA_ORIGIN = "https://admin.example.com"


@pytest.fixture(scope="session")
def production_backend(
    database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveBackend]:
    """The backend with ENVIRONMENT=production, as a deployment configures it."""
    yield from run_own_backend(
        database,
        tmp_path_factory,
        "production",
        ENVIRONMENT="production",
        FRONTEND_HOST=PRODUCTION_FRONTEND,
        BACKEND_CORS_ORIGINS=f"{PRODUCTION_EXTRA_ORIGIN}/",
    )
