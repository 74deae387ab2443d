"""Leaderboard: our measured ranking results beside the published numbers, each with its protocol.

Published numbers are Kendall tau on NAS-Bench-201 CIFAR-10 as printed in the cited papers; each
carries the protocol its source states (training archs, test set, label), which is not always
identical to ours (see docs/benchmarks.md). Measured results are the CSV rows that
`python -m hypernas_core bench ranking` writes; the bundled ones live in assets/results/: the main
table in `<space>_ranking.csv`, ablation and variant runs (another q, encoding, ranking-loss weight,
ensemble size or number of unlabelled aux archs) in `<space>_ablations.csv`.
The main table counts only runs made with their method's default protocol (see `protocol_rows`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from hypernas_core.benchmark import KEY_COLUMNS, summarise, with_key_defaults
from hypernas_core.config import METHODS, method_config
from hypernas_core.search_space import ASSETS_DIR

RESULTS_DIR = ASSETS_DIR / "results"
BUNDLED_RESULTS = {"nb201": RESULTS_DIR / "nb201_ranking.csv"}
BUNDLED_ABLATIONS = {"nb201": RESULTS_DIR / "nb201_ablations.csv"}
ABLATION_COLUMNS = (
    "method",
    "encoding",
    "q",
    "rank_weight",
    "ensemble",
    "unlabelled_archs",
    "budget",
)

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
    frame = with_key_defaults(pd.read_csv(path))
    missing = [c for c in MEASURED_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(
            f"results file {str(path)!r} lacks the columns {missing}; a `bench ranking` CSV has "
            f"{list(MEASURED_COLUMNS)}"
        )
    return frame


def bundled_results(space: str = "nb201") -> pd.DataFrame:
    """Our measured results for `space` shipped in assets/results (empty when there are none)."""
    return _bundled(BUNDLED_RESULTS.get(space))


def bundled_ablations(space: str = "nb201") -> pd.DataFrame:
    """Our ablation and variant runs for `space` (empty when there are none)."""
    return _bundled(BUNDLED_ABLATIONS.get(space))


def _bundled(path: Path | None) -> pd.DataFrame:
    if path is None or not path.is_file():
        return pd.DataFrame(columns=list(MEASURED_COLUMNS))
    return load_results(path)


def protocol_rows(measured: pd.DataFrame) -> pd.DataFrame:
    """The rows run with their method's default protocol: 300 epochs, its q, its encoding, its
    ranking-loss weight, a single predictor (no ensemble) and no unlabelled aux archs.

    A main-table cell must not mix in an ablation (q = 2, positional encoding) or a short run.
    """
    if measured.empty:
        return measured
    measured = with_key_defaults(measured)
    keep = pd.Series(False, index=measured.index)
    for method in METHODS:
        default = method_config(method)
        keep |= (
            (measured["method"] == method)
            & (measured["epochs"] == default.train.epochs)
            & (measured["q"] == default.train.q)
            & (measured["encoding"] == default.encoder.encoding)
            & (measured["rank_weight"] == default.train.rank_weight)
            & (measured["ensemble"] == 1)
            & (measured["unlabelled_archs"] == default.hypernet.unlabelled_archs)
        )
    return measured[keep]


def ablation_table(measured: pd.DataFrame) -> pd.DataFrame:
    """One row per setting of `ABLATION_COLUMNS`: seeds, then Kendall tau and Spearman as
    "mean ± std" over the seeds."""
    columns = [*ABLATION_COLUMNS, "seeds", "kendall_tau", "spearman"]
    if measured.empty:
        return pd.DataFrame(columns=columns)
    summary = summarise(with_key_defaults(measured), by=ABLATION_COLUMNS)
    for metric in ("kendall_tau", "spearman"):
        summary[metric] = [
            f"{m:.3f} ± {s:.3f}"
            for m, s in zip(summary[f"{metric}_mean"], summary[f"{metric}_std"], strict=True)
        ]
    return summary.rename(columns={"n_seeds": "seeds"})[columns]


def leaderboard_table(
    measured: pd.DataFrame, space: str = "nb201", methods: Sequence[str] | None = None
) -> pd.DataFrame:
    """One row per budget: our methods' mean ± std Kendall tau (seeds) and the published taus.

    Args:
        measured: rows of `bench ranking` results (any spaces; only the rows of `space` run with
            their method's default protocol are used, see `protocol_rows`).
        methods: our methods to show, in order (default: every method measured).

    Returns:
        Columns: budget, then "<method> (ours)" cells as "0.650 ± 0.009 (3)" (mean ± std over the
        number of seeds in brackets), then one column per published predictor ("-" where the
        source has no number).
    """
    ours = protocol_rows(measured[measured["space"] == space]) if len(measured) else measured
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
