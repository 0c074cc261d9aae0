"""Lighthouse on the same pages of this app and of the FastAPI template's own React
frontend, both speaking to this app's /api/v1, in alternating rounds (#26).

    python bench/lighthouse_side_by_side.py [--rounds 2] [--out FOLDER]
        [--template-repo URL_OR_PATH] [--template-commit SHA] [--template-server gzip]

Gets the template's `frontend/` at the pinned commit (git archive of a clone, or of a
local copy with --template-repo), installs its packages with bun from its own lock
(`bun.lock`, frozen), builds it with its own build script and VITE_API_URL pointing at
this app's server, and serves it gzipped, as a production host would
(bench/template_static.py; `--template-server vite-preview`: the template's preview
server, which sends it uncompressed). This app runs as `reflex run --env prod` on a
fresh SQLite database, with the template's origin allowed by CORS. Then Lighthouse (the version
of devtools/lighthouse.py, mobile defaults, the same Chromium) measures login, sign-up,
recover and reset password, and, signed in with the same access token in localStorage
(both UIs keep it there), the dashboard, items, admin and settings: round 1 this app
first, round 2 the template first, and so on. Prints a Markdown table per round and the
load average around each run; --out keeps every report and summary.json.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devtools.lighthouse import (  # noqa: E402
    LIGHTHOUSE_VERSION,
    PRIVATE,
    PUBLIC,
    TOOLS,
    app_server,
    install_lighthouse,
    page_entries,
    run_pages,
    sign_in,
)
from devtools.servers import (  # noqa: E402
    free_port,
    start_logged,
    stop_process_group,
    tool_path,
    wait_until_ok,
)

TEMPLATE_REPO = "https://github.com/fastapi/full-stack-fastapi-template"
# The template's commit measured in docs/frontend.md (2026-08-21, "Update release notes").
TEMPLATE_COMMIT = "68adb40d37425f6f8668ec7e5a054500d045e43e"
# What its frontend workspace needs: the frontend, the other workspace (react-email) that
# bun.lock names, and the lock itself.
TEMPLATE_PATHS = ["frontend", "packages", "package.json", "bun.lock"]
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")


def run(command: list[str], cwd: Path, **env: str) -> None:
    subprocess.run(
        command,
        cwd=cwd,
        env={**os.environ, "PATH": tool_path(), **env},
        check=True,
        timeout=1200,
        stdin=subprocess.DEVNULL,
    )


def template_source(repo: str, commit: str) -> Path:
    """The template's workspace at `commit`, unpacked once into .tools."""
    target = TOOLS / f"template-frontend-{commit[:12]}"
    if (target / "bun.lock").exists():
        return target
    local = Path(repo)
    if not local.exists():
        local = TOOLS / "template.git"
        if not local.exists():
            run(["git", "clone", "--bare", "--filter=blob:none", repo, str(local)], ROOT)
    unpacking = target.with_name(target.name + ".partial")
    shutil.rmtree(unpacking, ignore_errors=True)
    unpacking.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(local), "archive", commit, *TEMPLATE_PATHS],
        check=True,
        capture_output=True,
        timeout=600,
    )
    subprocess.run(["tar", "-x", "-C", str(unpacking)], input=archive.stdout, check=True)
    unpacking.rename(target)
    return target


def build_template(source: Path, api_url: str) -> Path:
    """The template's production build, made for `api_url` (Vite bakes it in)."""
    frontend = source / "frontend"
    stamp = frontend / ".built-for"
    if stamp.exists() and stamp.read_text() == api_url:
        return frontend
    if not (source / "node_modules").exists():
        run(["bun", "install", "--frozen-lockfile"], source)
    # The template's own build script: type check, then vite build.
    run(["npm", "run", "build"], frontend, VITE_API_URL=api_url)
    stamp.write_text(api_url)
    return frontend


