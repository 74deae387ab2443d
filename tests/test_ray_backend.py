"""The Ray backend of the sweeps, on a local Ray instance (2 CPUs), against the local backend."""

import sys

import pandas as pd
import pytest

from hypernas_core.benchmark import run_sweep
from hypernas_core.ray_backend import import_ray
from hypernas_core.run_store import RunStore

OVERRIDES = {"train": {"epochs": 1, "device": "cpu"}}
SAME = ["space", "method", "budget", "seed", "n_train", "n_test", "status"]
METRICS = ["kendall_tau", "spearman", "precision_at_top5pct"]


def test_missing_ray_or_unknown_backend_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # as on an install without the extra
    with pytest.raises(
        ValueError, match="needs Ray, an optional extra: pip install -r requirements-ray.txt"
    ):
        import_ray()
    with pytest.raises(ValueError, match="backend must be one of local, ray \\(got 'dask'\\)"):
        run_sweep("nb201", ["np"], [10], [0], tmp_path / "r.csv", backend="dask")


def test_ray_sweep_gives_the_local_results_in_the_same_csv_and_store(tmp_path):
    pytest.importorskip(
        "ray", reason="Ray is an optional extra: pip install -r requirements-ray.txt"
    )
    jobs = ("nb201", ["np"], [10], [0, 1, 2])
    local = run_sweep(*jobs, tmp_path / "local.csv", overrides=OVERRIDES)
    store = RunStore(tmp_path / "store")
    seen = []
    on_ray = run_sweep(
        *jobs, tmp_path / "ray.csv", overrides=OVERRIDES, workers=2, backend="ray",
        store=store, on_result=seen.append,
    )  # fmt: skip
    assert len(on_ray) == len(local) == 3 and len(seen) == 3
    key = ["method", "seed"]
    a, b = (
        local.sort_values(key).reset_index(drop=True),
        on_ray.sort_values(key).reset_index(drop=True),
    )
    pd.testing.assert_frame_equal(a[SAME], b[SAME])
    pd.testing.assert_frame_equal(a[METRICS], b[METRICS], atol=1e-6)  # same seeds, same numbers
    stored = store.runs(kind="sweep")
    assert len(stored) == 3 and set(stored["status"]) == {"completed"}
    assert sorted(stored["kendall_tau"]) == pytest.approx(sorted(on_ray["kendall_tau"]))
    # resuming on Ray skips what the CSV already holds
    again = run_sweep(*jobs, tmp_path / "ray.csv", overrides=OVERRIDES, backend="ray")
    assert len(again) == 3


def test_an_unreachable_cluster_fails_fast_with_a_clear_error(tmp_path):
    pytest.importorskip(
        "ray", reason="Ray is an optional extra: pip install -r requirements-ray.txt"
    )
    with pytest.raises(ValueError, match="cannot reach a Ray cluster at '127.0.0.1:1'"):
        run_sweep(
            "nb201", ["np"], [10], [0], tmp_path / "r.csv", backend="ray", address="127.0.0.1:1"
        )
    with pytest.raises(ValueError, match="address must be 'auto', 'host:port'"):
        run_sweep("nb201", ["np"], [10], [0], tmp_path / "r.csv", backend="ray", address="head")
