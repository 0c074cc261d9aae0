"""Where a request's CPU goes: a sampling profile (py-spy) of the backend's worker under
wrk load, for S2 and S3, of this checkout or an earlier commit.

    .venv/bin/python bench/profile.py [--ref b1bd04e] [--scenarios S2,S3] [--seconds 20]

Writes a flame graph per scenario to bench/profiles/<scenario>-<label>.svg and prints
the functions that hold the most samples, inclusive and by their own code, grouped by
package: the share of a request that goes to the app, SQLAlchemy, psycopg, Starlette,
pydantic, the server. Sampling slows the worker a little; compare shares, not rates.
"""

import argparse
import collections
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench import (  # noqa: E402
    SCENARIOS,
    backend_env,
    bearer,
    create_database,
    drop_database,
    seed,
    start_backend,
    stop,
    wrk,
)
from bench.compare import checkout, remove_checkout  # noqa: E402

PATHS = {"S2": "/api/v1/users/me", "S3": "/api/v1/items/?limit=100"}
PROFILES = ROOT / "bench" / "profiles"


def area(frame: str) -> str:
    """The package a frame's code belongs to."""
    path = "/" + frame.rpartition("(")[2]
    for marker, name in (
        ("/app/", "app"),
        ("sqlalchemy", "sqlalchemy"),
        ("sqlmodel", "sqlmodel"),
        ("psycopg", "psycopg"),
        ("starlette", "starlette"),
        ("fastapi", "fastapi"),
        ("pydantic", "pydantic"),
        ("granian", "granian"),
        ("reflex", "reflex"),
        ("asyncio", "asyncio"),
        ("prometheus_client", "prometheus_client"),
        ("jwt", "jwt"),
    ):
        if marker in path:
            return name
    return "other"


def summarize(raw: Path, top: int) -> None:
    """From py-spy's collapsed stacks: top functions inclusive and self, and self time
    per package."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    packages: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        for frame in set(frames):
            inclusive[frame] += count
        own[frames[-1]] += count
        packages[area(frames[-1])] += count
    if not total:
        print("no samples")
        return
    print(f"\n{total} samples. Own time by package:")
    for name, count in packages.most_common():
        print(f"  {100 * count / total:5.1f} %  {name}")
    print(f"\nTop {top} functions by own time:")
    for frame, count in own.most_common(top):
        print(f"  {100 * count / total:5.1f} %  {frame}")
    print(f"\nTop {top} app functions, inclusive:")
    app = [(f, c) for f, c in inclusive.most_common() if "(app/" in f or "/app/" in f]
    for frame, count in app[:top]:
        print(f"  {100 * count / total:5.1f} %  {frame}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ref", help="profile this earlier commit instead of the checkout")
    parser.add_argument("--scenarios", default="S2,S3")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument(
        "--database-server",
        default=os.environ.get(
            "BENCH_DATABASE_SERVER", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()
    py_spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
    label = args.ref or "head"
    work = Path(tempfile.mkdtemp(prefix="fsr-profile-"))
    tree = ROOT
    if args.ref:
        tree = work / "source"
        checkout(args.ref, tree)
    database = create_database(args.database_server)
    server = None
    try:
        env = backend_env(database, REFLEX_STATES_WORKDIR=str(work / "states"))
        server = start_backend(env, work, 1, cwd=tree)
        token = bearer(seed(server.url, 100)[2])
        PROFILES.mkdir(exist_ok=True)
        for key in args.scenarios.split(","):
            url = server.url + PATHS[key]
            # The granian worker: the process of the tree that works while wrk loads it.
            before = {p.pid: p.cpu_times().user for p in server.tree()}
            wrk(url, args.connections, 3, None, token)
            worker = max(server.tree(), key=lambda p: p.cpu_times().user - before.get(p.pid, 0.0))
            raw = work / f"{key}.txt"
            svg = PROFILES / f"{key}-{label}.svg"
            load = threading.Thread(
                target=wrk, args=(url, args.connections, args.seconds + 5, None, token)
            )
            load.start()
            for output, form in ((raw, "raw"), (svg, "flamegraph")):
                done = subprocess.run(
                    [
                        py_spy,
                        "record",
                        "--pid",
                        str(worker.pid),
                        "--duration",
                        str(args.seconds // 2),
                        "--rate",
                        "200",
                        "--format",
                        form,
                        "--output",
                        str(output),
                        "--nonblocking",
                    ],
                    capture_output=True,
                    text=True,
                )
                if done.returncode != 0:
                    raise SystemExit(f"py-spy failed:\n{done.stdout}\n{done.stderr}")
            load.join()
            print(f"\n## {key} {SCENARIOS[key]} ({label}): {svg.relative_to(ROOT)}")
            summarize(raw, args.top)
    finally:
        if server is not None:
            stop(server)
        drop_database(database)
        if args.ref:
            remove_checkout(tree)
    return 0


if __name__ == "__main__":
    sys.exit(main())
