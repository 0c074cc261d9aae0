"""API benchmark: S1-S5 with wrk against the production backend, plus bare references.

Run through `bench/run.sh` (it sets up the tools and services first). Everything runs
on this machine: a fresh PostgreSQL database, the backend started exactly as
production starts it (`reflex run --env prod --backend-only`), wrk on loopback.
Prints one markdown table; figures are read as ratios to the references measured
in the same run and to the FastAPI template's published figures.
"""

import argparse
import contextlib
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))

from devtools.servers import (  # noqa: E402
    ServerNotReady,
    free_port,
    reflex_prod,
    start_logged,
    stop_process_group,
    wait_until_ok,
)

# The FastAPI template's backend on this kind of machine (issue #3), wrk -c32.
TEMPLATE = {"S1": 6.4, "S2": 200.0, "S3": 74.0, "S4": 115.0, "S5": 1570.0}
TEMPLATE_P99 = {"S1": 9000.0, "S2": 430.0, "S3": 1100.0, "S4": 800.0, "S5": 38.0}
# Where the benchmarks create their databases (any database on the server).
DATABASE_SERVER = os.environ.get(
    "BENCH_DATABASE_SERVER", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REFERENCE_PUBLISHED = {"starlette": 7900.0, "fastapi-select1": 410.0}

SCENARIOS = {
    "S1": "POST /login/access-token",
    "S2": "GET /users/me",
    "S3": "GET /items/?limit=100",
    "S4": "POST /items/",
    "S5": "GET /utils/health-check/",
}


@dataclass
class Result:
    name: str
    connections: int
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    peak_rss_mib: float = 0.0
    peak_worker_rss_mib: float = 0.0
    cpu_ms_per_request: float = 0.0
    note: str = ""


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def tree(self) -> list[psutil.Process]:
        try:
            root = psutil.Process(self.process.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []


@dataclass
class Sampler:
    """Peak RSS and CPU time of a process tree while a load runs."""

    server: Server
    peak_total: float = 0.0
    peak_worker: float = 0.0
    cpu_start: float = 0.0
    cpu_end: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)

    def _cpu(self) -> float:
        total = 0.0
        for proc in self.server.tree():
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                total += times.user + times.system
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            sizes = []
            for proc in self.server.tree():
                with contextlib.suppress(psutil.Error):
                    sizes.append(proc.memory_info().rss)
            if sizes:
                self.peak_total = max(self.peak_total, sum(sizes))
                self.peak_worker = max(self.peak_worker, max(sizes))
            time.sleep(0.1)

    @contextlib.contextmanager
    def measure(self) -> Iterator[None]:
        self.cpu_start = self._cpu()
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()
        try:
            yield
        finally:
            self._stop.set()
            thread.join()
            self.cpu_end = self._cpu()


def start(
    command: list[str], env: dict[str, str], ready_url: str, log: Path, cwd: Path = ROOT
) -> Server:
    """Start a server and wait until `ready_url` answers (any status below 500)."""
    process = start_logged(command, env, log, cwd)
    server = Server(process, ready_url.rsplit("/api", 1)[0], log)
    try:
        wait_until_ok(process, ready_url, log, 180, "server", ready=lambda status: status < 500)
    except ServerNotReady as error:
        stop(server)
        raise SystemExit(str(error)) from None
    return server


def prestart(env: dict[str, str], cwd: Path = ROOT) -> None:
    """Wait for the database, migrate, create the first superuser (app.prestart)."""
    subprocess.run(
        [str(BIN / "python"), "-m", "app.prestart"],
        cwd=cwd,
        env=env,
        check=True,
        capture_output=True,
    )


def start_backend(env: dict[str, str], work: Path, workers: int, cwd: Path = ROOT) -> Server:
    """Migrate (app.prestart), then start the backend as production does, from the
    project or another checkout of it (`cwd`, run with this project's virtualenv)."""
    prestart(env, cwd)
    port = free_port()
    command = reflex_prod(port, backend_only=True)
    print(f"# starting backend: {' '.join(command[1:])} (workers={workers})", flush=True)
    return start(command, env, f"http://127.0.0.1:{port}/api/ping", work / "backend.log", cwd)


def backend_env(database: str, workers: int | None = 1, **overrides: str) -> dict[str, str]:
    """The environment of a benchmarked backend: production settings, no access log,
    nothing of this shell's configuration that would change what is measured.

    `workers` is GRANIAN_WORKERS (None: the server's own default); `overrides` are the
    settings of one benchmark or variant, on top of all that.
    """
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "ENVIRONMENT": "local",
        "SECRET_KEY": secrets.token_urlsafe(32),
        "FIRST_SUPERUSER": "admin@example.com",
        "FIRST_SUPERUSER_PASSWORD": secrets.token_urlsafe(12),
        "LOG_LEVEL": "WARNING",
        "EMAIL_BACKEND": "console",
        "REFLEX_TELEMETRY_ENABLED": "false",
    }
    if workers is not None:
        env["GRANIAN_WORKERS"] = str(workers)
    for name in ("REDIS_URL", "DATABASE_REPLICA_URL", "BCRYPT_ROUNDS"):
        env.pop(name, None)
    return {**env, **overrides}


