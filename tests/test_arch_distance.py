import numpy as np
import pytest

from hypernas_core import get_space
from hypernas_core.arch_distance import (
    cell_diff,
    hamming_distance,
    nearest_archs,
    nearest_in_matrix,
    op_counts,
    op_matrix,
)

SPACE = get_space("nb201")
OPS = ["nor_conv_3x3", "none", "skip_connect", "avg_pool_3x3", "nor_conv_1x1", "nor_conv_3x3"]


def test_hamming_distance_counts_edges_with_different_ops():
    a = SPACE.from_ops(OPS)
    b = SPACE.from_ops(["nor_conv_1x1", *OPS[1:4], "none", OPS[5]])
    assert hamming_distance(SPACE, a, a) == 0
    assert hamming_distance(SPACE, a, b) == 2
    assert hamming_distance(SPACE, b, a) == 2


def test_hamming_distance_rejects_invalid_arch():
    with pytest.raises(ValueError, match="unknown NB201 op"):
        hamming_distance(
            SPACE, SPACE.from_ops(OPS), "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|"
        )


def test_cell_diff_names_the_edges_that_differ():
    a = SPACE.from_ops(OPS)
    b = SPACE.from_ops([*OPS[:5], "avg_pool_3x3"])
    diff = cell_diff(SPACE, a, b)
    assert list(diff["edge"]) == ["input", "0->1", "0->2", "1->2", "0->3", "1->3", "2->3", "output"]
    assert diff.loc[diff["differs"], "edge"].tolist() == ["2->3"]
    assert diff.loc[diff["differs"], "op_b"].tolist() == ["avg_pool_3x3"]


def test_nearest_archs_of_a_benchmark_arch_are_one_edge_away():
    archs = SPACE.enumerate()
    near = nearest_archs(SPACE, archs[100], archs, k=30)
    # each of 6 edges can take 4 other ops: exactly 24 archs at distance 1
    assert near["distance"].tolist() == [1] * 24 + [2] * 6
    assert archs[100] not in set(near["arch"])
    for arch, position in zip(near["arch"], near["position"], strict=True):
        assert archs[position] == arch
        assert hamming_distance(SPACE, archs[100], arch) in (1, 2)


def test_nearest_in_matrix_can_keep_the_query_itself():
    archs = SPACE.sample(50, seed=1)
    table = op_matrix(SPACE, archs)
    near = nearest_in_matrix(table[3], table, archs, k=1, exclude_self=False)
    assert near.loc[0, "arch"] == archs[3] and near.loc[0, "distance"] == 0


def test_nearest_rejects_bad_k_and_mismatched_rows():
    archs = SPACE.sample(5, seed=0)
    with pytest.raises(ValueError, match="k must be >= 1"):
        nearest_archs(SPACE, archs[0], archs, k=0)
    with pytest.raises(ValueError, match="nodes"):
        nearest_in_matrix(np.zeros(3, dtype=np.int64), op_matrix(SPACE, archs), archs)


def test_op_counts_sum_to_six_edges():
    archs = SPACE.sample(20, seed=2)
    counts = op_counts(SPACE, archs)
    assert list(counts.columns) == [f"n_{op}" for op in SPACE.cell_ops]
    assert (counts.sum(axis=1) == 6).all()
    first = SPACE.parse(archs[0])
    assert counts.loc[0, "n_nor_conv_3x3"] == first.count("nor_conv_3x3")
