import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hypernas_core.benchmark import (
    append_result,
    markdown_table,
    parse_int_list,
    run_sweep,
    split_archs,
    summarise,
)
from hypernas_core.cli import main


def test_split_is_seeded_disjoint_and_complete():
    train, test = split_archs("nb201", 78, seed=3)
    again, _ = split_archs("nb201", 78, seed=3)
    other, _ = split_archs("nb201", 78, seed=4)
    assert train == again and train != other
    assert len(train) == 78 and len(test) == 15625 - 78
    assert not set(train) & set(test)
    with pytest.raises(ValueError, match="budget must be in 2..15624"):
        split_archs("nb201", 15625, seed=0)


def test_parse_int_list():
    assert parse_int_list("0-4") == [0, 1, 2, 3, 4]
    assert parse_int_list("39,78, 156") == [39, 78, 156]
    assert parse_int_list("0-1,7") == [0, 1, 7]
    with pytest.raises(ValueError, match="got 'x'"):
        parse_int_list("1,x")


def test_summary_mean_and_std_by_hand():
    results = pd.DataFrame(
        {
            "method": ["np", "np", "hypernas"],
            "budget": [78, 78, 78],
            "kendall_tau": [0.6, 0.7, 0.8],
            "spearman": [0.8, 0.9, 0.95],
            "precision_at_top5pct": [0.3, 0.5, 0.4],
            "train_seconds": [10.0, 12.0, 100.0],
        }
    )
    summary = summarise(results)
    row = summary[summary["method"] == "np"].iloc[0]
    assert row["n_seeds"] == 2
    assert row["kendall_tau_mean"] == pytest.approx(0.65)
    assert row["kendall_tau_std"] == pytest.approx(0.0707107, rel=1e-5)
    text = markdown_table(summary)
    assert "| np | 78 | 2 | 0.650 ± 0.071 |" in text
    assert "| hypernas | 78 | 1 | 0.800 ± 0.000 |" in text
    with pytest.raises(ValueError, match="lack the columns"):
        summarise(results.drop(columns="spearman"))


def test_sweep_appends_rows_and_resumes(tmp_path):
    out = tmp_path / "runs.csv"
    overrides = {"train": {"epochs": 1, "device": "cpu"}}
    first = run_sweep("nb201", ["np"], [10], [0, 1], out, overrides=overrides)
    assert len(first) == 2 and set(first["seed"]) == {0, 1}
    assert (first["n_test"] == 15615).all()
    again = run_sweep("nb201", ["np"], [10], [0, 1, 2], out, overrides=overrides)
    assert len(again) == 3  # seeds 0 and 1 were skipped


def test_rank_weight_is_part_of_the_key_and_older_csvs_count_as_rank_weight_zero(tmp_path):
    out = tmp_path / "runs.csv"
    overrides = {"train": {"epochs": 1, "device": "cpu"}}
    first = run_sweep("nb201", ["np"], [10], [0], out, overrides=overrides)
    assert first["rank_weight"].tolist() == [0.0]
    # an older CSV had no rank_weight column: its runs are those of weight 0 and are skipped
    first.drop(columns="rank_weight").to_csv(out, index=False)
    assert len(run_sweep("nb201", ["np"], [10], [0], out, overrides=overrides)) == 1
    ranked = {"train": {**overrides["train"], "rank_weight": 1.0}}
    both = run_sweep("nb201", ["np"], [10], [0], out, overrides=ranked)
    assert len(both) == 2 and both["rank_weight"].fillna(0.0).tolist() == [0.0, 1.0]
    # the ensemble size is part of the key too; older rows count as single predictors
    three = run_sweep("nb201", ["np"], [10], [0], out, overrides=overrides, ensemble=2)
    assert len(three) == 3 and three["ensemble"].fillna(1).tolist() == [1, 1, 2]
    assert len(run_sweep("nb201", ["np"], [10], [0], out, overrides=overrides, ensemble=2)) == 3
    with pytest.raises(ValueError, match=r"ensemble must be an integer in 1..64 \(got 0\)"):
        run_sweep("nb201", ["np"], [10], [0], out, overrides=overrides, ensemble=0)