def start_app(env: dict[str, str], work: Path) -> Server:
    """Migrate, then build and start the whole app, UI and backend on one port
    (`reflex run --env prod`)."""
    prestart(env)
    port = free_port()
    command = reflex_prod(port)
    print("# building and starting the app (reflex run --env prod)", flush=True)
    return start(command, env, f"http://127.0.0.1:{port}/api/ping", work / "app.log")


def stop(server: Server) -> None:
    stop_process_group(server.process)


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value)
    if not match:
        return float("nan")
    return float(match.group(1)) * _UNITS[match.group(2)]


def _wrk_field(pattern: str, output: str) -> str:
    """The first group of `pattern` (matched per line) in wrk's report, which must have it."""
    match = re.search(pattern, output, re.M)
    if match is None:
        raise ValueError(f"wrk's output has no {pattern!r}:\n{output}")
    return match.group(1)


def parse_wrk(output: str) -> tuple[float, float, float, int, int]:
    rps = float(_wrk_field(r"Requests/sec:\s+([\d.]+)", output))
    requests = int(_wrk_field(r"(\d+) requests in", output))
    # Anchored: "75.50%" in the thread stats also contains "50%".
    p50 = _ms(_wrk_field(r"^\s+50%\s+(\S+)", output))
    p99 = _ms(_wrk_field(r"^\s+99%\s+(\S+)", output))
    errors = 0
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        errors += int(match.group(1))
    if match := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    ):
        errors += sum(int(n) for n in match.groups())
    return rps, p50, p99, requests, errors


def wrk(
    url: str, connections: int, seconds: int, script: Path | None, headers: dict[str, str]
) -> str:
    # A long timeout: at 256 connections a login waits for ~250 others (bcrypt
    # cost 12 on two cores); that is slow, not an error.
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "90s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    if script:
        command += ["-s", str(script)]
    command.append(url)
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def lua_post(folder: Path, name: str, body: str, content_type: str) -> Path:
    path = folder / f"{name}.lua"
    path.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(body)}\n"
        f'wrk.headers["Content-Type"] = "{content_type}"\n'
    )
    return path


@dataclass
class Load:
    url: str
    script: Path | None = None
    headers: dict[str, str] = field(default_factory=dict)


def drain(server: Server, limit: float = 180) -> None:
    """Wait until the server is idle: requests abandoned by a finished wrk run (queued
    logins above all) are still processed, and would be billed to the next run."""
    sampler = Sampler(server)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = sampler._cpu()
        time.sleep(1)
        if sampler._cpu() - before < 0.05:
            return


