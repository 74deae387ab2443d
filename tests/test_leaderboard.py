import pandas as pd
import pytest

from hypernas_core.leaderboard import (
    PUBLISHED,
    bundled_results,
    leaderboard_table,
    load_results,
    published_frame,
)


def _rows(method, budget, taus):
    return [
        {
            "space": "nb201",
            "method": method,
            "budget": budget,
            "seed": seed,
            "target": "val_acc_cifar10_valid",
            "epochs": 300,
            "q": 1.5,
            "encoding": "cell",
            "kendall_tau": tau,
            "spearman": tau,
            "train_seconds": 1.0,
        }
        for seed, tau in enumerate(taus)
    ]


def test_published_numbers_carry_source_and_protocol():
    frame = published_frame("nb201")
    assert len(frame) == len(PUBLISHED) and frame["source"].str.len().gt(10).all()
    hypernas = frame[frame["predictor"] == "HyperNAS (paper)"].set_index("budget")["kendall_tau"]
    assert hypernas[78] == 0.677 and hypernas[156] == 0.765
    assert published_frame("darts").empty


def test_table_puts_mean_std_and_seed_count_beside_published():
    measured = pd.DataFrame(_rows("np", 78, [0.6, 0.7]) + _rows("hypernas", 78, [0.8]))
    table = leaderboard_table(measured, "nb201", ["np", "hypernas"]).set_index("budget")
    assert table.loc[78, "np (ours)"] == "0.650 ± 0.071 (2)"
    assert table.loc[78, "hypernas (ours)"] == "0.800 ± 0.000 (1)"
    assert table.loc[78, "HyperNAS (paper)"] == "0.677"
    assert table.loc[1563, "np (ours)"] == "-" and table.loc[1563, "NN-Former"] == "0.890"
    assert table.loc[39, "NN-Former"] == "-"


def test_load_results_names_missing_columns(tmp_path):
    path = tmp_path / "runs.csv"
    pd.DataFrame(_rows("np", 78, [0.6])).drop(columns="kendall_tau").to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"lacks the columns \['kendall_tau'\]"):
        load_results(path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_results(tmp_path / "none.csv")


def test_bundled_results_are_complete_runs():
    measured = bundled_results("nb201")
    assert len(measured) > 0, "assets/results/nb201_ranking.csv should ship measured runs"
    assert (measured["space"] == "nb201").all() and measured["kendall_tau"].between(-1, 1).all()
    assert (measured["n_test"] == 15625 - measured["budget"]).all()
    assert bundled_results("no-such-space").empty
