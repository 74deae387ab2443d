"""Leaderboard: our measured ranking results beside the published numbers, each with its protocol.

Published numbers are Kendall tau on NAS-Bench-201 CIFAR-10 as printed in the cited papers; each
carries the protocol its source states (training archs, test set, label), which is not always
identical to ours (see docs/benchmarks.md). Measured results are the CSV rows that
`python -m hypernas_core bench ranking` writes; the bundled ones live in assets/results/.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from hypernas_core.benchmark import KEY_COLUMNS
from hypernas_core.search_space import ASSETS_DIR

RESULTS_DIR = ASSETS_DIR / "results"
BUNDLED_RESULTS = {"nb201": RESULTS_DIR / "nb201_ranking.csv"}

HYPERNAS_PAPER = (
    "Lv et al., HyperNAS: Enhancing Architecture Representation for NAS Predictor via "
    "Hypernetwork, arXiv:2509.18151 (2025)"
)
PINAT_PAPER = (
    "Lu et al., PINAT: A Permutation INvariance Augmented Transformer for NAS Predictor, AAAI 2024"
)
NN_FORMER_PAPER = (
    "NN-Former: Rethinking Graph Structure in Neural Architecture Representation (2025)"
)
NB201_PROTOCOL = "train on N NB201 archs, test on the remaining archs, CIFAR-10 accuracy label"


@dataclass(frozen=True)
class PublishedResult:
    """One published Kendall tau.

    Attributes:
        predictor: the predictor's name as its source gives it.
        space: search space name in this library ("nb201").
        budget: training archs (N).
        kendall_tau: the published value.
        source: the paper the number is printed in.
        protocol: training count, test set and label, as the source states them.
    """

    predictor: str
    space: str
    budget: int
    kendall_tau: float
    source: str
    protocol: str = NB201_PROTOCOL


def _published(predictor: str, source: str, taus: dict[int, float]) -> list[PublishedResult]:
    return [PublishedResult(predictor, "nb201", n, tau, source) for n, tau in taus.items()]


PUBLISHED: tuple[PublishedResult, ...] = (
    *_published(
        "NP (rerun by HyperNAS)",
        HYPERNAS_PAPER,
        {39: 0.655, 78: 0.626, 156: 0.696, 469: 0.757},
    ),
    *_published("PINAT", PINAT_PAPER, {39: 0.494, 78: 0.549, 156: 0.631, 469: 0.706, 1563: 0.784}),
    *_published("HyperNAS (paper)", HYPERNAS_PAPER, {39: 0.667, 78: 0.677, 156: 0.765, 469: 0.836}),
    *_published("NN-Former", NN_FORMER_PAPER, {156: 0.804, 1563: 0.890}),
)

MEASURED_COLUMNS = (*KEY_COLUMNS, "kendall_tau", "spearman", "train_seconds")


def published_frame(space: str = "nb201") -> pd.DataFrame:
    """The published results of `space`: predictor, budget, kendall_tau, source, protocol."""
    rows = [vars(r) for r in PUBLISHED if r.space == space]
    return pd.DataFrame(
        rows, columns=["predictor", "space", "budget", "kendall_tau", "source", "protocol"]
    )


def load_results(path: str | Path) -> pd.DataFrame:
    """Reads a `bench ranking` results CSV.

    Raises:
        FileNotFoundError: when the file is missing.
        ValueError: when it lacks a column a leaderboard needs.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"results file {str(path)!r} does not exist")
    frame = pd.read_csv(path)
    missing = [c for c in MEASURED_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(
            f"results file {str(path)!r} lacks the columns {missing}; a `bench ranking` CSV has "
            f"{list(MEASURED_COLUMNS)}"
        )
    return frame


def bundled_results(space: str = "nb201") -> pd.DataFrame:
    """Our measured results for `space` shipped in assets/results (empty when there are none)."""
    path = BUNDLED_RESULTS.get(space)
    if path is None or not path.is_file():
        return pd.DataFrame(columns=list(MEASURED_COLUMNS))
    return load_results(path)


def leaderboard_table(
    measured: pd.DataFrame, space: str = "nb201", methods: Sequence[str] | None = None
) -> pd.DataFrame:
    """One row per budget: our methods' mean ± std Kendall tau (seeds) and the published taus.

    Args:
        measured: rows of `bench ranking` results (any spaces; only `space` is used).
        methods: our methods to show, in order (default: every method measured).

    Returns:
        Columns: budget, then "<method> (ours)" cells as "0.650 ± 0.009 (3)" (mean ± std over the
        number of seeds in brackets), then one column per published predictor ("-" where the
        source has no number).
    """
    ours = measured[measured["space"] == space] if len(measured) else measured
    methods = list(methods) if methods is not None else sorted(set(ours.get("method", [])))
    published = published_frame(space)
    budgets = sorted(set(ours.get("budget", pd.Series(dtype=int))) | set(published["budget"]))
    rows = []
    for budget in budgets:
        row: dict[str, object] = {"budget": int(budget)}
        for method in methods:
            taus = ours[(ours["method"] == method) & (ours["budget"] == budget)]["kendall_tau"]
            row[f"{method} (ours)"] = _mean_std(taus)
        for predictor in dict.fromkeys(published["predictor"]):
            hit = published[(published["predictor"] == predictor) & (published["budget"] == budget)]
            row[predictor] = f"{hit['kendall_tau'].iloc[0]:.3f}" if len(hit) else "-"
        rows.append(row)
    return pd.DataFrame(rows)


def _mean_std(values: pd.Series) -> str:
    values = values.dropna()
    if values.empty:
        return "-"
    std = values.std(ddof=1) if len(values) > 1 else 0.0
    return f"{values.mean():.3f} ± {std:.3f} ({len(values)})"
