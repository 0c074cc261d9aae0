"""S2 (`GET /users/me`) for each way of reading the caller, and each pool queue, interleaved.

Every authenticated request reads its caller by id; this compares the ways to do it
(issue #14), each in its own production backend (`reflex run --env prod --backend-only`,
one worker, a fresh PostgreSQL database shared by all), started in turn for each round:
round 1 runs every variant once, round 2 again, so a machine that gets busier halfway
weighs on all of them alike. The variants are swapped in by `bench/variants/` on the
backend's PYTHONPATH:

  private           app.db.rows as of issue #14: the compiled SQL on the raw psycopg
                    connection, autocommit toggled by hand
  core-autocommit   SQLAlchemy Core on an AUTOCOMMIT engine (public API; compiled cache)
  core-transaction  SQLAlchemy Core on the transactional engine (the SQLite branch)
  orm               AsyncSession.get on the autocommit read session
Each with the fair pool (app.db.pool) and `--stock-pool` variants with SQLAlchemy's
own AsyncAdaptedQueuePool, where the fair queue's purpose shows: p99 with many more
requests than pooled connections.

    flock /tmp/bench.lock .venv/bin/python bench/caller_lookup.py --rounds 2

`--in-process N` measures the lookups alone instead: N sequential calls of each, in turn,
in this process (the CPU time and the wall time of one lookup, PostgreSQL on loopback),
which the machine's other work disturbs far less than wrk's throughput.
"""

import argparse
import asyncio
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench import (  # noqa: E402
    Load,
    Result,
    backend_env,
    bearer,
    create_database,
    drop_database,
    machine,
    measure,
    seed,
    start_backend,
    stop,
)

CALLER_PATHS = ("private", "core-autocommit", "core-transaction", "orm")


def in_process(database: str, rounds: int, calls: int) -> None:
    os.environ.update(backend_env(database))
    subprocess.run(
        [sys.executable, "-m", "app.prestart"], cwd=ROOT, check=True, capture_output=True
    )
    asyncio.run(_time_lookups(rounds, calls))


async def _time_lookups(rounds: int, calls: int) -> None:
    from app import db
    from app.models import UserCreate
    from app.services import users

    spec = importlib.util.spec_from_file_location(
        "caller_variants", ROOT / "bench" / "variants" / "sitecustomize.py"
    )
    assert spec is not None and spec.loader is not None
    variants = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(variants)
    lookups = variants.caller_lookups(users)
    async with db.session_scope() as session:
        user = await users.create_user(
            session, UserCreate(email="lookup@example.com", password="lookup-password")
        )
    cpu: dict[str, list[float]] = {name: [] for name in lookups}
    wall: dict[str, list[float]] = {name: [] for name in lookups}
    for _ in range(rounds):
        for name, lookup in lookups.items():
            assert (await lookup(user.id)).email == user.email
            started_cpu, started = time.process_time(), time.perf_counter()
            for _ in range(calls):
                await lookup(user.id)
            cpu[name].append((time.process_time() - started_cpu) / calls * 1e6)
            wall[name].append((time.perf_counter() - started) / calls * 1e6)
    await db.dispose_engines()
    print(
        f"Machine: {machine()}; {calls} sequential lookups per variant and round, {rounds} rounds"
    )
    print()
    print("| caller path | CPU µs/lookup | wall µs/lookup | × private (CPU) |")
    print("|---|---|---|---|")
    private = statistics.median(cpu["private"])
    for name in lookups:
        each = "/".join(f"{value:.0f}" for value in cpu[name])
        print(
            f"| {name} | {statistics.median(cpu[name]):.0f} ({each}) "
            f"| {statistics.median(wall[name]):.0f} "
            f"| {statistics.median(cpu[name]) / private:.2f}× |"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--connections", default="32,256")
    parser.add_argument("--paths", default=",".join(CALLER_PATHS))
    parser.add_argument(
        "--stock-pool",
        default="private,core-autocommit",
        help="caller paths also measured with SQLAlchemy's own pool queue",
    )
    parser.add_argument(
        "--database-server",
        default=os.environ.get(
            "BENCH_DATABASE_SERVER", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument("--in-process", type=int, default=0, metavar="N")
    args = parser.parse_args()
    if args.in_process:
        database = create_database(args.database_server)
        try:
            in_process(database, args.rounds, args.in_process)
        finally:
            drop_database(database)
        return 0
    connections = [int(c) for c in args.connections.split(",")]
    variants = [(path, "fair") for path in args.paths.split(",") if path]
    variants += [(path, "stock") for path in args.stock_pool.split(",") if path]

    database = create_database(args.database_server)
    work = Path(tempfile.mkdtemp(prefix="fsr-caller-"))
    # One environment for all variants: the token seeded once must hold in every backend.
    base_env = backend_env(
        database,
        PYTHONPATH=os.pathsep.join(
            [str(ROOT / "bench" / "variants"), os.environ.get("PYTHONPATH", "")]
        ).rstrip(os.pathsep),
    )
    results: dict[tuple[str, str, int], list[Result]] = {}
    token = ""
    try:
        for round_number in range(1, args.rounds + 1):
            for path, pool in variants:
                env = {**base_env, "BENCH_CALLER_PATH": path, "BENCH_POOL": pool}
                server = start_backend(env, work, 1)
                try:
                    if not token:
                        token = seed(server.url, 0)[2]
                    load = Load(
                        f"{server.url}/api/v1/users/me",
                        headers=bearer(token),
                    )
                    for conns in connections:
                        print(
                            f"# round {round_number}: {path}, {pool} pool, {conns} conns",
                            flush=True,
                        )
                        result = measure("S2", load, server, conns, args.duration, args.warmup)
                        if result.errors:
                            print(f"#   {result.errors} errors", flush=True)
                        results.setdefault((path, pool, conns), []).append(result)
                finally:
                    stop(server)
    finally:
        drop_database(database)

    print()
    print(
        f"Machine: {machine()}; 1 worker; wrk -t2, {args.duration} s per run after a "
        f"{args.warmup} s warm-up; {args.rounds} rounds, variants interleaved; "
        "figures are the median of the rounds (each round's in brackets)."
    )
    print()
    print(
        "| caller path | pool | conns | req/s | p50 ms | p99 ms | CPU ms/req | errors | × private |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for conns in connections:
        reference = statistics.median(r.rps for r in results[("private", "fair", conns)])
        for path, pool in variants:
            runs = results[(path, pool, conns)]
            rps = statistics.median(r.rps for r in runs)
            each = "/".join(f"{r.rps:.0f}" for r in runs)
            print(
                f"| {path} | {pool} | {conns} | {rps:.0f} ({each}) "
                f"| {statistics.median(r.p50_ms for r in runs):.1f} "
                f"| {statistics.median(r.p99_ms for r in runs):.1f} "
                f"({'/'.join(f'{r.p99_ms:.0f}' for r in runs)}) "
                f"| {statistics.median(r.cpu_ms_per_request for r in runs):.2f} "
                f"| {sum(r.errors for r in runs)} | {rps / reference:.2f}× |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
