"""Instructions per request: what S2 and S3 cost this checkout and an earlier commit,
counted by Valgrind rather than timed, so that a busy machine does not move the figure.

    .venv/bin/python bench/instructions.py --ref b1bd04e [--scenarios S2,S3]

On a 2-core machine shared with other jobs, requests per second of two identical
backends differ by 10 % from one run to the next (docs/performance.md), which hides
any change smaller than that. The number of instructions a request executes barely
moves: this counts them for the app's whole ASGI stack (Reflex's app, its CORS layers,
the app's layers, FastAPI, the caller lookup on PostgreSQL, serialization), driven
in-process, one request at a time, with `cachegrind --cache-sim=no`. The server
(granian) and the database's own work are not counted; they are the same for both.

Each tree is migrated and seeded through its own backend (`app.prestart`, then the API),
then run twice under Valgrind, with `--short` and `--long` requests after the same
warm-up: the difference over the extra requests is the figure, free of start-up and
import. The cyclic collector's old objects are frozen after the warm-up, so that when a
full collection happens does not move the count either.
"""

import argparse
import asyncio
import gc
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from starlette.types import Message

ROOT = Path(__file__).resolve().parents[1]
PATHS = {"S2": "/api/v1/users/me", "S3": "/api/v1/items/?limit=100"}
WARM_UP = 200


async def drive(path: str, token: str, count: int) -> None:
    """`count` GET requests to `path` through the app's ASGI stack, one at a time,
    after WARM_UP of them (run inside the tree, under Valgrind)."""
    os.environ["REFLEX_ENV_MODE"] = "prod"
    sys.path.insert(0, os.getcwd())
    from app.app import app as reflex_app  # noqa: PLC0415 (the tree's own app)

    asgi = reflex_app()
    startup: asyncio.Queue[Message] = asyncio.Queue()
    answers: asyncio.Queue[Message] = asyncio.Queue()

    async def lifespan_receive() -> Message:
        return await startup.get()

    async def lifespan_send(message: Message) -> None:
        await answers.put(message)

    lifespan: asyncio.Future[None] = asyncio.ensure_future(
        asgi(
            {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},
            lifespan_receive,
            lifespan_send,
        )
    )
    await startup.put({"type": "lifespan.startup"})
    started = await answers.get()
    if started["type"] != "lifespan.startup.complete":
        raise SystemExit(f"the app did not start: {started}")
    route, _, query = path.partition("?")
    headers = [
        (b"host", b"127.0.0.1:8000"),
        (b"authorization", f"Bearer {token}".encode()),
        (b"user-agent", b"bench"),
    ]

    async def request() -> int:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": route,
            "raw_path": route.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }
        statuses: list[int] = []

        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        await asgi(scope, receive, send)
        return statuses[0]

    for _ in range(WARM_UP):
        status = await request()
        if status != 200:
            raise SystemExit(f"{path} answered {status}")
    gc.collect()
    gc.freeze()
    for _ in range(count):
        await request()
    await startup.put({"type": "lifespan.shutdown"})
    await answers.get()
    await lifespan


def instructions(tree: Path, env: dict[str, str], path: str, token: str, count: int) -> int:
    """Valgrind's count of instructions of one driven run."""
    with tempfile.NamedTemporaryFile(suffix=".log") as log:
        subprocess.run(
            [
                "valgrind",
                "--tool=cachegrind",
                "--cache-sim=no",
                "--cachegrind-out-file=/dev/null",
                f"--log-file={log.name}",
                sys.executable,
                str(Path(__file__).resolve()),
                "--drive",
                path,
                token,
                str(count),
            ],
            cwd=tree,
            # The system allocator: Valgrind follows it, not pymalloc's arenas.
            env={**env, "PYTHONMALLOC": "malloc"},
            check=True,
            capture_output=True,
        )
        found = re.search(r"I\s+refs:\s+([\d,]+)", Path(log.name).read_text())
    if found is None:
        raise SystemExit("valgrind printed no instruction count")
    return int(found.group(1).replace(",", ""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ref", help="an earlier commit to count too")
    parser.add_argument("--scenarios", default="S2,S3")
    parser.add_argument("--short", type=int, default=100)
    parser.add_argument("--long", type=int, default=600)
    parser.add_argument(
        "--database-server",
        default=os.environ.get(
            "BENCH_DATABASE_SERVER", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument("--drive", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive:
        path, token, count = args.drive
        asyncio.run(drive(path, token, int(count)))
        return 0
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is missing: apt-get install -y valgrind")
    sys.path.insert(0, str(ROOT))
    from bench.bench import (  # noqa: PLC0415
        backend_env,
        create_database,
        drop_database,
        seed,
        start_backend,
        stop,
    )
    from bench.compare import checkout, remove_checkout  # noqa: PLC0415

    chosen = [key.strip() for key in args.scenarios.split(",")]
    work = Path(tempfile.mkdtemp(prefix="fsr-instructions-"))
    trees = {"this checkout": ROOT}
    if args.ref:
        trees[args.ref] = work / "reference"
        checkout(args.ref, trees[args.ref])
    counts: dict[tuple[str, str], float] = {}
    databases: list[str] = []
    try:
        for name, tree in trees.items():
            database = create_database(args.database_server)
            databases.append(database)
            env = backend_env(database, SECRET_KEY=secrets.token_urlsafe(32))
            folder = work / f"backend-{len(databases)}"
            folder.mkdir()
            server = start_backend(env, folder, 1, cwd=tree)
            try:
                token = seed(server.url, 100)[2]
            finally:
                stop(server)
            for key in chosen:
                short = instructions(tree, env, PATHS[key], token, args.short)
                long = instructions(tree, env, PATHS[key], token, args.long)
                counts[key, name] = (long - short) / (args.long - args.short)
                print(f"# {key} {name}: {counts[key, name]:,.0f} instructions/request", flush=True)
    finally:
        for database in databases:
            drop_database(database)
        if args.ref:
            remove_checkout(trees[args.ref])
    print()
    print(json.dumps({f"{key} {name}": round(value) for (key, name), value in counts.items()}))
    if args.ref:
        print()
        print(f"| scenario | instructions/request {args.ref} | this checkout | ratio |")
        print("|---|---|---|---|")
        for key in chosen:
            before, after = counts[key, args.ref], counts[key, "this checkout"]
            print(f"| {key} {PATHS[key]} | {before:,.0f} | {after:,.0f} | {after / before:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
