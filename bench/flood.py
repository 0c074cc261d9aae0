"""Login flood: a normal user's latency while one account is attacked at a fixed rate.

Run through `bench/run.sh --flood` (it sets up the tools and services first). A fresh
PostgreSQL database and the backend started as production starts it (`reflex run --env
prod --backend-only`, one worker, bcrypt cost 12, rate limits in Redis, one trusted
proxy hop as behind Traefik). A normal user logs in and reads `GET /users/me` one
request at a time, first on an idle server, then while wrk sends wrong passwords for
one other account at about `--rate` attempts/s, each from a new address (the worst
case for per-address limits: only the account's own limit can stop them). Prints one
markdown table.
"""

import argparse
import http.client
import multiprocessing
import secrets
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from multiprocessing import Queue
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))

from bench.bench import (  # noqa: E402
    DATABASE_SERVER,
    backend_env,
    create_database,
    drop_database,
    machine,
    start_backend,
    stop,
)

NORMAL_USER_ADDRESS = "192.0.2.10"


@dataclass
class Latency:
    name: str
    samples: list[float]

    def quantile(self, q: float) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def signup(base: str, email: str, password: str) -> None:
    with httpx.Client(base_url=base, timeout=60) as client:
        response = client.post(
            "/api/v1/users/signup",
            json={"email": email, "password": password},
            headers={"X-Forwarded-For": f"192.0.2.{secrets.randbelow(250) + 1}"},
        )
        response.raise_for_status()


def normal_user(base: str, email: str, password: str, logins: int, reads: int) -> list[Latency]:
    """The user's own logins, then reads with the last token; one request at a time."""
    headers = {"X-Forwarded-For": NORMAL_USER_ADDRESS}
    login_ms: list[float] = []
    read_ms: list[float] = []
    with httpx.Client(base_url=base, timeout=120, headers=headers) as client:
        token = ""
        for _ in range(logins):
            started = time.perf_counter()
            response = client.post(
                "/api/v1/login/access-token", data={"username": email, "password": password}
            )
            login_ms.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
            token = response.json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        for _ in range(reads):
            started = time.perf_counter()
            response = client.get("/api/v1/users/me", headers=auth)
            read_ms.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
    return [Latency("POST /login/access-token", login_ms), Latency("GET /users/me", read_ms)]


FLOOD_PROCESSES = 4


def flood_process(
    port: int, target: str, rate: float, seconds: float, first: int, out: "Queue[Counter[str]]"
) -> None:
    """Attempts on schedule from one keep-alive connection (http.client: little CPU per
    request, so the attacker's share of the two cores stays small)."""
    statuses: Counter[str] = Counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    started = time.perf_counter()
    n = 0
    while (elapsed := time.perf_counter() - started) < seconds:
        if n >= elapsed * rate:
            time.sleep(min(0.005, n / rate - elapsed))
            continue
        number = first + n
        n += 1
        # A new address for every attempt: only the account's own limit can stop them.
        address = f"10.{number // 65536 % 256}.{number // 256 % 256}.{number % 256}"
        body = f"username={target}&password=guess-{number}"
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Forwarded-For": address,
        }
        try:
            connection.request("POST", "/api/v1/login/access-token", body, headers)
            response = connection.getresponse()
            response.read()
            statuses[str(response.status)] += 1
        except (OSError, http.client.HTTPException) as error:
            statuses[type(error).__name__] += 1
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    statuses["elapsed"] = int(1000 * (time.perf_counter() - started))
    out.put(statuses)


