import json

import pytest

from hypernas_core.cli import main
from hypernas_core.speed import SpeedReport, measure_speed, peak_rss_mib


def test_report_ratio_and_markdown_from_given_figures():
    setup = {
        "space": "nb201",
        "space_size": 15625,
        "budget": 78,
        "epochs": 5,
        "seed": 0,
        "device": "cpu",
        "threads": 1,
        "torch": "x",
    }
    row = {
        "train_seconds": 10.0,
        "seconds_per_epoch": 2.0,
        "ms_per_step": 250.0,
        "score_seconds": 0.5,
        "model_seconds": 0.4,
        "archs_per_second": 31250.0,
    }
    report = SpeedReport(
        setup,
        [{**row, "method": "np"}, {**row, "method": "hypernas", "train_seconds": 45.0}],
        peak_rss_mib=100.0,
    )
    assert report.ratio() == pytest.approx(4.5)
    assert report.ratio("hypernas-p") is None
    text = report.markdown()
    assert "hypernas / np train time: 4.5x (misses the goal of <= 3x)" in text
    assert "np: all 15,625 archs scored in 0.50 s (meets the CPU goal of < 1 s)" in text


def test_measure_speed_times_every_stage_of_np():
    report = measure_speed(methods=["np"], budget=10, epochs=2, device="cpu", with_umap=False)
    (row,) = report.methods
    assert row["method"] == "np" and row["steps"] == 2
    assert row["train_seconds"] > 0 and row["score_seconds"] > 0 and row["model_seconds"] > 0
    assert row["archs_per_second"] == pytest.approx(15625 / row["score_seconds"], rel=0.01)
    assert report.umap == {} and report.peak_rss_mib >= peak_rss_mib() * 0.99 > 0


def test_measure_speed_rejects_bad_arguments():
    with pytest.raises(ValueError, match="subset of"):
        measure_speed(methods=["fast"], with_umap=False)
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        measure_speed(methods=["np"], epochs=0, with_umap=False)


def test_cli_bench_speed_json(tmp_path, capsys):
    out = tmp_path / "speed.md"
    code = main(
        [
            "bench", "speed", "--methods", "np", "--budget", "10", "--epochs", "1",
            "--device", "cpu", "--no-umap", "--json", "--out", str(out),
        ]
    )  # fmt: skip
    assert code == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["methods"][0]["method"] == "np" and report["ratio_hypernas_over_np"] is None
    assert "| np |" in out.read_text()
    assert main(["bench", "speed", "--methods", "np,slow", "--no-umap"]) == 2
    assert "unknown method 'slow'" in capsys.readouterr().err
