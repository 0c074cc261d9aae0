"""The folder where every worker process keeps its metric values (prometheus_client's
multiprocess mode).

prometheus_client picks its storage when it is first imported, so this runs before any
`app` module, from app/__init__.py.
"""

import atexit
import multiprocessing
import os
import shutil
import tempfile
from pathlib import Path

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
# The folder a start made for itself: a process started from it (a test run starting a
# backend) inherits the variable but must not share, nor empty, that folder.
MADE_DIR = "FSR_METRICS_MADE_DIR"


def prepare_multiprocess_dir() -> None:
    """A fresh directory per start: values of a previous run must not add up with ours.

    Runs in the first process of a start (the supervisor of the granian workers, or
    the only process); workers, forked or spawned by multiprocessing, keep what it set.
    An operator's PROMETHEUS_MULTIPROC_DIR is emptied; without one, a temporary
    directory is made and removed when the process that made it exits.
    """
    if multiprocessing.parent_process() is not None:
        return
    chosen = os.environ.get(MULTIPROC_DIR)
    if chosen and chosen != os.environ.get(MADE_DIR):
        path = Path(chosen)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink(missing_ok=True)
        return
    made = tempfile.mkdtemp(prefix="fsr-metrics-")
    os.environ[MULTIPROC_DIR] = os.environ[MADE_DIR] = made
    owner = os.getpid()

    def remove() -> None:
        # Forked workers inherit this hook; only the process that made the folder removes it.
        if os.getpid() == owner:
            shutil.rmtree(made, ignore_errors=True)

    atexit.register(remove)