def flood(port: int, target: str, rate: float, seconds: float) -> dict[str, Any]:
    results: Queue[Counter[str]] = multiprocessing.Queue()
    processes = [
        multiprocessing.Process(
            target=flood_process,
            args=(port, target, rate / FLOOD_PROCESSES, seconds, i * 1_000_000, results),
        )
        for i in range(FLOOD_PROCESSES)
    ]
    for process in processes:
        process.start()
    total: Counter[str] = Counter()
    elapsed = 0
    for _ in processes:
        counts = results.get(timeout=seconds + 300)
        elapsed = max(elapsed, counts.pop("elapsed"))
        total.update(counts)
    for process in processes:
        process.join()
    return {"sent": sum(total.values()), "seconds": elapsed / 1000, "statuses": dict(total)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=200.0, help="flood attempts per second")
    parser.add_argument("--logins", type=int, default=20, help="the normal user's logins")
    parser.add_argument("--reads", type=int, default=500, help="the normal user's GET /users/me")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument(
        "--database-server",
        default=DATABASE_SERVER,
    )
    args = parser.parse_args()

    database = create_database(args.database_server)
    work = Path(tempfile.mkdtemp(prefix="fsr-flood-"))
    # Rate limits in Redis, and one trusted proxy hop as behind Traefik.
    env = backend_env(database, REDIS_URL=args.redis_url, REFLEX_TRUSTED_PROXY_HOPS="1")
    env.pop("RATE_LIMITS_ENABLED", None)
    for name in [key for key in env if key.startswith("RATE_LIMIT_")]:
        env.pop(name)

    server = None
    try:
        server = start_backend(env, work, workers=1)
        server_port = int(server.url.rsplit(":", 1)[1])
        base = server.url
        user = (f"user-{secrets.token_hex(4)}@example.com", "user-password-1")
        target = f"target-{secrets.token_hex(4)}@example.com"
        signup(base, *user)
        signup(base, target, "target-password-1")

        print("# warm-up, then the normal user on an idle server", flush=True)
        normal_user(base, *user, 3, 50)
        idle = normal_user(base, *user, args.logins, args.reads)

        print(f"# the normal user during a flood of {args.rate:.0f} attempts/s", flush=True)
        # The flood runs long enough to cover the measurement (idle time x 3, at least 15 s).
        idle_seconds = sum(sum(latency.samples) for latency in idle) / 1000
        flood_seconds = max(15.0, 3 * idle_seconds + 5)
        outcome: dict[str, Any] = {}
        attacker = threading.Thread(
            target=lambda: outcome.update(flood(server_port, target, args.rate, flood_seconds))
        )
        attacker.start()
        time.sleep(3)  # past the account's limit: the steady state of an attack
        started = time.perf_counter()
        during = normal_user(base, *user, args.logins, args.reads)
        measured_for = time.perf_counter() - started
        attacker.join()
        report = outcome
    finally:
        if server:
            stop(server)
        drop_database(database)

    assert measured_for < flood_seconds - 3, "the flood ended before the measurement"
    statuses = ", ".join(
        f"{count} × {status}" for status, count in sorted(report["statuses"].items())
    )
    print()
    print(
        f"Machine: {machine()}; backend workers: 1; bcrypt cost 12; rate limits at their "
        f"defaults in Redis; flood {report['sent']} wrong passwords for one account in "
        f"{report['seconds']:.1f} s ({report['sent'] / report['seconds']:.0f}/s, each from "
        f"a new address), answered {statuses}; the normal user measured for "
        f"{measured_for:.1f} s of it, one request at a time."
    )
    print()
    print("| normal user | requests | idle p50 ms | idle p95 ms | flood p50 ms | flood p95 ms "
          "| flood max ms | × idle (p50 / p95) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for quiet, busy in zip(idle, during, strict=True):
        p50, p95 = quiet.quantile(0.5), quiet.quantile(0.95)
        f50, f95 = busy.quantile(0.5), busy.quantile(0.95)
        print(
            f"| {quiet.name} | {len(busy.samples)} | {p50:.1f} | {p95:.1f} | {f50:.1f} "
            f"| {f95:.1f} | {max(busy.samples):.1f} | {f50 / p50:.2f}× / {f95 / p95:.2f}× |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
