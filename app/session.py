"""The runs of this browser session. Each session has its own dict, so users never share runs;
every run is also recorded in the process's run store, from which a session can open old runs."""

from __future__ import annotations

import streamlit as st

from app import resources
from app.runs import SCAN_SAMPLE, Run, RunSpec
from hypernas_core import get_space

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
    """Starts a run in the background, records it in the run store and keeps it in the session.

    Raises:
        ValueError: for a spec the library rejects or that breaks a session limit, while this
            session already trains its allowed number of runs, or when the server is full.
    """
    limits = resources.limits()
    active = [r for r in runs().values() if r.is_active]
    if len(active) >= limits.max_session_trainings:
        busy = active[0]
        raise ValueError(
            f"run {busy.name} is still {busy.status} (a session may train "
            f"{limits.max_session_trainings} run(s) at a time); wait for it or cancel it first"
        )
    space = get_space(spec.space)
    limits.check_run(spec.budget, spec.epochs, spec.scan_size, space.size or SCAN_SAMPLE)
    run = Run(
        spec,
        id=_next_id(),  # numbered per session
        store=resources.run_store().store,
        slots=resources.training_slots(),
    ).start()
    runs()[run.id] = run
    _forget_oldest(limits.max_session_runs)
    return run


def open_stored_run(store_id: int) -> Run:
    """Loads a run of the run store into this session (once; later calls return it).

    Raises:
        ValueError: when there is no store, or the stored run cannot be loaded.
    """
    for run in runs().values():
        if run.store_id == store_id:
            return run
    store = resources.run_store().store
    if store is None:
        raise ValueError("the run store is not available, so stored runs cannot be opened")
    run = Run.from_store(store, store_id, id=_next_id())
    runs()[run.id] = run
    _forget_oldest(resources.limits().max_session_runs)
    return run


def _next_id() -> int:
    return max(runs(), default=0) + 1


def _forget_oldest(keep: int) -> None:
    """Drops the oldest finished runs beyond `keep` from memory (the store keeps them)."""
    session_runs = runs()
    finished = [i for i, r in session_runs.items() if not r.is_active]  # oldest first
    for run_id in finished[: max(len(session_runs) - keep, 0)]:
        del session_runs[run_id]
