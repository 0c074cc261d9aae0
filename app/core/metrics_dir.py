"""The folder where every worker process keeps its metric values (prometheus_client's
multiprocess mode).

prometheus_client picks its storage when it is first imported, so this runs before any
`app` module, from app/__init__.py.
"""

import atexit
import os
import shutil
import tempfile
from pathlib import Path

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
# Set by the first process of a start (the supervisor of the granian workers, or the
# only process): its workers, forked or spawned, inherit the directory as it is.
OWNER = "FSR_METRICS_DIR_OWNER"


def prepare_multiprocess_dir() -> None:
    """A fresh directory per start: values of a previous run must not add up with ours.

    An operator's PROMETHEUS_MULTIPROC_DIR is emptied; without one, a temporary
    directory is made and removed when the process that made it exits.
    """
    if os.environ.get(OWNER):
        return
    os.environ[OWNER] = str(os.getpid())
    chosen = os.environ.get(MULTIPROC_DIR)
    if chosen:
        path = Path(chosen)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink(missing_ok=True)
        return
    made = tempfile.mkdtemp(prefix="fsr-metrics-")
    os.environ[MULTIPROC_DIR] = made
    owner = os.getpid()

    def remove() -> None:
        # Forked workers inherit this hook; only the process that made the folder removes it.
        if os.getpid() == owner:
            shutil.rmtree(made, ignore_errors=True)

    atexit.register(remove)
