import pandas as pd
import pytest

from hypernas_core.leaderboard import (
    PUBLISHED,
    ablation_table,
    bundled_ablations,
    bundled_results,
    leaderboard_table,
    load_results,
    protocol_rows,
    published_frame,
)


def _rows(method, budget, taus, **changes):
    rows = [
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
    return [{**row, **changes} for row in rows]


def test_published_numbers_carry_source_and_protocol():
    frame = published_frame("nb201")
    assert len(frame) == len(PUBLISHED) and frame["source"].str.len().gt(10).all()
    hypernas = frame[frame["predictor"] == "HyperNAS (paper)"].set_index("budget")["kendall_tau"]
    assert hypernas[78] == 0.677 and hypernas[156] == 0.765
    assert published_frame("darts").empty


def test_table_puts_mean_std_and_seed_count_beside_published():
    measured = pd.DataFrame(
        _rows("np", 78, [0.6, 0.7]) + _rows("hypernas", 78, [0.8], encoding="global")
    )
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
    assert len(protocol_rows(measured)) == len(measured)  # no ablation in the main table
    assert bundled_results("no-such-space").empty


def test_main_table_counts_only_default_protocol_runs():
    measured = pd.DataFrame(
        _rows("np", 78, [0.6])
        + _rows("np", 78, [0.1], q=2.0)  # ablation of q
        + _rows("np", 78, [0.2], epochs=20)  # a short run
        + _rows("np", 78, [0.8], rank_weight=1.0)  # with the ranking loss
        + _rows("np", 78, [0.9], ensemble=5)  # an ensemble
        + _rows("hypernas", 78, [0.7], encoding="global")
        + _rows("hypernas", 78, [0.3], encoding="global-pe")
    )
    kept = protocol_rows(measured)
    assert sorted(kept["kendall_tau"]) == [0.6, 0.7]
    table = leaderboard_table(measured, "nb201", ["np", "hypernas"]).set_index("budget")
    assert table.loc[78, "np (ours)"] == "0.600 ± 0.000 (1)"
    assert table.loc[78, "hypernas (ours)"] == "0.700 ± 0.000 (1)"


def test_ablation_table_groups_by_encoding_and_q():
    measured = pd.DataFrame(
        _rows("hypernas", 39, [0.6, 0.7], encoding="global", q=2.0, precision_at_top5pct=0.1)
        + _rows("hypernas", 39, [0.5], encoding="global-pe", q=1.5, precision_at_top5pct=0.1)
    )
    table = ablation_table(measured).set_index(["encoding", "q"])
    assert table.loc[("global", 2.0), "kendall_tau"] == "0.650 ± 0.071"
    assert table.loc[("global", 2.0), "seeds"] == 2
    assert table.loc[("global-pe", 1.5), "kendall_tau"] == "0.500 ± 0.000"
    assert ablation_table(pd.DataFrame()).empty


def test_bundled_ablations_vary_q_or_encoding_only():
    ablations = bundled_ablations("nb201")
    assert len(ablations) > 0, "assets/results/nb201_ablations.csv should ship measured runs"
    assert protocol_rows(ablations).empty  # every row differs from its method's default
    assert (ablations["epochs"] == 300).all() and ablations["kendall_tau"].between(-1, 1).all()
    assert bundled_ablations("no-such-space").empty
