import numpy as np
import pytest
import torch

from hypernas_core.nb201 import CELL_ADJ, EDGES, LAYOUT
from tests.conftest import ALL_CONV, ALL_NONE, MIXED


def test_parse_returns_edge_ops_in_string_order(space):
    assert space.parse(MIXED) == (
        "nor_conv_1x1",
        "skip_connect",
        "avg_pool_3x3",
        "none",
        "nor_conv_3x3",
        "skip_connect",
    )


def test_format_inverts_parse_for_every_arch(space):
    archs = space.enumerate()
    assert all(space.format(space.parse(a)) == a for a in archs[::97])
    assert space.from_ops(space.parse(MIXED)) == MIXED


@pytest.mark.parametrize(
    ("arch", "message"),
    [
        ("", "3 '\\+'-separated"),
        ("|nor_conv_3x3~0|+|none~0|none~1|", "3 '\\+'-separated"),
        ("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown NB201 op 'conv'"),
        ("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "must be 'op~0'"),
        ("|none~0|+|none~0|+|none~0|none~1|none~2|", "must list 2 incoming"),
        ("none~0+|none~0|none~1|+|none~0|none~1|none~2|", "enclosed in '\\|'"),
        (12, "must be a string"),
    ],
)
def test_bad_arch_strings_are_rejected_with_a_clear_message(space, arch, message):
    with pytest.raises(ValueError, match=message):
        space.validate(arch)


def test_format_rejects_wrong_op_count(space):
    with pytest.raises(ValueError, match="exactly 6 edge ops"):
        space.from_ops(["none"] * 5)


def test_enumerate_covers_the_space_once_in_index_order(space):
    archs = space.enumerate()
    assert len(archs) == space.size == 15625
    assert len(set(archs)) == 15625
    table = space.label_table()
    assert table["arch_index"].tolist() == list(range(15625))


def test_sample_is_seeded_and_distinct(space):
    a, b = space.sample(50, seed=3), space.sample(50, seed=3)
    assert a == b and len(set(a)) == 50
    assert space.sample(50, seed=4) != a
    with pytest.raises(ValueError, match="n must be in 1..15625"):
        space.sample(0, seed=0)


def test_label_table_matches_provenance_sanity_figures(space):
    table = space.label_table()
    c10 = table["val_acc_cifar10_valid"]
    assert (c10.min(), round(c10.median(), 2), c10.max()) == (10.0, 86.93, 91.57)
    assert round(table["val_acc_cifar100"].max(), 2) == 73.26
    assert round(table["test_acc_cifar10_12ep"].max(), 2) == 89.16
    assert set(space.label_columns) <= set(table.columns)


def test_labels_lookup_and_errors(space):
    row = space.label_table().iloc[1]
    assert space.labels([row["arch"]])[0] == row["val_acc_cifar10_valid"]
    assert space.labels([row["arch"]], "val_acc_cifar100")[0] == row["val_acc_cifar100"]
    with pytest.raises(ValueError, match="unknown label 'acc'"):
        space.labels([row["arch"]], "acc")


def test_cell_adjacency_follows_the_edge_dag():
    # edge node 1 (0->1) feeds the edges leaving node 1: (1->2) node 3 and (1->3) node 5
    assert CELL_ADJ[1].nonzero()[0].tolist() == [3, 5]
    # input feeds the three edges leaving node 0; the edges into node 3 feed the output
    assert CELL_ADJ[0].nonzero()[0].tolist() == [1, 2, 4]
    assert CELL_ADJ[:, 7].nonzero()[0].tolist() == [4, 5, 6]
    assert np.triu(CELL_ADJ, 1).sum() == CELL_ADJ.sum()  # a DAG in topological order
    assert len(EDGES) == 6


def test_macro_chain_has_three_stages_and_two_reductions(space):
    graphs = space.macro_graphs(ALL_CONV)
    assert [g.kind for g in graphs] == list(LAYOUT)
    assert [g.kind for g in graphs].count("reduction") == 2 and len(graphs) == 17
    assert graphs[5].ops == ("input", "res_conv_a", "res_conv_b", "res_shortcut", "output")


def test_encode_shapes_masks_and_kernels(space):
    chain = space.encode([ALL_CONV, ALL_NONE, MIXED], "global")
    assert chain.ops.shape == (3, 17, 8) and chain.adj.shape == (3, 17, 8, 8)
    assert chain.mask[:, 5].sum(dim=-1).tolist() == [5, 5, 5]  # reduction graphs have 5 nodes
    assert chain.kernel[0, 0].tolist() == [0, 3, 3, 3, 3, 3, 3, 0]
    assert chain.kernel[1, 0].sum() == 0
    assert chain.kernel[2, 0].tolist() == [0, 1, 0, 0, 0, 3, 0, 0]
    assert chain.kernel[0, 5, :5].tolist() == [0, 3, 3, 1, 0]
    cell = space.encode([MIXED], "cell")
    assert cell.ops.shape == (1, 1, 8)
    assert torch.equal(cell.ops[0, 0], chain.ops[2, 0])


def test_vectorised_encode_matches_the_generic_graph_encoding(space):
    archs = space.sample(20, seed=0)
    fast = space.encode(archs, "global")
    generic = space._stack([space.macro_graphs(a) for a in archs])
    for name in ("ops", "adj", "mask", "kernel"):
        assert torch.equal(getattr(fast, name), getattr(generic, name)), name
