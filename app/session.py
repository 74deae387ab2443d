"""The runs of this browser session. Each session has its own dict, so users never share runs."""

from __future__ import annotations

import streamlit as st

from app.runs import Run, RunSpec

RUNS_KEY = "train_runs"  # owned by the Train page; read by the others


def runs() -> dict[int, Run]:
    """Every run of this session, by id, oldest first."""
    return st.session_state.setdefault(RUNS_KEY, {})


def ready_runs() -> list[Run]:
    """Runs whose whole-space scores and embeddings are available."""
    return [r for r in runs().values() if r.is_ready]


def active_run() -> Run | None:
    return next((r for r in runs().values() if r.is_active), None)


def start_run(spec: RunSpec) -> Run:
    """Starts a run in the background and keeps it in the session.

    Raises:
        ValueError: for a spec the library rejects, or while another run of this session trains.
    """
    busy = active_run()
    if busy is not None:
        raise ValueError(f"run {busy.name} is still {busy.status}; wait for it or cancel it first")
    run = Run(spec, id=max(runs(), default=0) + 1).start()  # numbered per session
    runs()[run.id] = run
    return run
