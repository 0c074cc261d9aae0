"""The data drill (scripts/deploy/drill.sh): failover and point-in-time recovery, for real.

On a Patroni cluster of this machine (scripts/dev/ha.sh, archiving into a pgBackRest
repository of its own) with the production backend on it:

1. failover: a client writes items through the REST API at a steady rate and notes every
   id acknowledged (200), another reads its own list; the leader is killed midway
   (`ha.sh kill-leader`). Every acknowledged id must be on the new leader, writes must come
   back within 30 s, nothing but 503 may answer 5xx, and reads must never stop.
2. PITR: after a full backup, batch A is written, the time T noted, batch B written; a
   restore to T into a new cluster (`pitr.sh restore --time T`) must hold all of A and
   none of B.
3. RPO: with no other writes, how long a commit waits before its WAL file is in the
   repository (archive_timeout 60 s: no more than that, plus 5 s).
4. restore to the latest point: the newest full backup plus all archived WAL into another
   new cluster, where the app's own prestart (`python -m app.prestart`) must pass and the
   item and user counts must be the live cluster's.

Prints one line per part and exits 1 if any target is missed. Every server it starts
listens on a port in 16000-16999 and lives in a temporary folder removed at the end.
"""

import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.bench import backend_env, bearer, prestart, sign_up, start, stop  # noqa: E402
from devtools.servers import reflex_prod  # noqa: E402

HA = ROOT / "scripts/dev/ha.sh"
PITR = ROOT / "scripts/deploy/pitr.sh"
PORTS = range(16000, 17000)
# Targets (docs/configuration.md, Failover): none lost, writes back within 30 s, reads never stop.
RESUME_TARGET = 30.0
WRITES_PER_SECOND = 20
READS_PER_SECOND = 10
WARM_UP_SECONDS = 5.0
# Writes go on this long once they are back, to show they stay back.
STEADY_SECONDS = 5.0
FAILOVER_LIMIT = 60.0
BATCH_A, BATCH_B = 50, 30
# ha.sh's archive_timeout: an idle leader's WAL file is archived after this long at most.
ARCHIVE_TIMEOUT = 60


class DrillFailed(RuntimeError):
    """A step of the drill could not run (as opposed to a target missed)."""


def free_port() -> int:
    """A loopback port in 16000-16999 that nothing listens on."""
    for port in random.sample(PORTS, len(PORTS)):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise DrillFailed("no free port in 16000-16999")


