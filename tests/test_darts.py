"""DARTS / NAS-Bench-301: parsing, canonical form, labels, graphs and the batched target net."""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from hypernas_core import Predictor, get_space, method_config
from hypernas_core.darts import CELL_NODES, LAYOUT, DartsTargetNet, cell_adjacency
from hypernas_core.target_net import batch_norm

NORMAL = [
    ["sep_conv_5x5", 0],
    ["sep_conv_3x3", 1],
    ["skip_connect", 0],
    ["sep_conv_3x3", 2],
    ["sep_conv_3x3", 2],
    ["sep_conv_3x3", 0],
    ["dil_conv_5x5", 2],
    ["dil_conv_3x3", 3],
]
REDUCE = [
    ["sep_conv_3x3", 0],
    ["sep_conv_3x3", 1],
    ["avg_pool_3x3", 1],
    ["dil_conv_3x3", 0],
    ["sep_conv_3x3", 2],
    ["skip_connect", 0],
    ["sep_conv_5x5", 4],
    ["avg_pool_3x3", 3],
]
GENOTYPE = (
    "Genotype(normal=[('sep_conv_5x5', 0), ('sep_conv_3x3', 1), ('skip_connect', 0), "
    "('sep_conv_3x3', 2), ('sep_conv_3x3', 2), ('sep_conv_3x3', 0), ('dil_conv_5x5', 2), "
    "('dil_conv_3x3', 3)], normal_concat=[2, 3, 4, 5], reduce=[('sep_conv_3x3', 0), "
    "('sep_conv_3x3', 1), ('avg_pool_3x3', 1), ('dil_conv_3x3', 0), ('sep_conv_3x3', 2), "
    "('skip_connect', 0), ('sep_conv_5x5', 4), ('avg_pool_3x3', 3)], reduce_concat=[2, 3, 4, 5])"
)


@pytest.fixture(scope="module")
def darts():
    return get_space("darts")


def test_json_and_genotype_give_the_same_canonical_arch(darts):
    arch = darts.validate(json.dumps([NORMAL, REDUCE]))
    assert darts.validate(GENOTYPE) == arch and " " not in arch
    normal, _ = darts.parse(arch)
    assert normal[2:4] == (("skip_connect", 0), ("sep_conv_3x3", 2))
    # pairs of a node in the other order are the same arch
    swapped = [NORMAL[1], NORMAL[0], *NORMAL[2:]]
    assert darts.validate(json.dumps([swapped, REDUCE])) == arch


@pytest.mark.parametrize(
    ("arch", "message"),
    [
        (5, "must be a string"),
        ("normal=...", "must be JSON \\[normal, reduce\\]"),
        ("[[]]", "must list 2 cells"),
        (
            json.dumps([NORMAL[:7], REDUCE]),
            "normal cell must have 8 \\[op, input\\] pairs \\(got 7\\)",
        ),
        (json.dumps([[["conv_7x7", 0]] + NORMAL[1:], REDUCE]), "unknown DARTS op 'conv_7x7'"),
        (
            json.dumps([NORMAL, REDUCE[:2] + [["skip_connect", 4]] + REDUCE[3:]]),
            "reduce node 3 can read states 0..2 \\(got input 4\\)",
        ),
        (
            json.dumps([[NORMAL[0], ["skip_connect", 0]] + NORMAL[2:], REDUCE]),
            "node 2 must read two different states",
        ),
        ("Genotype(normal=[('sep_conv_3x3', 0)])", "needs normal=\\[...\\] and reduce=\\[...\\]"),
    ],
)
def test_bad_archs_are_rejected_with_a_clear_message(darts, arch, message):
    with pytest.raises(ValueError, match=message):
        darts.validate(arch)


def test_label_table_holds_the_really_trained_genotypes(darts):
    table = darts.label_table()
    assert len(table) == 1218 and table["arch"].is_unique
    assert 90.7 < table["val_acc"].min() and table["val_acc"].max() < 94.5
    assert darts.labels([GENOTYPE])[0] == pytest.approx(93.918354)


def test_sample_and_mutate_give_valid_distinct_archs(darts):
    archs = darts.sample(20, seed=0)
    assert archs == darts.sample(20, seed=0) and len(set(archs)) == 20
    rng = np.random.default_rng(0)
    for arch in archs[:5]:
        child = darts.mutate(arch, rng)
        assert darts.validate(child) == child and child != arch


