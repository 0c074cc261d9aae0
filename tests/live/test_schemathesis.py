"""Schemathesis over the whole OpenAPI document, against the real backend, every check.

Run once as a superuser and once as a normal user: each sees other answers (403s, other
users' rows), and both must stay within the document. The example count is bounded so
the test fits CI; a seed makes a failure reproducible with the command it prints.
"""

import os
import shlex
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.config import settings
from app.services.users import ensure_first_superuser
from tests.factories import random_email, random_lower_string
from tests.live.conftest import LiveBackend

API = settings.API_V1_STR
pytestmark = pytest.mark.live

# Test cases per operation and phase: ~2 minutes for both users on two cores.
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25"))
SEED = int(os.environ.get("SCHEMATHESIS_SEED", "20261201"))
CONFIG = Path(__file__).with_name("schemathesis.toml")
ROOT = Path(__file__).resolve().parents[2]


async def bearer(base: str, email: str, password: str) -> str:
    async with httpx.AsyncClient(base_url=base) as client:
        response = await client.post(
            f"{API}/login/access-token", data={"username": email, "password": password}
        )
    assert response.status_code == 200, response.text
    return f"Bearer {response.json()['access_token']}"


async def normal_user_bearer(base: str) -> str:
    email, password = random_email(), random_lower_string()
    async with httpx.AsyncClient(base_url=base) as client:
        response = await client.post(
            f"{API}/users/signup", json={"email": email, "password": password}
        )
    assert response.status_code == 200, response.text
    return await bearer(base, email, password)


def tool_env() -> dict[str, str]:
    """This environment without coverage's subprocess measuring. Schemathesis runs none
    of the app's code, and under coverage's greenlet tracing its exiting worker thread
    once left greenlet's thread-state cleanup spinning (greenlet 3.5.6): the run hung at
    full CPU until the timeout."""
    return {name: value for name, value in os.environ.items() if not name.startswith("COVERAGE_")}


def schemathesis(base: str, authorization: str, report: Path) -> subprocess.CompletedProcess[str]:
    command = [
        str(Path(sys.executable).parent / "st"),
        "--config-file", str(CONFIG),
        "run", f"{base}{API}/openapi.json",
        "--url", base,
        "--max-examples", str(MAX_EXAMPLES),
        "--seed", str(SEED),
        "--header", f"Authorization: {authorization}",
        "--report", "junit",
        "--report-dir", str(report),
    ]  # fmt: skip
    # From the project root, so the config's `hooks` module imports.
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
        cwd=ROOT,
        env={**tool_env(), "PYTHONPATH": str(ROOT)},
    )
    # The token is a secret of the test run only, but keep it out of CI logs all the same.
    shown = shlex.join(command).replace(authorization, "Bearer <token>")
    print(f"$ {shown}\n{result.stdout}\n{result.stderr}")  # noqa: T201
    return result


@pytest.mark.timeout(600)
@pytest.mark.parametrize("role", ["normal user", "superuser"])
async def test_schemathesis_finds_nothing(
    live_backend: LiveBackend, session: AsyncSession, tmp_path: Path, role: str
) -> None:
    if role == "superuser":
        await ensure_first_superuser(session)
        authorization = await bearer(
            live_backend.url, settings.FIRST_SUPERUSER, settings.FIRST_SUPERUSER_PASSWORD
        )
    else:
        authorization = await normal_user_bearer(live_backend.url)
    result = schemathesis(live_backend.url, authorization, tmp_path)
    assert result.returncode == 0, result.stdout[-20000:]
