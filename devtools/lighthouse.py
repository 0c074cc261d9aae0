"""Lighthouse over the app's pages, shared by the CI check (scripts/ci/lighthouse.py) and
the side-by-side with the template's frontend (bench/lighthouse_side_by_side.py): the
pinned Lighthouse, the one-port production server on a fresh database, the signed-in
user, and the runner scripts/ci/lighthouse.mjs."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from app.core.security import create_reset_token
from devtools.chromium import CHROMIUM
from devtools.servers import (
    ROOT,
    reflex_prod,
    serve_on_free_port,
    start_logged,
    stop_process_group,
    tool_path,
    wait_until_ok,
)

LIGHTHOUSE_VERSION = "12.8.2"
TOOLS = ROOT / ".tools"
# Not the 404 page: Lighthouse refuses a page answered 404 (tests/ui/test_accessibility.py
# checks it with axe).
PUBLIC = ["/login", "/signup", "/recover-password"]
PRIVATE = ["/", "/items", "/admin", "/settings"]
START_TIMEOUT = 600


def install_lighthouse() -> None:
    package = TOOLS / "node_modules/lighthouse/package.json"
    if package.exists() and json.loads(package.read_text())["version"] == LIGHTHOUSE_VERSION:
        return
    sys.stderr.write(f"[lighthouse] npm install lighthouse@{LIGHTHOUSE_VERSION} into .tools\n")
    subprocess.run(
        [
            "npm",
            "install",
            "--no-audit",
            "--no-fund",
            "--save-exact",
            "--prefix",
            str(TOOLS),
            f"lighthouse@{LIGHTHOUSE_VERSION}",
        ],  # fmt: skip
        check=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )


def server_env(work: Path, port: int, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PATH": tool_path(),
        "REFLEX_USE_SYSTEM_BUN": "1",
        "REFLEX_TELEMETRY_ENABLED": "false",
        "REFLEX_WEB_WORKDIR": str(work / "web"),
        "REFLEX_STATES_WORKDIR": str(work / "states"),
        "DATABASE_URL": f"sqlite:///{work / 'lighthouse.db'}",
        "FRONTEND_HOST": f"http://127.0.0.1:{port}",
        "EMAIL_BACKEND": "console",
        **extra,
    }


@contextmanager
def app_server(work: Path, **extra_env: str) -> Iterator[str]:
    """`reflex run --env prod` on a fresh SQLite database in `work` (migrated, the first
    superuser): its URL while the block runs. `extra_env`: more settings."""
    log = work / "reflex.log"
    subprocess.run(
        [sys.executable, "-m", "app.prestart"],
        cwd=ROOT,
        env=server_env(work, 0, **extra_env),
        check=True,
    )
    process, port = serve_on_free_port(
        lambda port: start_logged(reflex_prod(port), server_env(work, port, **extra_env), log),
        lambda port: f"http://127.0.0.1:{port}/api/ping",
        log,
        START_TIMEOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ok(process, f"{url}/login", log, START_TIMEOUT)
        yield url
    finally:
        stop_process_group(process)


def sign_in(url: str) -> tuple[str, int]:
    """The first superuser's access token and id, and one item for the Items page."""
    from app.core.config import settings

    with httpx.Client(base_url=url, timeout=30) as client:
        login = client.post(
            f"{settings.API_V1_STR}/login/access-token",
            data={
                "username": settings.FIRST_SUPERUSER,
                "password": settings.FIRST_SUPERUSER_PASSWORD,
            },
        )
        login.raise_for_status()
        token: str = login.json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        client.post(
            f"{settings.API_V1_STR}/items/",
            json={"title": "Lighthouse", "description": "Measured on every page"},
            headers=headers,
        ).raise_for_status()
        me = client.get(f"{settings.API_V1_STR}/users/me", headers=headers)
        me.raise_for_status()
    return token, int(me.json()["id"])


def page_entries(user_id: int) -> list[str]:
    """Every page to measure, as run_pages takes them: the public ones, the reset form
    (it shows with a token only; the server's key is this checkout's), then the
    signed-in ones."""
    reset = f"/reset-password?token={create_reset_token(user_id)}"
    return [*PUBLIC, reset, *(f"+{path}" for path in PRIVATE)]


def run_pages(url: str, token: str, out: Path, paths: list[str]) -> list[dict[str, Any]]:
    """Lighthouse over `paths` of the site at `url` (a "+" before a path: signed in with
    `token`, put in localStorage as both UIs keep it); one result per page."""
    env = {**os.environ, "PATH": tool_path(), "CHROME_PATH": str(CHROMIUM)}
    done = subprocess.run(
        ["node", str(ROOT / "scripts/ci/lighthouse.mjs"), url, token, str(out), *paths],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"[lighthouse] the runner failed:\n{done.stdout}\n{done.stderr}")
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def table(results: list[dict[str, Any]]) -> str:
    head = (
        f"{'page':<18}{'perf':>6}{'a11y':>6}{'bp':>6}{'seo':>6}{'KB':>7}{'FCP ms':>8}{'LCP ms':>8}"
    )
    lines = [head]
    for result in results:
        scores = result["scores"]
        lines.append(
            f"{result['path']:<18}"
            + "".join(
                f"{scores.get(key) or 0:>6.2f}"
                for key in ("performance", "accessibility", "best-practices", "seo")
            )
            + f"{result['transfer_kb']:>7}{result['fcp_ms']:>8}{result['lcp_ms']:>8}"
        )
    return "\n".join(lines)