def script(path: Path, *arguments: str, env: dict[str, str]) -> str:
    """Run one of the project's scripts; its standard output, or DrillFailed with its log."""
    result = subprocess.run(
        ["bash", str(path), *arguments],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    if result.returncode != 0:
        raise DrillFailed(f"{path.name} {' '.join(arguments)} failed:\n{result.stderr}")
    return result.stdout


def assignments(output: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in output.splitlines() if "=" in line)


def scalar(url: str, statement: str) -> object:
    """One value, through libpq's own reading of a (multi-host) URL."""
    with psycopg.connect(url, connect_timeout=10) as connection:
        row = connection.execute(statement.encode()).fetchone()
    if row is None:
        raise DrillFailed(f"no row from {statement}")
    return row[0]


@dataclass
class Cluster:
    """The drill's Patroni cluster and pgBackRest repository, in `work`."""

    work: Path
    urls: dict[str, str] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        return {
            "HA_ROOT": str(self.work / "ha"),
            "HA_BACKUP_REPO": str(self.work / "repo"),
            "PGBACKREST_CONFIG": str(self.work / "ha/pgbackrest.conf"),
            "PITR_RESTORE_ROOT": str(self.work / "restores"),
        }

    def ha(self, *arguments: str) -> str:
        return script(HA, *arguments, env=self.env)

    def pitr(self, *arguments: str) -> str:
        return script(PITR, *arguments, env=self.env)

    def count(self, statement: str, url: str | None = None) -> int:
        return int(str(scalar(url or self.urls["DATABASE_URL"], statement)))

    @contextmanager
    def restored(self, *arguments: str) -> Iterator[str]:
        """A new cluster restored from the repository (pitr.sh restore): its URL."""
        port = str(free_port())
        try:
            yield self.pitr("restore", "--port", port, *arguments).splitlines()[-1]
        finally:
            with suppress(DrillFailed):
                self.pitr("stop", "--port", port, "--remove")


@dataclass(frozen=True)
class Answer:
    sent: float
    answered: float
    status: int  # 0: no answer (connection refused, timeout)
    item_id: int | None


@dataclass
class Steady:
    """One client sending `request(client, number)` `rate` times a second from a thread,
    noting every answer."""

    base: str
    headers: dict[str, str]
    rate: float
    request: Callable[[httpx.Client, int], httpx.Response]
    answers: list[Answer] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        with httpx.Client(base_url=self.base, headers=self.headers, timeout=30) as client:
            next_at = time.monotonic()
            number = 0
            while not self._stop.is_set():
                number += 1
                sent = time.monotonic()
                try:
                    response = self.request(client, number)
                except httpx.TransportError:
                    self.answers.append(Answer(sent, time.monotonic(), 0, None))
                else:
                    item_id = response.json().get("id") if response.status_code == 200 else None
                    answer = Answer(sent, time.monotonic(), response.status_code, item_id)
                    self.answers.append(answer)
                next_at += 1 / self.rate
                self._stop.wait(max(0.0, next_at - time.monotonic()))


def write_item(client: httpx.Client, number: int) -> httpx.Response:
    return client.post("/api/v1/items/", json={"title": f"drill {number}"})


def read_items(client: httpx.Client, _: int) -> httpx.Response:
    return client.get("/api/v1/items/", params={"limit": 1})


def failover(cluster: Cluster, base: str, writer: dict[str, str], reader: dict[str, str]) -> bool:
    """Part 1; True when every target is met."""
    writes = Steady(base, writer, WRITES_PER_SECOND, write_item)
    reads = Steady(base, reader, READS_PER_SECOND, read_items)
    writes.start()
    reads.start()
    try:
        time.sleep(WARM_UP_SECONDS)
        killed_port = cluster.ha("kill-leader").strip()
        killed_at = time.monotonic()
        deadline = killed_at + FAILOVER_LIMIT
        while time.monotonic() < deadline and not resumed(writes.answers, killed_at):
            time.sleep(0.2)
        time.sleep(STEADY_SECONDS)
    finally:
        writes.stop()
        reads.stop()
    back = resumed(writes.answers, killed_at)
    acknowledged = [answer.item_id for answer in writes.answers if answer.item_id is not None]
    found = cluster.count(
        f"SELECT count(*) FROM item WHERE id IN ({','.join(map(str, acknowledged))})"
    )
    statuses = Counter(answer.status for answer in writes.answers + reads.answers)
    other_5xx = sum(count for status, count in statuses.items() if status >= 500 and status != 503)
    resumed_after = f"{back - killed_at:.1f}" if back else "never"
    print(
        f"failover: {len(acknowledged)} acknowledged, {len(acknowledged) - found} lost, "
        f"writes resumed after {resumed_after} s, 5xx other than 503: {other_5xx}",
        flush=True,
    )
    refused_reads = [answer for answer in reads.answers if answer.status != 200]
    reads_back = resumed(reads.answers, max([killed_at, *(a.sent for a in refused_reads)]))
    print(
        f"  leader on port {killed_port} killed; writes answered {dict(statuses_of(writes))}; "
        f"reads {dict(statuses_of(reads))}, none refused after "
        f"{(reads_back or killed_at) - killed_at:.1f} s (no answer at all: {statuses[0]})",
        flush=True,
    )
    return (
        found == len(acknowledged) > 0
        and back is not None
        and back - killed_at < RESUME_TARGET
        and other_5xx == 0
        and statuses[0] == 0
        # Reads never stop: the replica serves them, and the caller lookup, while the
        # primary is gone.
        and not refused_reads
    )


def statuses_of(client: Steady) -> Counter[int]:
    return Counter(answer.status for answer in client.answers)


def resumed(answers: list[Answer], since: float) -> float | None:
    """When the first request sent after `since` was answered 200."""
    return next((a.answered for a in list(answers) if a.sent > since and a.status == 200), None)


def database_time(url: str) -> datetime:
    return datetime.fromisoformat(str(scalar(url, "SELECT clock_timestamp()::text")))


def post_batch(client: httpx.Client, name: str, size: int) -> None:
    for number in range(size):
        response = client.post("/api/v1/items/", json={"title": f"pitr {name} {number}"})
        if response.status_code != 200:
            raise DrillFailed(f"writing batch {name}: {response.status_code} {response.text}")


def point_in_time(cluster: Cluster, base: str, writer: dict[str, str]) -> bool:
    """Part 2; True when every target is met."""
    cluster.pitr("backup", "--type", "full")
    url = cluster.urls["DATABASE_URL"]
    with httpx.Client(base_url=base, headers=writer, timeout=30) as client:
        post_batch(client, "A", BATCH_A)
        # T: the next whole second after batch A, as an operator would type it; batch B
        # starts once the database's clock is a second past it.
        after_a = database_time(url)
        target = after_a.replace(microsecond=0) + timedelta(seconds=1)
        while database_time(url) < target + timedelta(seconds=1):
            time.sleep(0.1)
        post_batch(client, "B", BATCH_B)
    # A WAL switch, and a wait until it is in the repository.
    cluster.pitr("check")
    moment = target.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S+00")
    with cluster.restored("--time", moment) as restored:
        found = cluster.count("SELECT count(*) FROM item WHERE title LIKE 'pitr A %'", restored)
        later = cluster.count("SELECT count(*) FROM item WHERE title LIKE 'pitr B %'", restored)
    print(
        f"pitr: restored to {moment}, {BATCH_A} rows expected, {found} found, "
        f"{BATCH_B - later} absent",
        flush=True,
    )
    return found == BATCH_A and later == 0


def recovery_point(cluster: Cluster) -> bool:
    """Part 4: how long a commit waits, with no other writes, before the WAL file that
    holds it is in the repository: what a loss of every member would cost (the RPO)."""
    with psycopg.connect(cluster.urls["DATABASE_URL"], autocommit=True) as connection:
        connection.execute(b"CREATE TABLE IF NOT EXISTS drill_rpo (at timestamptz)")
        connection.execute(b"INSERT INTO drill_rpo VALUES (clock_timestamp())")
        committed = time.monotonic()
        segment = connection.execute(b"SELECT pg_walfile_name(pg_current_wal_lsn())").fetchone()
        deadline = committed + ARCHIVE_TIMEOUT + 30
        archived = None
        while archived is None and time.monotonic() < deadline:
            last = connection.execute(b"SELECT last_archived_wal FROM pg_stat_archiver").fetchone()
            if segment and last and last[0] and str(last[0]) >= str(segment[0]):
                archived = time.monotonic()
            time.sleep(0.5)
    waited = f"{archived - committed:.0f}" if archived else "never"
    print(
        f"rpo: a commit reached the repository after {waited} s "
        f"(archive_timeout {ARCHIVE_TIMEOUT} s)",
        flush=True,
    )
    return archived is not None and archived - committed <= ARCHIVE_TIMEOUT + 5


COUNTS = (
    "SELECT (SELECT count(*) FROM item) || ' items, '"
    " || (SELECT count(*) FROM \"user\") || ' users'"
)


def latest(cluster: Cluster, env: dict[str, str]) -> bool:
    """Part 3; True when every target is met."""
    live = str(scalar(cluster.urls["DATABASE_URL"], COUNTS))
    cluster.pitr("check")
    with cluster.restored() as restored:
        result = subprocess.run(
            [sys.executable, "-m", "app.prestart"],
            cwd=ROOT,
            env={**env, "DATABASE_URL": restored},
            capture_output=True,
            text=True,
            timeout=300,
        )
        copy = str(scalar(restored, COUNTS))
    print(
        f"latest: newest full backup + WAL restored, prestart "
        f"{'passed' if result.returncode == 0 else 'FAILED'}, {copy} (live: {live})",
        flush=True,
    )
    if result.returncode != 0:
        print(result.stdout + result.stderr, file=sys.stderr)
    return result.returncode == 0 and copy == live


def main() -> int:
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="full-stack-reflex-drill-"))
    # PostgreSQL runs as the postgres OS user: it must reach the folders inside.
    work.chmod(0o755)
    cluster = Cluster(work)
    results: list[bool] = []
    try:
        print("# starting three etcd and three PostgreSQL members (scripts/dev/ha.sh)", flush=True)
        cluster.urls = assignments(cluster.ha("start"))
        env = backend_env(
            cluster.urls["DATABASE_URL"],
            workers=2,
            DATABASE_REPLICA_URL=cluster.urls["DATABASE_REPLICA_URL"],
            REFLEX_STATES_WORKDIR=str(work / "states"),
        )
        prestart(env)
        port = free_port()
        print(f"# starting the backend on 127.0.0.1:{port}", flush=True)
        backend = start(
            reflex_prod(port, backend_only=True),
            env,
            f"http://127.0.0.1:{port}/api/ping",
            work / "backend.log",
        )
        try:
            writer = bearer(sign_up(backend.url, "drill-writer")[2])
            reader = bearer(sign_up(backend.url, "drill-reader")[2])
            results.append(failover(cluster, backend.url, writer, reader))
            results.append(point_in_time(cluster, backend.url, writer))
        finally:
            stop(backend)
        results.append(recovery_point(cluster))
        results.append(latest(cluster, env))
    except (DrillFailed, subprocess.SubprocessError, httpx.HTTPError) as error:
        print(f"drill: could not run: {error}", file=sys.stderr)
        results.append(False)
    finally:
        passed = bool(results) and all(results)
        with suppress(DrillFailed):
            # A failed drill keeps the members' data and logs (ha.sh stop) for a look.
            cluster.ha("remove" if passed else "stop")
        if passed:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"drill: logs kept in {work}", file=sys.stderr)
    verdict = "passed" if all(results) else "FAILED"
    print(f"drill: {verdict} in {time.monotonic() - started:.0f} s", flush=True)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
