"""Fixtures of the app tests: tiny finished runs, and AppTest on any page with runs injected.

The UMAP warm-up thread is switched off here: it would compile umap-learn (~20 s of CPU) in every
test process.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ["HYPERNAS_APP_NO_UMAP_WARMUP"] = "1"
# every app test process writes its runs to a fresh store, never to the user's data directory
os.environ["HYPERNAS_STORE"] = tempfile.mkdtemp(prefix="hypernas-test-store-")

from streamlit.testing.v1 import AppTest  # noqa: E402

from app.runs import Run, RunSpec  # noqa: E402

MAIN = str(Path(__file__).resolve().parents[2] / "app" / "main.py")
PAGES = (
    "overview",
    "architectures",
    "train",
    "embeddings",
    "hypernetwork",
    "rankings",
    "loss_weights",
    "leaderboard",
    "runs",
    "score",
)


def finished_run(spec: RunSpec) -> Run:
    run = Run(spec).start()
    run.join(timeout=300)
    assert run.status == "done", (run.status, run.error)
    return run


@pytest.fixture(scope="session")
def np_run() -> Run:
    return finished_run(RunSpec(method="np", budget=12, epochs=2, seed=0, scan_size=300))


@pytest.fixture(scope="session")
def hypernas_run() -> Run:
    return finished_run(RunSpec(method="hypernas", budget=10, epochs=2, seed=1, scan_size=300))


def open_page(page: str, runs: list[Run] = (), timeout: float = 120) -> AppTest:
    """Runs the app on `page` with `runs` in the session and returns the AppTest."""
    at = AppTest.from_file(MAIN, default_timeout=timeout)
    if runs:
        at.session_state["train_runs"] = {r.id: r for r in runs}
    at.switch_page(f"pages/{page}.py")
    return at.run()


def no_exceptions(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def frame_with(at: AppTest, column: str):
    """The value of the first dataframe on the page that has `column` (AppTest drops their keys)."""
    for element in at.dataframe:
        if column in element.value.columns:
            return element.value
    raise AssertionError(f"no dataframe with column {column!r} on the page")
