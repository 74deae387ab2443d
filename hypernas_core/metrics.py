"""Ranking metrics of a predictor: Kendall tau, Spearman rho, precision@K and true ranks.

Higher scores are better everywhere (accuracies). Rank 1 is the best arch.
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def _check_pair(true: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    true = np.asarray(true, dtype=np.float64).ravel()
    pred = np.asarray(pred, dtype=np.float64).ravel()
    if true.shape != pred.shape:
        raise ValueError(
            f"true and pred must have the same length (got {true.size} and {pred.size})"
        )
    if true.size < 2:
        raise ValueError(f"ranking metrics need at least 2 archs (got {true.size})")
    return true, pred


def kendall_tau(true: np.ndarray, pred: np.ndarray) -> float:
    """Kendall tau-b between true and predicted scores."""
    true, pred = _check_pair(true, pred)
    return float(stats.kendalltau(true, pred).statistic)


def spearman(true: np.ndarray, pred: np.ndarray) -> float:
    """Spearman rank correlation between true and predicted scores."""
    true, pred = _check_pair(true, pred)
    return float(stats.spearmanr(true, pred).statistic)


def _check_k(k: int, n: int) -> None:
    if not 1 <= k <= n:
        raise ValueError(f"k must be in 1..{n} (got {k!r})")


def precision_at_k(true: np.ndarray, pred: np.ndarray, k: int) -> float:
    """Fraction of the predicted top-k archs that are in the true top-k."""
    true, pred = _check_pair(true, pred)
    _check_k(k, true.size)
    top_pred = np.argsort(-pred, kind="stable")[:k]
    top_true = np.argsort(-true, kind="stable")[:k]
    return float(np.intersect1d(top_pred, top_true).size / k)


def true_ranks_of_predicted_top_k(true: np.ndarray, pred: np.ndarray, k: int) -> np.ndarray:
    """True rank (1 = best) of each of the predicted top-k archs, in predicted order.

    Ties in the true score share the best rank of their group ("min" ranking).
    """
    true, pred = _check_pair(true, pred)
    _check_k(k, true.size)
    ranks = stats.rankdata(-true, method="min").astype(np.int64)
    return ranks[np.argsort(-pred, kind="stable")[:k]]


def ranking_report(
    true: np.ndarray, pred: np.ndarray, top_fraction: float = 0.05
) -> dict[str, float]:
    """Tau, rho, precision@top-`top_fraction` and the best true rank among the predicted top 10."""
    true, pred = _check_pair(true, pred)
    if not 0.0 < top_fraction <= 1.0:
        raise ValueError(f"top_fraction must be in (0, 1] (got {top_fraction!r})")
    k = max(1, int(round(top_fraction * true.size)))
    top10 = true_ranks_of_predicted_top_k(true, pred, min(10, true.size))
    return {
        "kendall_tau": kendall_tau(true, pred),
        "spearman": spearman(true, pred),
        f"precision_at_top{int(round(top_fraction * 100))}pct": precision_at_k(true, pred, k),
        "best_true_rank_in_top10": int(top10.min()),
    }