def test_cell_graph_wiring():
    adj = cell_adjacency(tuple((op, i) for op, i in NORMAL))
    assert adj[0, 2] == 1 and adj[1, 3] == 1  # pairs reading the inputs
    assert adj[2, 5] == adj[3, 5] == 1  # pair 3 reads state 2, the sum of pairs 0 and 1
    assert adj[:, CELL_NODES - 1].sum() == 8 and np.triu(adj, 1).sum() == adj.sum()


def test_encodings(darts):
    arch = darts.validate(GENOTYPE)
    chain = darts.encode([arch], "global")
    assert chain.ops.shape == (1, 8, 11) and chain.mask.all()
    assert [g.kind for g in darts.macro_graphs(arch)] == list(LAYOUT)
    cell = darts.encode([arch], "cell")
    assert cell.ops.shape == (1, 1, 22)
    assert darts.cell_graph(arch).ops[11] == "reduce_input_0"


def reference_logits(net, images, arch, kernels, b, space):
    """One arch with ordinary ops and the documented simplified DARTS cell."""
    cmax = net.max_channels

    def kernel(k, c, v, out_ch, in_ch):
        return kernels[k][b, c, v].view(cmax, cmax, k, k)[:out_ch, :in_ch]

    def bn(x):
        return batch_norm(x.unsqueeze(1)).squeeze(1)

    def op(name, x, c, node, ch, stride):
        if name == "max_pool_3x3":
            return F.max_pool2d(x, 3, stride, 1)
        if name == "avg_pool_3x3":
            return F.avg_pool2d(x, 3, stride, 1, count_include_pad=False)
        if name == "skip_connect":
            return x if stride == 1 else F.avg_pool2d(x, 2, 2, ceil_mode=True)
        k = 5 if name.endswith("5x5") else 3
        dil = 2 if name.startswith("dil") else 1
        w = kernel(k, c, node, ch, ch)
        return bn(F.conv2d(F.relu(x), w, stride=stride, padding=dil * (k // 2), dilation=dil))

    cells = dict(zip(("normal", "reduce"), space.parse(arch), strict=True))
    x = bn(net.stem(images))
    prev_prev, prev = x, x
    for c, kind in enumerate(LAYOUT):
        pp_ch, p_ch, ch = net._widths(c)
        stride0 = 2 if prev_prev.shape[-1] != prev.shape[-1] else 1
        states = [
            bn(F.conv2d(F.relu(prev_prev), kernel(1, c, 0, ch, pp_ch), stride=stride0)),
            bn(F.conv2d(F.relu(prev), kernel(1, c, 1, ch, p_ch))),
        ]
        for node in range(4):
            total = 0
            for e in (2 * node, 2 * node + 1):
                name, i = cells[kind][e]
                stride = 2 if kind == "reduce" and i < 2 else 1
                total = total + op(name, states[i], c, 2 + e, ch, stride)
            states.append(total)
        prev_prev, prev = prev, bn(sum(states[2:]))
    return net.classifier(F.relu(bn(prev)).mean(dim=(-2, -1)))


def test_batched_target_net_matches_a_per_arch_reference(darts):
    archs = [darts.validate(GENOTYPE), *darts.sample(2, seed=5)]
    chain = darts.encode(archs, "global")
    torch.manual_seed(0)
    net = DartsTargetNet(2, 1, 10, darts.op_vocab)
    g = torch.Generator().manual_seed(0)
    kernels = {
        k: torch.randn(3, 8, 11, 8 * 8 * k * k, generator=g) * (chain.kernel == k).unsqueeze(-1)
        for k in (1, 3, 5)
    }
    images = torch.randn(6, 1, 8, 8, generator=g)
    logits = net(images, chain, kernels)
    assert logits.shape == (6, 3, 10) and torch.isfinite(logits).all()
    for b, arch in enumerate(archs):
        ref = reference_logits(net, images, arch, kernels, b, darts)
        torch.testing.assert_close(logits[:, b], ref, rtol=1e-4, atol=1e-4)
    assert net.kernel_shape(3, 0, 1) == (4, 2, 1, 1)  # after a reduction, two cells back
    with pytest.raises(ValueError, match="node 10 with kernel size 1 has no kernel"):
        net.kernel_shape(0, 10, 1)


def test_predictor_trains_on_darts_with_the_hypernetwork(darts):
    archs = darts.labelled_archs()[:4]
    config = method_config(
        "hypernas",
        space="darts",
        train={"epochs": 1, "device": "cpu", "batch_size": 4},
        hypernet={"target_width": 2},
    )
    predictor = Predictor(config)
    assert predictor.fit(archs).status == "completed"
    assert torch.isfinite(predictor.predict(archs)).all()
