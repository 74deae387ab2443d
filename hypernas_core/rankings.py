"""Ranking tables of a predictor over a benchmark: true and predicted ranks, top-K, held-out metrics.

The predictor saw the true scores of its training archs, so its ranking quality is measured on the
other archs only (held out); the tables still list training archs, marked `is_train`.

Rank 1 is the best arch; ties share the best rank of their group ("min" ranking).

Shapes:
    A archs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from hypernas_core.metrics import precision_at_k, ranking_report


def rank_frame(
    archs: Sequence[str], true: np.ndarray, pred: np.ndarray, train_archs: Sequence[str] = ()
) -> pd.DataFrame:
    """One row per arch: arch, true, pred, true_rank, pred_rank, error (pred - true), is_train.

    Raises:
        ValueError: when the lengths differ.
    """
    true = np.asarray(true, dtype=np.float64).ravel()
    pred = np.asarray(pred, dtype=np.float64).ravel()
    if not len(archs) == true.size == pred.size:
        raise ValueError(
            f"archs, true and pred must have the same length (got {len(archs)}, {true.size}, {pred.size})"
        )
    train = set(train_archs)
    return pd.DataFrame(
        {
            "arch": list(archs),
            "true": true,
            "pred": pred,
            "true_rank": stats.rankdata(-true, method="min").astype(np.int64),
            "pred_rank": stats.rankdata(-pred, method="min").astype(np.int64),
            "error": pred - true,
            "is_train": [a in train for a in archs],
        }
    )


def held_out_report(frame: pd.DataFrame, top_k: int = 50) -> dict[str, float]:
    """`ranking_report` (tau, rho, precision@top-5%) plus precision@`top_k`, on held-out archs.

    Raises:
        ValueError: when fewer than 2 archs are held out or top_k is out of range.
    """
    held = frame[~frame["is_train"]]
    true, pred = held["true"].to_numpy(), held["pred"].to_numpy()
    if len(held) < 2:
        raise ValueError(f"ranking metrics need at least 2 held-out archs (got {len(held)})")
    if not 1 <= top_k <= len(held):
        raise ValueError(f"top_k must be in 1..{len(held)} (got {top_k!r})")
    report = ranking_report(true, pred, top_fraction=0.05)
    report[f"precision_at_{top_k}"] = precision_at_k(true, pred, top_k)
    report["held_out_archs"] = int(len(held))
    return report


def top_k_table(frame: pd.DataFrame, k: int = 20, include_train: bool = False) -> pd.DataFrame:
    """The `k` archs with the best predicted scores, with their true ranks over all archs.

    Args:
        frame: a `rank_frame`.
        k: rows to return, >= 1.
        include_train: keep training archs (whose true score the predictor has seen).

    Returns:
        Columns of `frame` plus `position` (1 = predicted best), sorted by predicted score.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1 (got {k!r})")
    rows = frame if include_train else frame[~frame["is_train"]]
    top = rows.sort_values("pred", ascending=False, kind="stable").head(k).copy()
    top.insert(0, "position", np.arange(1, len(top) + 1))
    return top.reset_index(drop=True)
