"""scripts/setup.sh gets bun the way Reflex does first, and from npm only as a fallback.

Run in a scratch copy of the checkout (the real .venv linked in, no bun on PATH), so
the bun step runs for real: Reflex's own download when GitHub answers, else the npm
registry, after a failure that takes seconds, not the download's time limit.
"""

import os
import shutil
import subprocess
import time
from pathlib import Path

import httpx
from reflex_base.constants import Bun, Node

from app.core.config import PROJECT_ROOT
from tests.skip_policy import unavailable

SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"


def scratch_checkout(root: Path) -> None:
    (root / "scripts").mkdir()
    shutil.copy(PROJECT_ROOT / "scripts" / "setup.sh", root / "scripts")
    for name in ("requirements.txt", "requirements-dev.txt", "rxconfig.py"):
        shutil.copy(PROJECT_ROOT / name, root)
    for name in ("app", ".venv"):
        (root / name).symlink_to(PROJECT_ROOT / name)


def github_answers() -> bool:
    try:
        httpx.head(Bun.INSTALL_URL, timeout=10, follow_redirects=True).raise_for_status()
    except httpx.HTTPError:
        return False
    return True


def run_setup(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": SYSTEM_PATH, "BUN_DOWNLOAD_SECONDS": "120"}
    env.pop("REFLEX_USE_SYSTEM_BUN", None)
    done = subprocess.run(
        ["bash", "scripts/setup.sh"], cwd=root, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_bun_comes_from_reflex_or_falls_back_to_npm_quickly(tmp_path: Path) -> None:
    if not shutil.which("npm", path=SYSTEM_PATH) and not github_answers():
        unavailable("npm (Node.js 20+) or GitHub, to install bun")
    scratch_checkout(tmp_path)
    system_bun = shutil.which("bun", path=SYSTEM_PATH)
    started = time.monotonic()
    done = run_setup(tmp_path)
    if system_bun:
        # A recent enough bun of the system's is used as it is; nothing is downloaded.
        assert f"at {system_bun} ok" in done.stdout or "is not usable" in done.stdout
        if f"at {system_bun} ok" in done.stdout:
            assert not (tmp_path / ".tools/reflex").exists()
            assert not (tmp_path / ".tools/node_modules/bun").exists()
            return
    if github_answers():
        reflex_bun = tmp_path / ".tools/reflex/bun/bin/bun"
        assert "installed at .tools/reflex/bun/bin/bun" in done.stdout
        assert not (tmp_path / ".tools/node_modules/bun").exists()
        assert subprocess.run([reflex_bun, "--version"], check=True, capture_output=True)
    else:
        assert "Reflex's own download failed; falling back to the npm registry" in done.stdout
        npm_bun = tmp_path / ".tools/node_modules/.bin/bun"
        version = subprocess.run([npm_bun, "--version"], check=True, capture_output=True)
        assert version.stdout.decode().strip() == Bun.VERSION
        # The probe gives up at once: the fallback costs the npm install, not a timeout.
        assert time.monotonic() - started < 60


def test_node_is_at_least_what_reflex_asks_for(tmp_path: Path) -> None:
    # Reflex warns at every start below its minimum; setup.sh takes the system's Node.js
    # when it is recent enough, else the official build from the npm registry.
    if not shutil.which("npm", path=SYSTEM_PATH):
        unavailable("npm (Node.js), to install Node.js from the npm registry")
    scratch_checkout(tmp_path)
    done = run_setup(tmp_path)
    local = tmp_path / ".tools/node/bin/node"
    node = str(local) if local.exists() else shutil.which("node", path=SYSTEM_PATH)
    assert node, done.stdout
    found = subprocess.run([node, "--version"], check=True, capture_output=True, text=True)
    version = tuple(int(part) for part in found.stdout.strip().lstrip("v").split("."))
    minimum = tuple(int(part) for part in Node.MIN_VERSION.split("."))
    assert version >= minimum, done.stdout
    assert f"(>= {Node.MIN_VERSION})" in done.stdout or "Reflex asks for" in done.stdout
