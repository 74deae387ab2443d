import importlib.util
from pathlib import Path

import pandas as pd

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bundle_results.py"


def _load():
    spec = importlib.util.spec_from_file_location("bundle_results", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _row(method, seed, tau, **changes):
    row = {
        "space": "nb201",
        "method": method,
        "budget": 39,
        "seed": seed,
        "target": "val_acc_cifar10_valid",
        "epochs": 300,
        "q": 1.5,
        "encoding": "cell" if method == "np" else "global",
        "kendall_tau": tau,
        "status": "completed",
    }
    return {**row, **changes}


def test_bundle_splits_main_and_ablation_rows_and_keeps_the_last_duplicate(tmp_path):
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    pd.DataFrame(
        [
            _row("np", 0, 0.1),
            _row("hypernas", 0, 0.5),
            _row("hypernas", 1, 0.9, status="interrupted"),
            _row("np", 0, 0.7, space="nb101"),
        ]
    ).to_csv(first, index=False)
    pd.DataFrame(
        [
            _row("np", 0, 0.2),
            _row("hypernas", 0, 0.4, q=2.0),
            _row("hypernas-p", 0, 0.3, encoding="global-pe"),
        ]
    ).to_csv(second, index=False)
    main, ablations = _load().bundle([first, second], "nb201")
    assert sorted(zip(main["method"], main["kendall_tau"], strict=True)) == [
        ("hypernas", 0.5),
        ("np", 0.2),
    ]
    assert sorted(zip(ablations["method"], ablations["kendall_tau"], strict=True)) == [
        ("hypernas", 0.4),
        ("hypernas-p", 0.3),
    ]
