import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from hypernas_core.cli import UserError, main, read_arch_file
from tests.conftest import MIXED

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "hypernas_core", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )


def test_spaces_lists_nb201(capsys):
    assert main(["spaces"]) == 0
    out = capsys.readouterr().out
    assert "nb201" in out and "val_acc_cifar10_valid" in out


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "ckpt"
    proc = run_cli(
        "train",
        "--space",
        "nb201",
        "--method",
        "np",
        "--budget",
        "20",
        "--seed",
        "0",
        "--epochs",
        "3",
        "--device",
        "cpu",
        "--out",
        str(out),
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    return out, json.loads(proc.stdout.strip().splitlines()[-1], parse_constant=_refuse)


def test_train_prints_one_json_result_last(trained):
    out, result = trained
    for key in (
        "space",
        "method",
        "budget",
        "seed",
        "target",
        "n_train",
        "n_test",
        "kendall_tau",
        "spearman",
        "train_seconds",
        "device",
    ):
        assert key in result, key
    assert result["n_train"] == 20 and result["n_test"] == 15625 - 20
    assert result["target"] == "val_acc_cifar10_valid" and result["device"] == "cpu"
    assert -1 <= result["kendall_tau"] <= 1
    assert (out / "test_predictions.csv").exists() and (out / "result.json").exists()
    assert result["aux_train_acc_last_epoch"] is None  # np has no aux task: null, not NaN


def _refuse(constant):
    raise ValueError(f"{constant} is not JSON")


def test_json_output_is_strict_json_even_for_undefined_figures():
    from hypernas_core.cli import _json

    line = _json({"kendall_tau": float("nan"), "nested": [float("inf"), 1.5]})
    assert json.loads(line, parse_constant=_refuse) == {"kendall_tau": None, "nested": [None, 1.5]}


def test_predict_writes_csv_from_csv_and_json(trained, tmp_path):
    out, _ = trained
    archs = tmp_path / "archs.json"
    archs.write_text(json.dumps([MIXED, MIXED]))
    target = tmp_path / "pred.csv"
    assert (
        main(["predict", "--checkpoint", str(out), "--archs", str(archs), "--out", str(target)])
        == 0
    )
    frame = pd.read_csv(target)
    assert frame.columns.tolist() == ["arch", "predicted_val_acc_cifar10_valid"]
    assert len(frame) == 2 and frame.iloc[0, 1] == frame.iloc[1, 1]
    csv_in = tmp_path / "archs.csv"
    pd.DataFrame({"arch": [MIXED]}).to_csv(csv_in, index=False)
    assert (
        main(["predict", "--checkpoint", str(out), "--archs", str(csv_in), "--out", str(target)])
        == 0
    )


@pytest.mark.parametrize(
    ("content", "suffix", "message"),
    [
        ("{", ".json", "not valid JSON"),
        ('{"x": 1}', ".json", "must be a list of arch strings"),
        ("a,b\n1,2\n", ".csv", "needs an 'arch' column"),
        ("arch\n|bad|\n", ".csv", "invalid arch\\(s\\).*row 1"),
        ("[]", ".json", "holds no archs"),
        ("x", ".txt", "must end in .csv or .json"),
    ],
)
def test_predict_rejects_bad_files_in_one_line(trained, tmp_path, capsys, content, suffix, message):
    out, _ = trained
    path = tmp_path / f"archs{suffix}"
    path.write_text(content)
    assert main(["predict", "--checkpoint", str(out), "--archs", str(path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert re.search(message, err), err


def test_predict_with_missing_checkpoint_is_one_line(tmp_path):
    proc = run_cli(
        "predict", "--checkpoint", str(tmp_path / "nope"), "--archs", str(tmp_path / "a.csv")
    )
    assert proc.returncode == 2 and "cannot load checkpoint" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_train_rejects_bad_budget_and_method(capsys):
    assert main(["train", "--budget", "1", "--epochs", "1"]) == 2
    assert "budget must be in 2..15624 for nb201 (got 1)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--method", "xgb"])


def test_read_arch_file_missing(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        read_arch_file(tmp_path / "none.csv")


def test_predict_writes_every_rejected_row_with_its_reason(trained, tmp_path, capsys):
    out, _ = trained
    path = tmp_path / "archs.csv"
    path.write_text(f"arch\n|bad|\n{MIXED}\nzzz\n")
    rejects = tmp_path / "rejects.csv"
    assert (
        main(["predict", "--checkpoint", str(out), "--archs", str(path), "--rejects", str(rejects)])
        == 2
    )
    err = capsys.readouterr().err
    assert "2 invalid arch(s)" in err and "row 1 ('|bad|')" in err and "row 3 ('zzz')" in err
    frame = pd.read_csv(rejects)
    assert list(frame["row"]) == [1, 3] and frame["reason"].str.contains("NB201 arch").all()


def test_train_records_a_diverged_run_in_the_store(tmp_path):
    store_dir = tmp_path / "store"
    proc = run_cli(
        "train", "--method", "np", "--budget", "10", "--epochs", "3", "--lr", "1e30",
        "--device", "cpu", "--store", str(store_dir), "--json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1])["status"] == "diverged"
    from hypernas_core.run_store import RunStore

    store = RunStore(store_dir)
    (run_id,) = store.runs()["id"]
    run = store.get(run_id)
    assert run.status == "diverged" and "became NaN/inf at step" in run.message
    assert run.metrics["status"] == "diverged" and run.has_artifacts
    assert store.load_predictor(run_id).history.status == "diverged"