@contextmanager
def template_server(frontend: Path, how: str, port: int, log: Path) -> Iterator[str]:
    """The built template on loopback `port`: "gzip" (bench/template_static.py, as a
    production host compresses it) or "vite-preview" (uncompressed)."""
    if how == "vite-preview":
        vite = frontend.parent / "node_modules/.bin/vite"
        command = [str(vite), "preview", "--host", "127.0.0.1", "--port", str(port), "--strictPort"]
        cwd, env = frontend, {}
    else:
        # uvicorn, not granian: granian offers `http.response.pathsend`, with which
        # Starlette sends a file by its path, past GZipMiddleware, uncompressed.
        command = [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port),
                   "bench.template_static:app"]  # fmt: skip
        # Where its vite.config.ts puts the build (the template's backend serves it).
        cwd, env = ROOT, {"TEMPLATE_DIST": str(frontend.parent / "backend/app/frontend")}
    process = start_logged(command, {**os.environ, "PATH": tool_path(), **env}, log, cwd=cwd)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ok(process, f"{url}/login", log, 120, name=how)
        yield url
    finally:
        stop_process_group(process)


def measured(name: str, url: str, token: str, paths: list[str], out: Path) -> list[dict[str, Any]]:
    before = os.getloadavg()[0]
    started = time.monotonic()
    results = run_pages(url, token, out, paths)
    seconds = time.monotonic() - started
    after = os.getloadavg()[0]
    print(f"[side-by-side] {name}: {seconds:.0f} s, load {before:.1f} -> {after:.1f}", flush=True)
    for result in results:
        result.update(app=name, load=[before, after])
    return results


def markdown(rounds: list[list[dict[str, Any]]]) -> str:
    lines = [
        "| round | page | UI | perf | a11y | bp | SEO | KB | FCP ms | LCP ms |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for number, results in enumerate(rounds, 1):
        for result in sorted(results, key=lambda r: (order(r["path"]), r["app"])):
            scores = [result["scores"].get(category) for category in CATEGORIES]
            cells = ["error" if score is None else f"{score:.2f}" for score in scores]
            lines.append(
                f"| {number} | `{result['path']}` | {result['app']} | {' | '.join(cells)} | "
                f"{result['transfer_kb']} | {result['fcp_ms']} | {result['lcp_ms']} |"
            )
    return "\n".join(lines)


def order(path: str) -> int:
    pages = [*PUBLIC, "/reset-password", *PRIVATE]
    return pages.index(path) if path in pages else len(pages)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, help="keep the reports (JSON) in this folder")
    parser.add_argument("--template-repo", default=TEMPLATE_REPO, help="git URL or local copy")
    parser.add_argument("--template-commit", default=TEMPLATE_COMMIT)
    parser.add_argument(
        "--template-server",
        choices=["gzip", "vite-preview"],
        default="gzip",
        help="how the template's build is served (vite preview does not compress)",
    )
    args = parser.parse_args()
    install_lighthouse()
    source = template_source(args.template_repo, args.template_commit)
    ours_commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    template_port = free_port()
    template_origin = f"http://127.0.0.1:{template_port}"
    rounds: list[list[dict[str, Any]]] = []
    with tempfile.TemporaryDirectory(prefix="lighthouse-sbs-") as temporary:
        work = Path(temporary)
        out = args.out or work / "reports"
        # The template's pages call this app's API from another origin.
        with app_server(work, BACKEND_CORS_ORIGINS=template_origin) as url:
            token, user_id = sign_in(url)
            frontend = build_template(source, url)
            paths = page_entries(user_id)
            with template_server(
                frontend, args.template_server, template_port, work / "template.log"
            ) as template:
                sites = [("Reflex", url), ("template", template)]
                for number in range(1, args.rounds + 1):
                    # Alternate who goes first, so neither always meets a warmer machine.
                    turn = sites if number % 2 else sites[::-1]
                    rounds.append(
                        [
                            result
                            for name, site in turn
                            for result in measured(
                                name, site, token, paths, out / f"round{number}-{name}"
                            )
                        ]
                    )
        out.mkdir(parents=True, exist_ok=True)
        (out / "summary.json").write_text(json.dumps(rounds, indent=2))
    print(
        f"\nLighthouse {LIGHTHOUSE_VERSION}, mobile defaults; this app at {ours_commit}, "
        f"the template at {args.template_commit[:7]} served by {args.template_server}\n"
    )
    print(markdown(rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
