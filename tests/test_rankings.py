import numpy as np
import pytest

from hypernas_core.rankings import held_out_report, rank_frame, top_k_table

ARCHS = [f"a{i}" for i in range(6)]
TRUE = np.array([90.0, 80.0, 70.0, 60.0, 50.0, 40.0])


def test_rank_frame_ranks_best_first_and_marks_training_archs():
    pred = np.array([1.0, 3.0, 2.0, 6.0, 5.0, 4.0])
    frame = rank_frame(ARCHS, TRUE, pred, train_archs=["a0"])
    assert frame["true_rank"].tolist() == [1, 2, 3, 4, 5, 6]
    assert frame["pred_rank"].tolist() == [6, 4, 5, 1, 2, 3]
    assert frame["is_train"].tolist() == [True] + [False] * 5
    assert frame["error"].tolist() == (pred - TRUE).tolist()


def test_held_out_report_ignores_training_archs():
    # perfect on held-out archs, wrong only on the training arch a0
    pred = np.array([0.0, 5.0, 4.0, 3.0, 2.0, 1.0])
    report = held_out_report(rank_frame(ARCHS, TRUE, pred, ["a0"]), top_k=2)
    assert report["kendall_tau"] == pytest.approx(1.0)
    assert report["precision_at_2"] == 1.0
    assert report["held_out_archs"] == 5


def test_held_out_report_hand_computed_tau():
    # one discordant pair of 3: tau = (2 - 1) / 3
    report = held_out_report(rank_frame(ARCHS[:3], TRUE[:3], np.array([3.0, 1.0, 2.0])), top_k=1)
    assert report["kendall_tau"] == pytest.approx(1 / 3)
    assert report["precision_at_1"] == 1.0


def test_top_k_table_lists_predicted_best_with_true_ranks():
    pred = np.array([1.0, 3.0, 2.0, 6.0, 5.0, 4.0])
    frame = rank_frame(ARCHS, TRUE, pred, ["a3"])
    top = top_k_table(frame, k=2)
    assert top["arch"].tolist() == ["a4", "a5"] and top["true_rank"].tolist() == [5, 6]
    assert top["position"].tolist() == [1, 2]
    assert top_k_table(frame, k=1, include_train=True)["arch"].tolist() == ["a3"]


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="same length"):
        rank_frame(ARCHS, TRUE[:3], TRUE)
    frame = rank_frame(ARCHS, TRUE, TRUE)
    with pytest.raises(ValueError, match="top_k must be in 1..6"):
        held_out_report(frame, top_k=7)
    with pytest.raises(ValueError, match="k must be >= 1"):
        top_k_table(frame, k=0)
    with pytest.raises(ValueError, match="at least 2 held-out"):
        held_out_report(rank_frame(ARCHS, TRUE, TRUE, ARCHS[1:]))