def test_methods_with_and_without_an_aux_task_share_one_csv(tmp_path):
    out = tmp_path / "runs.csv"
    overrides = {"train": {"epochs": 1, "device": "cpu"}, "hypernet": {"aux_batch_size": 4}}
    run_sweep("nb201", ["np"], [4], [0], out, overrides=overrides)
    both = run_sweep("nb201", ["hypernas"], [4], [0], out, overrides=overrides)
    assert list(both["method"]) == ["np", "hypernas"]
    aux = both.set_index("method")["aux_train_acc_last_epoch"]
    assert pd.isna(aux["np"]) and 0 <= aux["hypernas"] <= 1


def test_append_result_widens_an_older_csv_instead_of_breaking_it(tmp_path):
    out = tmp_path / "runs.csv"
    append_result(out, {"method": "np", "kendall_tau": 0.5})
    append_result(out, {"kendall_tau": 0.6, "method": "hypernas", "aux": 0.3})  # a new column
    append_result(out, {"method": "np", "kendall_tau": 0.7})  # lacks it
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["method", "kendall_tau", "aux"]
    assert list(frame["kendall_tau"]) == [0.5, 0.6, 0.7] and frame["aux"].isna().tolist() == [
        True,
        False,
        True,
    ]
    assert not list(tmp_path.glob(".*tmp"))


def test_cli_bench_table_from_json_lines(tmp_path, capsys):
    lines = tmp_path / "runs.jsonl"
    rows = [
        {
            "method": "np",
            "budget": 78,
            "kendall_tau": t,
            "spearman": 0.8,
            "precision_at_top5pct": 0.3,
            "train_seconds": 5.0,
        }
        for t in (0.6, 0.62)
    ]
    pd.DataFrame(rows).to_json(lines, orient="records", lines=True)
    assert main(["bench", "table", "--results", str(lines)]) == 0
    assert "| np | 78 | 2 | 0.610 ± 0.014 |" in capsys.readouterr().out
    assert main(["bench", "table", "--results", str(lines), "--by", "budget,method"]) == 0
    assert "| 78 | np | 2 | 0.610 ± 0.014 |" in capsys.readouterr().out
    assert main(["bench", "table", "--results", str(lines), "--by", "method,q"]) == 2
    assert "lack the columns ['q']" in capsys.readouterr().err
    assert main(["bench", "table", "--results", str(tmp_path / "none.csv")]) == 2
    assert main(["bench", "ranking", "--methods", "np,xgb", "--out", str(tmp_path)]) == 2


def test_bench_table_keeps_runs_of_different_settings_apart(tmp_path, capsys):
    path = tmp_path / "runs.csv"
    base = {"method": "np", "budget": 78, "q": 1.5, "spearman": 0.8}
    base |= {"precision_at_top5pct": 0.3, "train_seconds": 5.0}
    rows = [{**base, "kendall_tau": 0.6}, {**base, "kendall_tau": 0.7, "rank_weight": 1.0}]
    pd.DataFrame(rows).to_csv(path, index=False)  # the first row: an older run, weight 0
    assert main(["bench", "table", "--results", str(path)]) == 0
    out = capsys.readouterr().out
    assert "| method | rank_weight | budget |" in out
    assert "| np | 0.0 | 78 | 1 | 0.600 ± 0.000 |" in out
    assert "| np | 1.0 | 78 | 1 | 0.700 ± 0.000 |" in out


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet="0123456789-, x+", max_size=20))
def test_parse_int_list_raises_only_clear_value_errors(text):
    try:
        values = parse_int_list(text)
    except ValueError as err:
        assert text in str(err) or "expected integers" in str(err)
        return
    assert all(isinstance(v, int) for v in values)


def test_parse_int_list_refuses_huge_ranges():
    with pytest.raises(ValueError, match="a range may span at most 100,000 values"):
        parse_int_list("0-99999999999")
