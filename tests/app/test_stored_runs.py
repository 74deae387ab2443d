"""The run store in the app: runs survive a restart, sessions train at once without crosstalk."""

import dataclasses
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np

from app import resources
from app.runs import Run, RunSpec
from app.session import RUNS_KEY
from hypernas_core.run_store import RunStore
from tests.app.conftest import frame_with, no_exceptions, open_page

ROOT = Path(__file__).resolve().parents[2]

TRAIN_IN_ANOTHER_PROCESS = textwrap.dedent(
    """
    import sys
    from app.runs import Run, RunSpec
    from hypernas_core.run_store import RunStore

    run = Run(RunSpec(method="np", budget=12, epochs=3, seed=5, scan_size=200), store=RunStore())
    run.start().join()
    assert run.status == "done", run.error
    print(run.store_id)
    """
)


def test_a_run_of_a_finished_app_process_opens_after_a_restart():
    # the first "app process" trains and exits; this process is the restarted app
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", TRAIN_IN_ANOTHER_PROCESS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    store_id = int(done.stdout.split()[-1])

    at = open_page("runs")
    no_exceptions(at)
    table = frame_with(at, "kind")
    row = table[table["id"] == store_id].iloc[0]
    assert row["status"] == "completed" and row["epochs"] == 3 and row["has_artifacts"]
    options = at.multiselect(key="runs_open_choice").options
    mine = next(o for o in options if o.startswith(f"{store_id}:"))
    at.multiselect(key="runs_open_choice").select(mine).run()
    at.button(key="runs_open").click().run()
    no_exceptions(at)
    (run,) = at.session_state[RUNS_KEY].values()
    assert run.store_id == store_id and run.is_ready and run.spec.seed == 5
    assert [e["epoch"] for e in run.epoch_records()] == [1.0, 2.0, 3.0]
    # the reopened scores are those the predictor gives, and the page compares them
    assert np.allclose(run.scan.scores[:5], run.predictor.predict(run.archs[:5]), atol=1e-4)
    at.switch_page("pages/rankings.py").run()
    no_exceptions(at)
    assert frame_with(at, "kendall_tau").loc[0, "run"] == run.name


def test_an_interrupted_run_is_listed_but_cannot_be_opened():
    store = RunStore()
    run_id = store.create_run("app", "killed run", {}, {})
    store.append_epoch(run_id, {"epoch": 1.0, "loss_regression": 1.0})
    store._release(run_id)  # what a kill -9 does to the lock (the kill itself: test_run_store)
    at = open_page("runs")
    no_exceptions(at)
    table = frame_with(at, "kind")
    row = table[table["id"] == run_id].iloc[0]
    assert row["status"] == "interrupted" and "after 1 recorded epoch" in row["message"]
    assert not any(
        o.startswith(f"{run_id}:") for o in at.multiselect(key="runs_open_choice").options
    )


def _start(at, seed: int, budget: int, epochs: int):
    at.selectbox(key="train_space").set_value("nb201").run()
    at.selectbox(key="train_method").set_value("np")
    at.number_input(key="train_budget").set_value(budget)
    at.number_input(key="train_epochs").set_value(epochs)
    at.number_input(key="train_seed").set_value(seed)
    at.radio(key="train_scan").set_value("a random 2,000 archs (faster)")
    at.button[0].click().run()
    no_exceptions(at)
    return list(at.session_state[RUNS_KEY].values())


def test_sessions_training_at_once_keep_their_own_runs_and_lose_no_writes():
    store = resources.run_store().store
    before = set(store.runs()["id"])
    settings = [(11, 20, 60), (12, 24, 60), (13, 28, 60), (14, 32, 60)]  # seed, budget, epochs
    sessions = [open_page("train") for _ in settings]
    start = time.perf_counter()
    runs = []
    for at, (seed, budget, epochs) in zip(sessions, settings, strict=True):
        (run,) = _start(at, seed, budget, epochs)
        runs.append(run)
    overlapping = sum(r.is_active for r in runs)
    for run in runs:
        run.join(timeout=300)
    seconds = time.perf_counter() - start

    for at, run, (seed, budget, epochs) in zip(sessions, runs, settings, strict=True):
        assert run.status == "done", run.error
        at.run()
        (own,) = at.session_state[RUNS_KEY].values()  # nobody else's run in this session
        assert own is run and run.id == 1 and (run.spec.seed, run.spec.budget) == (seed, budget)
        stored = store.get(run.store_id)
        assert stored.status == "completed" and stored.spec["seed"] == seed
        assert [e["epoch"] for e in stored.epochs] == [float(e) for e in range(1, epochs + 1)]
        assert stored.epochs == run.epoch_records()  # the store holds exactly what was seen
        assert frame_with(at, "status").loc[0, "status"] == "done"
    new = set(store.runs()["id"]) - before
    assert new == {r.store_id for r in runs}  # one row per run: none lost, none extra
    print(
        f"concurrency: {len(runs)} sessions, {overlapping} trainings overlapping at the start, "
        f"{sum(s[2] for s in settings)} epoch rows written, all {len(new)} runs stored, "
        f"{seconds:.1f} s wall"
    )


def test_server_limit_on_concurrent_trainings_gives_a_clear_error():
    slots = resources.training_slots()
    taken = 0
    try:
        while slots.used < slots.capacity:
            slots.acquire()
            taken += 1
        at = open_page("train")
        at.number_input(key="train_epochs").set_value(1)
        at.button[0].click().run()
        no_exceptions(at)
        assert any("already runs" in e.value and "its limit" in e.value for e in at.error)
    finally:
        for _ in range(taken):
            slots.release()


def test_a_diverged_run_keeps_its_epochs_and_says_why(tmp_path):
    store = RunStore(tmp_path)
    spec = RunSpec(method="np", budget=12, epochs=3, scan_size=100)
    config = spec.config()
    bad = dataclasses.replace(config, train=dataclasses.replace(config.train, lr=1e30))
    run = Run(spec, store=store)
    run._work(bad)  # the run's own thread body, with a learning rate that overflows
    assert run.status == "diverged" and "became NaN/inf" in run.message
    stored = store.get(run.store_id)
    assert stored.status == "diverged" and "became NaN/inf" in stored.message
    assert len(stored.epochs) == 1 and np.isnan(stored.epochs[0]["loss_regression"])
