"""S2, S3 and S5 of this checkout against an earlier commit, in one run: two backends, one
from each source tree, each on a database of its own (their schemas may differ), measured
in alternation so both see the same machine.

    .venv/bin/python bench/compare.py --ref 7d79476 [--rounds 3] [--scenarios S2,S3,S5]
    .venv/bin/python bench/compare.py --ref 7d79476 --guard 0.9   # exit 1 under 0.9x

With `--guard`, the run fails when this checkout's requests per second fall under that
ratio of the earlier commit's in any scenario (bench/run.sh --guard, in CI): ratios of
one run only, never absolute figures, which depend on the machine.

The earlier commit is checked out with `git worktree` into a temporary folder and run
with this checkout's virtualenv (so the two may not differ in requirements). Prints the
median requests/s, p99 and backend CPU per request of each, and their ratios.
"""

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench import (  # noqa: E402
    SCENARIOS,
    Server,
    backend_env,
    bearer,
    create_database,
    drop_database,
    machine,
    seed,
    start_backend,
    stop,
)
from bench.overhead import Runs, alternate  # noqa: E402

HEAD = "this checkout"


def checkout(ref: str, folder: Path) -> None:
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(folder), ref],
        check=True,
        capture_output=True,
    )


def remove_checkout(folder: Path) -> None:
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(folder)],
        check=False,
        capture_output=True,
    )


def ratio(measured: dict[tuple[str, str], Runs], key: str, ref: str) -> float:
    """This checkout's median requests per second over the earlier commit's."""
    return statistics.median(measured[key, HEAD].rps) / statistics.median(measured[key, ref].rps)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ref", required=True, help="the earlier commit (any git revision)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--scenarios", default="S2")
    parser.add_argument(
        "--guard", type=float, help="fail when a scenario's req/s ratio is under this"
    )
    parser.add_argument(
        "--database-server",
        default=os.environ.get(
            "BENCH_DATABASE_SERVER", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()
    chosen = [s.strip() for s in args.scenarios.split(",")]
    if unknown := [s for s in chosen if s not in ("S2", "S3", "S5")]:
        parser.error(f"--scenarios takes S2, S3 and S5 only, not {', '.join(unknown)}")

    work = Path(tempfile.mkdtemp(prefix="fsr-compare-"))
    trees = {args.ref: work / "source", HEAD: ROOT}
    checkout(args.ref, trees[args.ref])
    databases: list[str] = []
    servers: dict[str, Server] = {}
    try:
        tokens: dict[str, dict[str, str]] = {}
        for name, tree in trees.items():
            database = create_database(args.database_server)
            databases.append(database)
            folder = work / ("head" if name == HEAD else "ref")
            folder.mkdir()
            env = backend_env(
                database,
                SECRET_KEY=secrets.token_urlsafe(32),
                FIRST_SUPERUSER_PASSWORD="bench-superuser-password",
                REFLEX_STATES_WORKDIR=str(folder / "states"),
            )
            servers[name] = start_backend(env, folder, 1, cwd=tree)
            # S3 lists a page of 100 of the user's items.
            tokens[name] = bearer(seed(servers[name].url, 100 if "S3" in chosen else 1)[2])
        # Each backend has its own database, so its own user and token.
        paths = {
            name: {
                "S2": ("/api/v1/users/me", tokens[name]),
                "S3": ("/api/v1/items/?limit=100", tokens[name]),
                "S5": ("/api/v1/utils/health-check/", {}),
            }
            for name in servers
        }
        measured = alternate(servers, chosen, paths, args)
        if args.guard is not None:
            # A scenario under the guard is measured again, as many rounds more, before
            # it fails the run: one busy moment of the machine must not.
            again = [key for key in chosen if ratio(measured, key, args.ref) < args.guard]
            if again:
                print(f"# under {args.guard}x: {', '.join(again)}; measuring again", flush=True)
                for (key, name), runs in alternate(servers, again, paths, args).items():
                    measured[key, name].rps.extend(runs.rps)
                    measured[key, name].p99_ms.extend(runs.p99_ms)
                    measured[key, name].cpu_ms.extend(runs.cpu_ms)
    finally:
        for server in servers.values():
            stop(server)
        for database in databases:
            drop_database(database)
        remove_checkout(trees[args.ref])

    print()
    print(
        f"Machine: {machine()}; one granian worker per backend; wrk -t2 -c{args.connections}, "
        f"{args.duration} s per run after a {args.warmup} s warm-up; {args.rounds} rounds, "
        "alternating; medians."
    )
    print()
    print(
        f"| scenario | req/s {args.ref} | req/s {HEAD} | ratio | CPU µs/request {args.ref} "
        f"| {HEAD} | ratio | p99 ms {args.ref} / {HEAD} |"
    )
    print("|---|---|---|---|---|---|---|---|")
    below = []
    for key in chosen:
        before, after = measured[key, args.ref], measured[key, HEAD]
        before_rps, after_rps = statistics.median(before.rps), statistics.median(after.rps)
        before_cpu = statistics.median(before.cpu_ms) * 1000
        after_cpu = statistics.median(after.cpu_ms) * 1000
        print(
            f"| {key} {SCENARIOS[key]} | {before_rps:.0f} | {after_rps:.0f} "
            f"| {after_rps / before_rps:.3f} | {before_cpu:.0f} | {after_cpu:.0f} "
            f"| {after_cpu / before_cpu:.3f} | {statistics.median(before.p99_ms):.1f} / "
            f"{statistics.median(after.p99_ms):.1f} |"
        )
        if args.guard is not None and after_rps / before_rps < args.guard:
            below.append(f"{key} at {after_rps / before_rps:.3f}x")
    if below:
        print(f"\nGuard: under {args.guard}x of {args.ref}: {', '.join(below)}")
        return 1
    if args.guard is not None:
        print(f"\nGuard: every scenario at {args.guard}x of {args.ref} or above")
    return 0


if __name__ == "__main__":
    sys.exit(main())
