"""app/observability/outage.py: a failed service is left alone for the pause; the outage is said
once when it begins and once when the service answers again."""

import logging

import pytest

from app.observability.outage import Outage
from tests.services.test_replica_policy import FakeClock

logger = logging.getLogger("test.outage")


def test_an_outage_pauses_retries_and_is_said_once_each_way(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    outage = Outage(logger, "down: %s", "back", retry_seconds=5, clock=clock)
    assert not outage.skipping()
    with caplog.at_level(logging.WARNING, logger="test.outage"):
        outage.failed(ConnectionRefusedError("refused"))
        assert outage.skipping()
        clock.advance(4.9)
        assert outage.skipping()
        clock.advance(0.2)
        assert not outage.skipping()  # the pause is over: tried again
        outage.failed(ConnectionRefusedError("refused again"))  # still the same outage
        assert outage.skipping()
        outage.works()
        assert not outage.skipping()
        outage.works()
    assert [record.getMessage() for record in caplog.records] == ["down: refused", "back"]
