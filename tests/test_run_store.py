"""The run store: round trips, crash recovery (kill -9 of real training processes), concurrency."""

import json
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from hypernas_core import Predictor, method_config
from hypernas_core.run_store import RunStore, default_store_dir

ROOT = Path(__file__).resolve().parent.parent


def tiny_predictor(space, epochs=1, **train):
    predictor = Predictor(method_config("np", train={"epochs": epochs, "device": "cpu", **train}))
    predictor.fit(space.sample(6, seed=0))
    return predictor


def test_default_location_is_the_env_var_or_the_user_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("HYPERNAS_STORE", str(tmp_path / "s"))
    assert default_store_dir() == tmp_path / "s"
    monkeypatch.delenv("HYPERNAS_STORE")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    if sys.platform.startswith("linux"):
        assert default_store_dir() == tmp_path / "xdg" / "hypernas"


def test_run_round_trip_with_history_metrics_weights_and_arrays(space, tmp_path):
    store = RunStore(tmp_path / "store")
    run_id = store.create_run("cli", "np budget=6", {"budget": 6}, {"method": "np"})
    assert store.get(run_id).status == "running"
    store.append_epoch(run_id, {"epoch": 1.0, "loss_regression": 0.5})
    store.append_epoch(run_id, {"epoch": 2.0, "loss_regression": float("nan")})
    predictor = tiny_predictor(space)
    scores = np.arange(5, dtype=np.float32)
    store.finish_run(
        run_id, "completed", "done", {"kendall_tau": 0.5}, predictor, {"scores": scores}
    )

    again = RunStore(tmp_path / "store")  # a fresh process would see the same
    run = again.get(run_id)
    assert run.status == "completed" and run.has_artifacts and run.spec == {"budget": 6}
    assert [e["epoch"] for e in run.epochs] == [1.0, 2.0]
    assert np.isnan(run.epochs[1]["loss_regression"])  # a diverged epoch is kept as it was
    assert np.array_equal(again.load_arrays(run_id)["scores"], scores)
    probe = space.sample(4, seed=2)
    assert np.allclose(again.load_predictor(run_id).predict(probe), predictor.predict(probe))
    table = again.runs()
    assert table.loc[0, "kendall_tau"] == 0.5 and table.loc[0, "epochs"] == 2
    with pytest.raises(ValueError, match="is 'completed', not running"):
        again.append_epoch(run_id, {"epoch": 3.0})


def test_bad_calls_name_the_value(tmp_path):
    store = RunStore(tmp_path)
    with pytest.raises(ValueError, match="has no run 99"):
        store.get(99)
    run_id = store.create_run("cli", "t", {}, {})
    with pytest.raises(ValueError, match="status must be one of .* \\(got 'done'\\)"):
        store.finish_run(run_id, "done")
    store.finish_run(run_id, "cancelled", "stopped")
    with pytest.raises(ValueError, match=r"run \d+ \(cancelled\) has no complete saved weights"):
        store.load_predictor(run_id)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="exists and is not a folder"):
        RunStore(tmp_path / "file")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "runs.sqlite").write_bytes(b"not a database" * 100)
    with pytest.raises(ValueError, match="is not a HyperNAS run store database"):
        RunStore(tmp_path / "bad")


def test_a_live_run_of_another_store_object_is_not_recovered(tmp_path):
    writer = RunStore(tmp_path)
    run_id = writer.create_run("app", "t", {}, {})
    reader = RunStore(tmp_path)  # recovers on open: the writer still holds the run's lock
    assert reader.get(run_id).status == "running"
    writer.finish_run(run_id, "completed")
    assert reader.get(run_id).status == "completed"


def _wait_for(predicate, timeout=120.0, every=0.02):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("timed out")


def _epochs_recorded(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db, timeout=30) as con:
        try:
            return con.execute("SELECT COUNT(*) FROM epochs").fetchone()[0]
        except sqlite3.OperationalError:  # the schema is not there yet
            return 0


def _check_consistent(root: Path) -> RunStore:
    """After a crash: the database is intact, nothing is running, nothing half-written remains."""
    store = RunStore(root)
    with sqlite3.connect(root / "runs.sqlite") as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    table = store.runs()
    assert "running" not in set(table["status"]), table
    assert not list((root / "artifacts").glob(".*"))  # no temporary folders left
    for _, row in table.iterrows():
        if row["has_artifacts"]:
            store.load_predictor(row["id"])  # complete and passes the checkpoint checks
        else:
            assert not store.artifact_dir(row["id"]).exists()
    return store


