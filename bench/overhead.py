"""What the request id, access log and request metrics cost: S2 and S5 against two
backends on one database, one with them (the default) and one with OBSERVE_REQUESTS=false,
measured in alternation so both see the same machine.

Run through `bench/run.sh --overhead [options]`; hold `flock /tmp/bench.lock` on a shared
machine. Prints one markdown table with the median requests/s of each, the backend's CPU
time per request (steadier than req/s on a shared machine) and their ratios.
"""

import argparse
import os
import secrets
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench import (  # noqa: E402
    SCENARIOS,
    Load,
    Server,
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

VARIANTS = {"observed": "true", "bare": "false"}


@dataclass
class Runs:
    rps: list[float]
    p99_ms: list[float]
    # The backend's CPU time per request: on a shared machine, other processes take
    # cores away and move req/s by tens of percent from run to run; the work a request
    # costs moves much less.
    cpu_ms: list[float]


Paths = dict[str, tuple[str, dict[str, str]]]


def alternate(
    servers: dict[str, Server],
    chosen: list[str],
    paths: dict[str, Paths],
    args: argparse.Namespace,
) -> dict[tuple[str, str], Runs]:
    """Each scenario against each server (at the server's `paths`), `args.rounds` times,
    alternating which goes first so that neither always follows the other; the figures
    of every run."""
    runs = {(key, name): Runs([], [], []) for key in chosen for name in servers}
    for round_number in range(1, args.rounds + 1):
        for key in chosen:
            order = list(servers) if round_number % 2 else list(reversed(servers))
            for name in order:
                server = servers[name]
                path, headers = paths[name][key]
                print(f"# round {round_number}: {key} {name}", flush=True)
                result = measure(
                    key,
                    Load(server.url + path, headers=headers),
                    server,
                    args.connections,
                    args.duration,
                    args.warmup,
                )
                if result.errors:
                    raise SystemExit(f"{key} {name}: {result.errors} errors")
                print(
                    f"#   {result.rps:.0f} req/s, p99 {result.p99_ms:.1f} ms, "
                    f"{result.cpu_ms_per_request * 1000:.0f} µs CPU/request",
                    flush=True,
                )
                runs[key, name].rps.append(result.rps)
                runs[key, name].p99_ms.append(result.p99_ms)
                runs[key, name].cpu_ms.append(result.cpu_ms_per_request)
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--scenarios", default="S2,S5")
    parser.add_argument(
        "--log-level",
        default="WARNING",
        help="the backends' LOG_LEVEL: INFO also writes the access lines (to a file)",
    )
    parser.add_argument(
        "--database-server",
        default=os.environ.get(
            "BENCH_DATABASE_SERVER", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()
    chosen = [s.strip() for s in args.scenarios.split(",")]
    unknown = [s for s in chosen if s not in ("S2", "S5")]
    if unknown:
        parser.error(f"--scenarios takes S2 and S5 only, not {', '.join(unknown)}")

    # Both backends must accept the same token.
    secret_key = secrets.token_urlsafe(32)
    database = create_database(args.database_server)
    work = Path(tempfile.mkdtemp(prefix="fsr-overhead-"))
    servers: dict[str, Server] = {}
    try:
        for name, observe in VARIANTS.items():
            folder = work / name
            folder.mkdir()
            env = backend_env(
                database,
                SECRET_KEY=secret_key,
                FIRST_SUPERUSER_PASSWORD="bench-superuser-password",
                LOG_LEVEL=args.log_level,
                OBSERVE_REQUESTS=observe,
                REFLEX_STATES_WORKDIR=str(folder / "states"),
            )
            servers[name] = start_backend(env, folder, 1)
        _, _, token = seed(servers["observed"].url, 1)
        paths = {
            "S2": ("/api/v1/users/me", bearer(token)),
            "S5": ("/api/v1/utils/health-check/", {}),
        }
        runs = alternate(
            {name: servers[name] for name in VARIANTS},
            chosen,
            dict.fromkeys(VARIANTS, paths),
            args,
        )
    finally:
        for server in servers.values():
            stop(server)
        drop_database(database)

    print()
    print(
        f"Machine: {machine()}; one granian worker per backend; wrk -t2 -c{args.connections}, "
        f"{args.duration} s per run after a {args.warmup} s warm-up; {args.rounds} rounds, "
        f"alternating; LOG_LEVEL={args.log_level}; medians."
    )
    print()
    print(
        "| scenario | req/s with request id, log, metrics | req/s without | ratio "
        "| CPU µs/request with | without | ratio (without / with) | p99 ms with / without |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for key in chosen:
        observed, bare = runs[key, "observed"], runs[key, "bare"]
        with_rps, without_rps = statistics.median(observed.rps), statistics.median(bare.rps)
        with_cpu = statistics.median(observed.cpu_ms) * 1000
        without_cpu = statistics.median(bare.cpu_ms) * 1000
        print(
            f"| {key} {SCENARIOS[key]} | {with_rps:.0f} | {without_rps:.0f} "
            f"| {with_rps / without_rps:.3f} | {with_cpu:.0f} | {without_cpu:.0f} "
            f"| {without_cpu / with_cpu:.3f} | {statistics.median(observed.p99_ms):.1f} / "
            f"{statistics.median(bare.p99_ms):.1f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