def measure(
    name: str, load: Load, server: Server, connections: int, seconds: int, warmup: int
) -> Result:
    drain(server)
    if warmup:
        wrk(load.url, connections, warmup, load.script, load.headers)
        drain(server)
    sampler = Sampler(server)
    with sampler.measure():
        output = wrk(load.url, connections, seconds, load.script, load.headers)
    rps, p50, p99, requests, errors = parse_wrk(output)
    cpu_ms = (sampler.cpu_end - sampler.cpu_start) * 1000 / max(requests, 1)
    return Result(
        name,
        connections,
        rps,
        p50,
        p99,
        requests,
        errors,
        sampler.peak_total / 2**20,
        sampler.peak_worker / 2**20,
        cpu_ms,
    )


def create_database(server_url: str) -> str:
    url = make_url(server_url).set(drivername="postgresql+psycopg")
    name = f"bench_{secrets.token_hex(4)}"
    engine = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    parsed = make_url(url)
    engine = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    engine.dispose()


def bearer(token: str) -> dict[str, str]:
    """The headers of a request made with `token`."""
    return {"Authorization": f"Bearer {token}"}


def login(base: str, email: str, password: str) -> str:
    """A bearer token for the account, from the backend at `base`."""
    response = httpx.post(
        f"{base}/api/v1/login/access-token",
        data={"username": email, "password": password},
        timeout=60,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


# Every account the benchmarks sign up has this password.
PASSWORD = "bench-password-1"


def sign_up(base: str, prefix: str = "bench") -> tuple[str, str, str]:
    """A new account, signed up through the API: (email, password, bearer token)."""
    email, password = f"{prefix}-{secrets.token_hex(4)}@example.com", PASSWORD
    httpx.post(
        f"{base}/api/v1/users/signup", json={"email": email, "password": password}, timeout=60
    )
    return email, password, login(base, email, password)


def seed(base: str, items: int) -> tuple[str, str, str]:
    """A user with `items` items; returns (email, password, bearer token)."""
    email, password, token = sign_up(base)
    with httpx.Client(base_url=base, timeout=60) as client:
        headers = bearer(token)
        for n in range(items):
            response = client.post(
                "/api/v1/items/",
                json={
                    "title": f"Benchmark item {n:03d}",
                    "description": "An item seeded for the benchmark, of a typical length.",
                },
                headers=headers,
            )
            response.raise_for_status()
    return email, password, token


def table(results: list[Result], reference: dict[str, Result], idle_s2_p99: float) -> str:
    lines = [
        "| scenario | conns | req/s | p50 ms | p99 ms | errors | peak RSS MiB (max worker) "
        "| CPU ms/req | × template | × bare FastAPI |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    bare = reference.get("fastapi-select1")
    for r in results:
        key = r.name.split()[0]
        vs_template = f"{r.rps / TEMPLATE[key]:.1f}×" if key in TEMPLATE else ""
        vs_bare = f"{r.rps / bare.rps:.2f}×" if bare and key in TEMPLATE else ""
        label = f"{r.name} {SCENARIOS.get(key, '')}".strip()
        if r.note:
            label += f" ({r.note})"
        lines.append(
            f"| {label} | {r.connections} | {r.rps:.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} "
            f"| {r.errors} | {r.peak_rss_mib:.0f} ({r.peak_worker_rss_mib:.0f}) "
            f"| {r.cpu_ms_per_request:.2f} | {vs_template} | {vs_bare} |"
        )
    for key, r in reference.items():
        published = REFERENCE_PUBLISHED[key]
        lines.append(
            f"| reference: {key} (uvicorn, 1 worker) | {r.connections} | {r.rps:.0f} "
            f"| {r.p50_ms:.1f} | {r.p99_ms:.1f} | {r.errors} "
            f"| {r.peak_rss_mib:.0f} ({r.peak_worker_rss_mib:.0f}) | {r.cpu_ms_per_request:.2f} "
            f"| published {published:.0f} req/s | |"
        )
    if idle_s2_p99:
        lines.append("")
        lines.append(f"S2 idle p99 at 32 connections: {idle_s2_p99:.1f} ms")
    return "\n".join(lines)


def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = psutil.virtual_memory().total / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GiB, Python {sys.version.split()[0]}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--connections", default="32,64,256")
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--scenarios", default="S1,S2,S3,S4,S5")
    parser.add_argument("--no-references", action="store_true")
    parser.add_argument(
        "--database-server",
        default=DATABASE_SERVER,
    )
    args = parser.parse_args()
    connections = [int(c) for c in args.connections.split(",")]
    chosen = [s.strip() for s in args.scenarios.split(",")]

    database = create_database(args.database_server)
    work = Path(tempfile.mkdtemp(prefix="fsr-bench-"))
    env = backend_env(database, args.workers)
    results: list[Result] = []
    reference: dict[str, Result] = {}
    idle_s2_p99 = 0.0
    server: Server | None = None
    try:
        server = start_backend(env, work, args.workers)
        base = server.url
        email, password, token = seed(base, args.items)
        auth = bearer(token)
        loads = {
            "S1": Load(
                f"{base}/api/v1/login/access-token",
                lua_post(
                    work,
                    "login",
                    f"username={email}&password={password}",
                    "application/x-www-form-urlencoded",
                ),
            ),
            "S2": Load(f"{base}/api/v1/users/me", headers=auth),
            "S3": Load(f"{base}/api/v1/items/?limit=100", headers=auth),
            "S4": Load(
                f"{base}/api/v1/items/",
                lua_post(
                    work,
                    "create",
                    json.dumps({"title": "Created by wrk", "description": "Load test"}),
                    "application/json",
                ),
                headers=auth,
            ),
            "S5": Load(f"{base}/api/v1/utils/health-check/"),
        }
        # S3 reads the seeded 100 items, so it runs before S4 adds more.
        for key in [k for k in ("S1", "S2", "S3", "S5", "S4") if k in chosen]:
            for conns in connections:
                print(f"# {key} at {conns} connections", flush=True)
                result = measure(key, loads[key], server, conns, args.duration, args.warmup)
                results.append(result)
                if key == "S2" and conns == 32:
                    idle_s2_p99 = result.p99_ms
        if "S1" in chosen and "S2" in chosen:
            print("# S2 at 32 connections while S1 saturates the hashing threads", flush=True)
            login_load = loads["S1"]
            background = threading.Thread(
                target=wrk,
                args=(login_load.url, 16, args.duration + 2, login_load.script, {}),
                daemon=True,
            )
            background.start()
            time.sleep(1)
            mixed = measure("S2", loads["S2"], server, 32, args.duration, 0)
            mixed.note = "during S1 load"
            results.append(mixed)
            background.join()
    finally:
        if server:
            stop(server)
        drop_database(database)

    if not args.no_references:
        ref_db = create_database(args.database_server)
        try:
            ref_env = {**env, "BENCH_REFERENCE_DATABASE_URL": ref_db}
            for key, target in (
                ("starlette", "bench.references:starlette_app"),
                ("fastapi-select1", "bench.references:fastapi_app"),
            ):
                port = free_port()
                command = [
                    str(BIN / "uvicorn"), target, "--host", "127.0.0.1", "--port", str(port),
                    "--workers", "1", "--no-access-log", "--log-level", "warning",
                ]  # fmt: skip
                print(f"# reference {key}", flush=True)
                ref = start(command, ref_env, f"http://127.0.0.1:{port}/", work / f"{key}.log")
                try:
                    reference[key] = measure(
                        key,
                        Load(f"http://127.0.0.1:{port}/"),
                        ref,
                        32,
                        args.duration,
                        args.warmup,
                    )
                finally:
                    stop(ref)
        finally:
            drop_database(ref_db)

    print()
    print(
        f"Machine: {machine()}; backend workers: {args.workers}; wrk -t2, "
        f"{args.duration} s per run after a {args.warmup} s warm-up; "
        f"{args.items} items per user; bcrypt cost 12."
    )
    print()
    print(table(results, reference, idle_s2_p99))
    return 0


if __name__ == "__main__":
    sys.exit(main())
