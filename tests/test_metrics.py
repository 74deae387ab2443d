import numpy as np
import pytest

from hypernas_core.metrics import (
    kendall_tau,
    precision_at_k,
    ranking_report,
    spearman,
    true_ranks_of_predicted_top_k,
)


def test_perfect_and_reversed_rankings():
    true = np.array([1.0, 2.0, 3.0, 4.0])
    assert kendall_tau(true, true * 10) == pytest.approx(1.0)
    assert spearman(true, -true) == pytest.approx(-1.0)


def test_kendall_tau_hand_computed():
    # pairs: (1,2)+ (1,3)+ (2,3)- -> (2 - 1) / 3
    assert kendall_tau([1, 2, 3], [1, 3, 2]) == pytest.approx(1 / 3)


def test_precision_at_k_and_true_ranks():
    true = np.array([90.0, 80.0, 70.0, 60.0, 50.0])
    pred = np.array([0.2, 0.9, 0.1, 0.8, 0.0])  # predicted order: 1, 3, 0, 2, 4
    assert precision_at_k(true, pred, 2) == pytest.approx(0.5)  # {1,3} vs {0,1}
    assert true_ranks_of_predicted_top_k(true, pred, 3).tolist() == [2, 4, 1]


def test_report_keys():
    rng = np.random.default_rng(0)
    true = rng.normal(size=200)
    report = ranking_report(true, true + rng.normal(scale=0.1, size=200))
    assert report["kendall_tau"] > 0.8
    assert report["precision_at_top5pct"] > 0.5
    assert report["best_true_rank_in_top10"] >= 1


def test_bad_inputs():
    with pytest.raises(ValueError, match="same length"):
        kendall_tau([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="at least 2 archs"):
        spearman([1], [1])
    with pytest.raises(ValueError, match="k must be in 1..3"):
        precision_at_k([1, 2, 3], [1, 2, 3], 4)