def test_kill_9_during_cli_training_leaves_an_interrupted_run(tmp_path):
    root = tmp_path / "store"
    command = [sys.executable, "-m", "hypernas_core", "train", "--method", "np", "--budget", "20"]
    command += ["--epochs", "100000", "--device", "cpu", "--threads", "1", "--store", str(root)]
    proc = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE)
    try:
        _wait_for(lambda: _epochs_recorded(root / "runs.sqlite") >= 3)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL

    store = _check_consistent(root)
    (run,) = [store.get(i) for i in store.runs()["id"]]
    assert run.status == "interrupted" and not run.has_artifacts
    assert "stopped after" in run.message and len(run.epochs) >= 3
    assert [e["epoch"] for e in run.epochs] == list(range(1, len(run.epochs) + 1))
    with pytest.raises(ValueError, match="interrupted.*no complete saved weights"):
        store.load_predictor(run.id)


def _finish_with_big_arrays(root: str) -> None:
    """Child process: writes a run whose arrays take a while to save (killed meanwhile)."""
    from hypernas_core import get_space

    store = RunStore(root)
    run_id = store.create_run("cli", "big", {}, {})
    store.append_epoch(run_id, {"epoch": 1.0})
    predictor = tiny_predictor(get_space("nb201"))
    big = np.random.default_rng(0).normal(size=(64, 1024, 1024)).astype(np.float32)  # 256 MB
    store.finish_run(run_id, "completed", "", {}, predictor, {"big": big})


def test_kill_9_while_weights_are_written_leaves_no_half_written_files(tmp_path):
    root = tmp_path / "store"
    context = multiprocessing.get_context("spawn")
    child = context.Process(target=_finish_with_big_arrays, args=(str(root),))
    child.start()
    tmp_dirs = lambda: list((root / "artifacts").glob(".*.tmp-*"))  # noqa: E731
    try:
        # the weights are saved, the 256 MB of arrays are being written
        _wait_for(lambda: any((d / "predictor.json").exists() for d in tmp_dirs()), every=0.002)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.join()
    assert tmp_dirs()  # it died while the files were being written
    store = _check_consistent(root)
    (run_id,) = store.runs()["id"]
    assert store.get(run_id).status == "interrupted"


def _write_many(root: str, worker: int, runs: int, epochs: int) -> None:
    store = RunStore(root)
    for r in range(runs):
        run_id = store.create_run("test", f"w{worker} r{r}", {"worker": worker, "run": r}, {})
        for e in range(1, epochs + 1):
            store.append_epoch(run_id, {"epoch": float(e), "worker": worker, "run": r})
        store.finish_run(run_id, "completed", "", {"worker": worker, "run": r})


def test_concurrent_writers_lose_no_writes(tmp_path):
    root, workers, runs, epochs = tmp_path / "store", 4, 5, 20
    RunStore(root)
    context = multiprocessing.get_context("spawn")
    procs = [
        context.Process(target=_write_many, args=(str(root), w, runs, epochs))
        for w in range(workers)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
        assert p.exitcode == 0
    store = RunStore(root)
    table = store.runs()
    assert len(table) == workers * runs and set(table["status"]) == {"completed"}
    for run_id in table["id"]:
        run = store.get(run_id)
        assert len(run.epochs) == epochs  # every epoch, and only this run's
        assert {(e["worker"], e["run"]) for e in run.epochs} == {
            (run.spec["worker"], run.spec["run"])
        }
        assert run.metrics == run.spec
    assert json.loads(json.dumps(store.get(1).spec)) == store.get(1).spec


def test_kill_9_at_random_moments_never_leaves_a_half_written_run(tmp_path):
    # short runs (start-up, 30 epochs, scoring, saving) killed at seeded moments of their life
    root = tmp_path / "store"
    command = [sys.executable, "-m", "hypernas_core", "train", "--method", "np", "--budget", "20"]
    command += ["--epochs", "30", "--device", "cpu", "--threads", "1", "--store", str(root)]
    command += ["--out", str(tmp_path / "ckpt")]
    start = time.monotonic()
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True, timeout=300)
    life = time.monotonic() - start  # how long a whole run takes here
    outcomes = []
    for delay in np.random.default_rng(0).uniform(0.2, 1.1, size=5) * life:
        before = len(RunStore(root).runs())
        proc = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        store = _check_consistent(root)  # after every kill, not just the last
        table = store.runs()
        new = table.iloc[0] if len(table) > before else None
        status = "no row yet" if new is None else f"{new['status']} ({new['epochs']} epochs)"
        outcomes.append(f"{delay:.1f}/{life:.1f} s: {status}")
    for run_id in store.runs()["id"]:
        run = store.get(run_id)
        assert [e["epoch"] for e in run.epochs] == list(range(1, len(run.epochs) + 1))
        assert run.status in ("interrupted", "completed")
        assert (run.status == "completed") == run.has_artifacts
    print("kill -9 at", "; ".join(outcomes))
