"""A backend that cannot start stops at once with one clear line and a non-zero exit.

A container with a wrong DATABASE_URL (or a database that never came up) must not run
unhealthy forever: it exits, so the orchestrator restarts it and a rolling deploy rolls
back (scripts/deploy.sh). The same holds for a missing secret in production.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.servers import free_port, start_logged, stop_process_group, tool_path

pytestmark = pytest.mark.live


def start_backend(tmp_path: Path, **settings_env: str) -> tuple[subprocess.Popen[bytes], Path]:
    log = tmp_path / "backend.log"
    env = {
        **os.environ,
        "PATH": tool_path(),
        "REFLEX_USE_SYSTEM_BUN": "1",
        "REFLEX_TELEMETRY_ENABLED": "false",
        "REFLEX_WEB_WORKDIR": str(tmp_path / "web"),
        "REFLEX_STATES_WORKDIR": str(tmp_path / "states"),
        **settings_env,
    }
    command = [
        str(Path(sys.executable).parent / "reflex"), "run", "--env", "prod", "--backend-only",
        "--backend-host", "127.0.0.1", "--backend-port", str(free_port()),
    ]  # fmt: skip
    return start_logged(command, env, log), log


def test_an_unreachable_database_stops_the_backend_with_one_line(tmp_path: Path) -> None:
    # Nothing listens on port 1; the password must never reach the log.
    process, log = start_backend(
        tmp_path,
        DATABASE_URL="postgresql://app:do-not-log-me@127.0.0.1:1/app",
        DB_WAIT_SECONDS="2",
    )
    try:
        assert process.wait(120) != 0
    finally:
        stop_process_group(process)
    text = log.read_text()
    critical = [line for line in text.splitlines() if "CRITICAL" in line]
    assert len(critical) == 1, text
    assert "did not answer within 2 s (DB_WAIT_SECONDS)" in critical[0]
    assert "postgresql+psycopg://app:***@127.0.0.1:1/app" in critical[0]
    assert "do-not-log-me" not in text
    assert "Traceback" not in text


def test_a_missing_secret_in_production_stops_the_backend_with_one_line(tmp_path: Path) -> None:
    process, log = start_backend(tmp_path, ENVIRONMENT="production", SECRET_KEY="")
    try:
        assert process.wait(120) != 0
    finally:
        stop_process_group(process)
    text = log.read_text()
    assert "configuration error:" in text and "SECRET_KEY must be set" in text, text
    assert "Traceback" not in text
