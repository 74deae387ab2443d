"""Label import: row-by-row checks, the CSV and JSON schema, and training on imported labels."""

import json

import numpy as np
import pytest

from hypernas_core import get_space, method_config
from hypernas_core.cli import main
from hypernas_core.label_import import import_labels, rank_on_labels, read_label_file

SMALL = "0110000100010000|input|conv3x3-bn-relu|maxpool3x3|output"
SMALL_SWAPPED = "0110000100010000|input|maxpool3x3|conv3x3-bn-relu|output"


@pytest.fixture(scope="module")
def macro():
    return get_space("nasbench_macro")


def test_each_bad_row_is_rejected_with_its_reason(macro):
    rows = [
        {"arch": "01201201", "acc": 91.5, "loss": 0.3},
        {"arch": "0120120", "acc": 90.0, "loss": 0.3},  # 7 digits
        {"arch": "22222222", "acc": "high", "loss": 0.3},
        {"arch": "11111111", "acc": float("nan"), "loss": 0.3},
        {"arch": " 01201201", "acc": 92.0, "loss": 0.2},  # same arch as row 1
        {"arch": "00000000", "acc": 45.0, "loss": True},
        {"arch": "22222222", "acc": 93, "loss": 0.1},
    ]
    result = import_labels(macro, rows)
    assert result.score_columns == ["acc", "loss"]
    assert result.accepted["arch"].tolist() == ["01201201", "22222222"]
    reasons = dict(zip(result.rejected["row"], result.rejected["reason"], strict=True))
    assert set(reasons) == {2, 3, 4, 5, 6}
    assert "must be 8 digits" in reasons[2]
    assert reasons[3] == "score 'acc' must be a finite number (got 'high')"
    assert "(got nan)" in reasons[4]
    assert reasons[5] == "arch '01201201' repeats row 1"
    assert "score 'loss' must be a finite number (got True)" in reasons[6]
    assert "2 row(s) accepted, 5 rejected" in result.report()
    archs, scores = result.scores("loss")
    assert archs == ["01201201", "22222222"] and scores.tolist() == [0.3, 0.1]
    with pytest.raises(ValueError, match="unknown score column 'top1'; valid: acc, loss"):
        result.scores("top1")


def test_renumbered_nb101_cells_are_repeats():
    nb101 = get_space("nb101")
    result = import_labels(nb101, [{"arch": SMALL, "acc": 1.0}, {"arch": SMALL_SWAPPED, "acc": 2}])
    assert len(result.accepted) == 1 and "repeats row 1" in result.rejected["reason"][0]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"acc": 1.0}], "need an 'arch' column"),
        ([{"arch": "01201201"}], "at least one score column"),
    ],
)
def test_unusable_tables_are_refused(macro, rows, message):
    with pytest.raises(ValueError, match=message):
        import_labels(macro, rows)


def test_ignored_columns_must_exist(macro):
    with pytest.raises(ValueError, match="ignored column\\(s\\) \\['note'\\] are not in the file"):
        import_labels(macro, [{"arch": "01201201", "acc": 1.0}], ignore=["note"])


def test_csv_keeps_leading_zeros_and_json_checks_the_space(macro, tmp_path):
    csv = tmp_path / "labels.csv"
    csv.write_text("arch,acc,note\n00000012,50.5,first\n00000002,,missing\n")
    result = read_label_file(macro, csv, ignore=["note"])
    assert result.accepted["arch"].tolist() == ["00000012"]
    assert "(got nan)" in result.rejected["reason"][0]

    good = tmp_path / "labels.json"
    good.write_text(json.dumps({"space": "nasbench_macro", "rows": [{"arch": "0" * 8, "a": 1}]}))
    assert len(read_label_file(macro, good).accepted) == 1
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"space": "nb201", "rows": []}))
    with pytest.raises(ValueError, match="is for space 'nb201', not 'nasbench_macro'"):
        read_label_file(macro, wrong)
    shape = tmp_path / "shape.json"
    shape.write_text(json.dumps([1, 2]))
    with pytest.raises(ValueError, match="must be a list of objects"):
        read_label_file(macro, shape)
    txt = tmp_path / "labels.txt"
    txt.write_text("arch,acc\n")
    with pytest.raises(ValueError, match="must end in .csv or .json"):
        read_label_file(macro, txt)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_label_file(macro, tmp_path / "nope.csv")


def test_training_on_imported_labels_ranks_the_held_out_rows(macro):
    archs = macro.sample(30, seed=0)
    rows = [{"arch": a, "acc": v} for a, v in zip(archs, macro.labels(archs), strict=True)]
    imported = import_labels(macro, rows)
    config = method_config("np", space="nasbench_macro", train={"epochs": 5, "device": "cpu"})
    result, predictor = rank_on_labels(config, imported, budget=20)
    assert result["n_train"] == 20 and result["n_test"] == 10
    assert result["label_column"] == "acc" and -1 <= result["kendall_tau"] <= 1
    assert np.isfinite(predictor.predict(archs).numpy()).all()
    with pytest.raises(ValueError, match="budget must be in 2..29 for 30 imported archs"):
        rank_on_labels(config, imported, budget=30)


def test_labels_command_reports_and_trains(macro, tmp_path, capsys):
    archs = macro.sample(12, seed=1)
    lines = ["arch,acc"] + [f"{a},{v}" for a, v in zip(archs, macro.labels(archs), strict=True)]
    lines.append("9,1.0")
    path = tmp_path / "l.csv"
    path.write_text("\n".join(lines) + "\n")
    argv = ["labels", "--space", "nasbench_macro", "--file", str(path)]
    rejected = tmp_path / "rejected.csv"
    args = ["--rejected", str(rejected), "--train-budget", "8", "--epochs", "2", "--device", "cpu"]
    assert main([*argv, *args]) == 0
    out = capsys.readouterr().out
    assert "12 row(s) accepted, 1 rejected" in out and "row 13:" in out
    assert json.loads(out.strip().splitlines()[-1])["n_test"] == 4
    assert "must be 8 digits" in rejected.read_text()
