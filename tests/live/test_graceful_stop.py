"""SIGTERM lets the requests in flight finish: what `docker stop` relies on in a deploy.

The backend is stopped the way a container is: SIGTERM to the main process (PID 1 in the
image), not to its process group. A request held inside the backend (its caller lookup
waits on a table lock) when the signal arrives must still be answered.
"""

import os
import signal
import threading
import time
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

from app.core.config import settings
from devtools.servers import http_answers, stop_process_group
from tests.conftest import Account
from tests.live.conftest import backend_env, serve_backend

pytestmark = [pytest.mark.live, pytest.mark.postgres]


def libpq_url(database: str) -> str:
    return make_url(database).set(drivername="postgresql").render_as_string(hide_password=False)


def waiting_on_lock(admin: psycopg.Connection[tuple[object, ...]]) -> bool:
    row = admin.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock'"
    ).fetchone()
    return row is not None and row[0] == 1


def test_sigterm_lets_an_in_flight_request_finish(
    database: str, normal_user: Account, tmp_path: Path
) -> None:
    log = tmp_path / "backend.log"
    env = backend_env(
        REFLEX_WEB_WORKDIR=str(tmp_path / "web"),
        REFLEX_STATES_WORKDIR=str(tmp_path / "states"),
        DATABASE_URL=database,
        SECRET_KEY=settings.SECRET_KEY,
    )
    process, port = serve_backend(env, log)
    answers: list[httpx.Response | Exception] = []

    def request() -> None:
        try:
            answers.append(
                httpx.get(
                    f"http://127.0.0.1:{port}{settings.API_V1_STR}/users/me",
                    headers={"Authorization": f"Bearer {normal_user.token}"},
                    timeout=30,
                )
            )
        except Exception as error:  # noqa: BLE001  (reported by the assertion below)
            answers.append(error)

    try:
        with (
            psycopg.connect(libpq_url(database)) as locker,
            psycopg.connect(libpq_url(database), autocommit=True) as admin,
        ):
            locker.execute('LOCK TABLE "user" IN ACCESS EXCLUSIVE MODE')
            client = threading.Thread(target=request)
            client.start()
            deadline = time.monotonic() + 20
            while not waiting_on_lock(admin):
                assert time.monotonic() < deadline, "the request never reached the database"
                time.sleep(0.05)
            os.kill(process.pid, signal.SIGTERM)
            # The shutdown is under way (no new connection is taken) while it still waits.
            while http_answers(f"http://127.0.0.1:{port}/api/ping", lambda _: True):
                assert time.monotonic() < deadline, "the backend kept taking connections"
                time.sleep(0.05)
            assert not answers, "the request was answered before the lock was released"
            locker.rollback()
        client.join(30)
        assert process.wait(30) is not None
    finally:
        stop_process_group(process)
    assert len(answers) == 1
    answer = answers[0]
    assert isinstance(answer, httpx.Response), f"{answer!r}\n{log.read_text()[-3000:]}"
    assert answer.status_code == 200, answer.text
    assert answer.json()["email"] == normal_user.email
