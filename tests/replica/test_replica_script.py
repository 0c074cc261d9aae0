"""scripts/dev/replica.sh: idempotent commands, and clear refusals of bad arguments."""

import pytest

from tests.replica.conftest import Replica, replica_script


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ([], "usage: bash scripts/dev/replica.sh start|stop|remove|status PORT"),
        (["start"], "usage:"),
        (["restart", "5433"], "usage:"),
        (["start", "http"], "PORT must be a TCP port number, not 'http'"),
        (["start", "70000"], "PORT must be a TCP port number, not '70000'"),
    ],
)
def test_bad_arguments_are_refused_with_the_usage(arguments: list[str], message: str) -> None:
    result = replica_script(*arguments)
    assert result.returncode == 1
    assert message in result.stderr


@pytest.mark.postgres
def test_each_command_is_idempotent(replica_server: Replica) -> None:
    port = str(replica_server.port)
    replica_server.start()
    again = replica_script("start", port)
    assert again.returncode == 0 and "already running" in again.stdout
    assert replica_script("status", port).returncode == 0

    replica_server.stop()
    assert replica_script("status", port).returncode == 1
    again = replica_script("stop", port)
    assert again.returncode == 0 and "not running" in again.stdout

    # Started again from the data it kept: a standby that streams from the primary.
    replica_server.start()
    assert replica_server.sql("SELECT pg_is_in_recovery()") == "t"
