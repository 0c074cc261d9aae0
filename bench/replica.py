"""What the read-replica policy costs a list request, measured in one process.

Starts a streaming replica of the local PostgreSQL (scripts/dev/replica.sh) on a database of
its own, then times `GET /api/v1/items/` (one owner, 100 items, limit 100) through the
ASGI app, in interleaved rounds, for each way a read can go:

    primary        no replica configured (the policy does nothing)
    replica        served by the replica; read-your-writes marks in memory
    replica+redis  served by the replica; marks looked up in Redis (one EXISTS a read)
    wrote          the caller wrote within the window: served by the primary

    flock /tmp/bench.lock .venv/bin/python bench/replica.py            # 300 reads each
    flock /tmp/bench.lock .venv/bin/python bench/replica.py --reads 1000
"""

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy.engine import make_url  # noqa: E402

from devtools.servers import free_port  # noqa: E402
from tests.database import create_test_database, drop_test_database  # noqa: E402

ROUND = 25


def replica(command: str, port: int) -> None:
    subprocess.run(["bash", str(ROOT / "scripts/dev/replica.sh"), command, str(port)], check=True)


async def measure(reads: int, primary_url: str) -> dict[str, list[float]]:
    import httpx
    from sqlalchemy import text

    from app import db
    from app.api.main import api
    from app.db import recent_writes
    from app.db.recent_writes import RecentWriters
    from app.models import ItemCreate, UserCreate
    from app.prestart import migrate
    from app.services import items, users

    migrate(primary_url)
    async with db.session_scope() as session:
        owner = await users.create_user(
            session, UserCreate(email="bench@example.com", password="bench-password")
        )
        for number in range(100):
            await items.create_item(session, owner, ItemCreate(title=f"item {number}"))
    async with db.engine.connect() as connection:
        position = (await connection.execute(text("SELECT pg_current_wal_lsn()"))).scalar()
    replayed = text("SELECT pg_last_wal_replay_lsn() >= CAST(:position AS pg_lsn)")
    async with db.replica_engine.connect() as connection:
        for _ in range(1200):  # at most a minute, for the replica to have the rows
            if (await connection.execute(replayed, {"position": position})).scalar():
                break
            await asyncio.sleep(0.05)

    replica_engine = db.replica_engine
    memory = RecentWriters(5.0)
    shared = RecentWriters(
        5.0, redis_url="redis://127.0.0.1:6379/0", key_prefix=f"bench-{secrets.token_hex(4)}"
    )
    assert owner.id is not None
    owner_id = owner.id

    def primary() -> None:
        db.replica_engine = db.engine

    def on_replica(writers: RecentWriters) -> Callable[[], None]:
        def use() -> None:
            db.replica_engine = replica_engine
            recent_writes.recent_writers = writers

        return use

    async def wrote() -> None:
        on_replica(memory)()
        await memory.mark(owner_id)

    variants: dict[str, Callable[[], object]] = {
        "primary": primary,
        "replica": on_replica(memory),
        "replica+redis": on_replica(shared),
        "wrote": wrote,
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        login = await client.post(
            "/api/v1/login/access-token",
            data={"username": "bench@example.com", "password": "bench-password"},
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        for _ in range(-(-reads // ROUND) + 1):  # the first round warms up
            for name, setup in variants.items():
                result = setup()
                if asyncio.iscoroutine(result):
                    await result
                for _ in range(ROUND):
                    started = time.perf_counter()
                    response = await client.get("/api/v1/items/", headers=headers)
                    times[name].append(time.perf_counter() - started)
                    assert response.status_code == 200 and response.json()["count"] == 100
    await shared.close()
    await db.dispose_engines()
    return {name: values[ROUND:] for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=300, help="timed reads per variant")
    arguments = parser.parse_args()
    server = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    database = create_test_database(server)
    port = free_port()
    replica("start", port)
    try:
        replica_url = make_url(database).set(host="127.0.0.1", port=port)
        os.environ.update(
            DATABASE_URL=database,
            DATABASE_REPLICA_URL=replica_url.render_as_string(hide_password=False),
            SECRET_KEY=secrets.token_urlsafe(32),
            FIRST_SUPERUSER_PASSWORD=secrets.token_urlsafe(16),
            BCRYPT_ROUNDS="4",
            RATE_LIMITS_ENABLED="false",
            LOG_LEVEL="WARNING",
        )
        os.environ.pop("REDIS_URL", None)
        times = asyncio.run(measure(arguments.reads, database))
    finally:
        replica("remove", port)
        drop_test_database(database)
    base = statistics.median(times["primary"])
    print(f"GET /api/v1/items/ (100 rows), {arguments.reads} reads each, interleaved")
    print(f"{'reads go to':<15}{'median ms':>10}{'p95 ms':>9}{'vs primary':>12}")
    for name, values in times.items():
        median = statistics.median(values)
        p95 = statistics.quantiles(values, n=20)[-1]
        print(f"{name:<15}{median * 1000:>10.2f}{p95 * 1000:>9.2f}{median / base:>11.2f}x")


if __name__ == "__main__":
    main()
