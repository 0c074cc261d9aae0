"""When a test may skip: what the machine lacks is a skip locally and a failure in CI.

A suite that skips its browser tests because Chromium is missing still ends green, so
in CI (`CI=true`, as GitHub Actions and `.ci/run` set it) a missing tool or service
fails the test instead, with the same message that tells a developer what to install.

`--fail-on-skip` (what `.ci/run` passes) fails the run when any test was skipped,
except the PostgreSQL-only tests (marked `postgres`) in a run on SQLite: those are
listed by name at the end of the run, so the SQLite pass shows exactly what it left out.
"""

import os
from typing import NoReturn

import pytest
from sqlalchemy.engine import make_url

from devtools.chromium import CHROMIUM

IN_CI = os.environ.get("CI", "").lower() in ("true", "1")
POSTGRES_ONLY_REASON = "PostgreSQL only (runs in the PostgreSQL pass)"

_skipped: dict[str, str] = {}
_allowed: list[str] = []


def unavailable(what: str) -> NoReturn:
    """A test cannot run here because `what` (a sentence that says how to install it)."""
    if IN_CI:
        pytest.fail(f"CI runs every test, but {what}", pytrace=False)
    pytest.skip(what)


def require_chromium() -> None:
    if not CHROMIUM.exists():
        unavailable(
            f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium)"
        )


def on_postgres() -> bool:
    return make_url(os.environ["DATABASE_URL"]).get_backend_name() == "postgresql"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fail-on-skip",
        action="store_true",
        help="fail the run when a test was skipped (PostgreSQL-only tests may skip on SQLite)",
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("postgres") and not on_postgres():
        pytest.skip(POSTGRES_ONLY_REASON)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if not report.skipped or hasattr(report, "wasxfail"):
        return
    reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else ""
    if reason.startswith("Skipped: "):
        reason = reason.removeprefix("Skipped: ")
    if reason == POSTGRES_ONLY_REASON and not on_postgres():
        _allowed.append(report.nodeid)
    else:
        _skipped[report.nodeid] = reason


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if session.config.getoption("--fail-on-skip") and _skipped and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _allowed:
        terminalreporter.write_sep("-", f"{len(_allowed)} PostgreSQL-only tests not run on SQLite")
        for nodeid in _allowed:
            terminalreporter.write_line(nodeid)
    if _skipped and terminalreporter.config.getoption("--fail-on-skip"):
        terminalreporter.write_sep("=", f"--fail-on-skip: {len(_skipped)} tests skipped", red=True)
        for nodeid, reason in _skipped.items():
            terminalreporter.write_line(f"{nodeid}: {reason}")
