"""NAS-Bench-101: parsing, pruning, hashing, labels, encoding and the batched target net."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from hypernas_core import Predictor, get_space, method_config
from hypernas_core.nb101 import LAYOUT, NB101TargetNet, graph_hash, prune
from hypernas_core.target_net import batch_norm

# input -> conv3x3 -> output, input -> maxpool -> output
SMALL = "0110000100010000|input|conv3x3-bn-relu|maxpool3x3|output"
# the same cell with its two interior vertices numbered the other way round
SMALL_SWAPPED = "0110000100010000|input|maxpool3x3|conv3x3-bn-relu|output"


@pytest.fixture(scope="module")
def nb101():
    return get_space("nb101")


def test_parse_reads_matrix_and_ops(nb101):
    matrix, ops = nb101.parse(SMALL)
    assert ops == ("input", "conv3x3-bn-relu", "maxpool3x3", "output")
    assert matrix.tolist() == [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]]
    assert nb101.validate(SMALL) == SMALL


def test_pruning_drops_vertices_off_the_input_output_path(nb101):
    # vertex 2 has no outgoing edge: NB101 prunes it
    arch = "0110000100000000|input|conv3x3-bn-relu|maxpool3x3|output"
    assert nb101.validate(arch) == "010001000|input|conv3x3-bn-relu|output"


@pytest.mark.parametrize(
    ("arch", "message"),
    [
        (12, "must be a string"),
        ("0101|input", "<n\\*n adjacency bits>"),
        ("0100|conv3x3-bn-relu|output", "start with 'input'"),
        ("010001000|input|conv5x5|output", "unknown NB101 op 'conv5x5'; valid interior ops"),
        ("01000100|input|conv3x3-bn-relu|output", "9 characters of 0/1 for 3 ops"),
        ("010001010|input|conv3x3-bn-relu|output", "strictly upper triangular.*edge 2 -> 1"),
        ("010000000|input|conv3x3-bn-relu|output", "no path from input to output"),
        ("0" * 64 + "|input" + "|maxpool3x3" * 6 + "|output", "at most 7 vertices"),
    ],
)
def test_bad_archs_are_rejected_with_a_clear_message(nb101, arch, message):
    with pytest.raises(ValueError, match=message):
        nb101.validate(arch)


def test_more_than_nine_edges_is_rejected(nb101):
    full = np.triu(np.ones((7, 7), dtype=int), k=1)  # 21 edges, none prunable
    arch = nb101.format((full, ["input", *["conv1x1-bn-relu"] * 5, "output"]))
    with pytest.raises(ValueError, match="at most 9 edges \\(got 21"):
        nb101.validate(arch)


def test_prune_raises_without_a_path():
    with pytest.raises(ValueError, match="no path"):
        prune(np.zeros((3, 3), dtype=np.uint8), ["input", "maxpool3x3", "output"])


def test_hash_ignores_vertex_numbering_but_not_ops(nb101):
    assert nb101.arch_hash(SMALL) == nb101.arch_hash(SMALL_SWAPPED)
    other = "0110000100010000|input|conv1x1-bn-relu|maxpool3x3|output"
    assert nb101.arch_hash(SMALL) != nb101.arch_hash(other)
    m, ops = nb101.parse(SMALL)
    assert graph_hash(m, ops) == nb101.arch_hash(SMALL)


def test_label_table_has_one_row_per_distinct_cell(nb101):
    table = nb101.label_table()
    assert len(table) == 292 and table["hash"].is_unique
    assert table["val_acc_rows"].sum() == 500
    assert 73.3 < table["val_acc"].min() and table["val_acc"].max() < 94.8
    # every bundled arch is a valid, pruned cell
    assert all(nb101.validate(a) == a for a in table["arch"][:50])


def test_labels_find_a_renumbered_cell(nb101):
    table = nb101.label_table()
    # a cell whose vertices 1 and 2 can swap numbers and stay in topological order
    row = next(
        i
        for i, (matrix, ops) in enumerate(map(nb101.parse, table["arch"]))
        if len(ops) > 3 and not matrix[1, 2] and ops[1] != ops[2]
    )
    arch, acc = table["arch"][row], table["val_acc"][row]
    matrix, ops = nb101.parse(arch)
    order = [0, 2, 1, *range(3, len(ops))]
    other = nb101.format((matrix[np.ix_(order, order)], [ops[i] for i in order]))
    assert other != arch
    assert nb101.labels([other])[0] == pytest.approx(acc)


def test_labels_of_an_unlabelled_cell_name_it(nb101):
    known = set(nb101.label_table()["hash"])
    unlabelled = next(a for a in nb101.sample(50, seed=0) if nb101.arch_hash(a) not in known)
    with pytest.raises(ValueError, match="1 arch\\(s\\) have no label in the nb101 table of 292"):
        nb101.labels([unlabelled])
    with pytest.raises(ValueError, match="unknown label 'acc' for space 'nb101'; valid: val_acc"):
        nb101.labels([unlabelled], "acc")


def test_sample_is_seeded_valid_and_distinct(nb101):
    a, b = nb101.sample(30, seed=1), nb101.sample(30, seed=1)
    assert a == b and len({nb101.arch_hash(x) for x in a}) == 30
    assert all(nb101.validate(x) == x for x in a)
    with pytest.raises(ValueError, match="n must be in 1..100000"):
        nb101.sample(0, seed=0)


def test_encode_gives_the_macro_chain(nb101):
    chain = nb101.encode([SMALL, nb101.labelled_archs()[0]], "global")
    assert chain.ops.shape == (2, 11, 7) and chain.adj.shape == (2, 11, 7, 7)
    assert chain.mask[0, 0].sum() == 4 and chain.mask[0, 3].sum() == 4  # cell, downsampling
    assert nb101.encode([SMALL], "cell").ops.shape == (1, 1, 7)
    down = LAYOUT.index("downsample")
    assert chain.kernel[0, down].tolist() == [0, 0, 1, 0, 0, 0, 0]


def reference_logits(net, images, arch, kernels, b, space):
    """One arch with ordinary conv / pool calls and the documented NB101 target-net cell."""
    matrix, ops = space.parse(arch)
    n, cmax = len(ops), net.max_channels

    def kernel(k, c, v, out_ch, in_ch):
        return kernels[k][b, c, v].view(cmax, cmax, k, k)[:out_ch, :in_ch]

    def bn(x):
        return batch_norm(x.unsqueeze(1)).squeeze(1)

    x = F.relu(bn(net.stem(images)))
    ch = net.width
    for c, kind in enumerate(LAYOUT):
        if kind == "downsample":
            x = bn(F.conv2d(F.max_pool2d(x, 2, 2), kernel(1, c, 2, 2 * ch, ch)))
            ch *= 2
            continue
        values = [x]
        for j in range(1, n):
            inp = sum(values[i] for i in range(j) if matrix[i, j])
            if ops[j] == "output":
                x = bn(inp)
            elif ops[j] == "maxpool3x3":
                values.append(F.max_pool2d(inp, 3, 1, 1))
            else:
                k = 3 if ops[j] == "conv3x3-bn-relu" else 1
                values.append(F.relu(bn(F.conv2d(inp, kernel(k, c, j, ch, ch), padding=k // 2))))
    return net.classifier(F.relu(bn(x)).mean(dim=(-2, -1)))


def test_batched_target_net_matches_a_per_arch_reference(nb101):
    archs = [SMALL, *nb101.labelled_archs()[:2]]
    chain = nb101.encode(archs, "global")
    torch.manual_seed(0)
    net = NB101TargetNet(2, 1, 10, nb101.op_vocab)
    assert "width=2" in repr(net)
    g = torch.Generator().manual_seed(0)
    kernels = {
        k: torch.randn(3, 11, 7, 8 * 8 * k * k, generator=g) * (chain.kernel == k).unsqueeze(-1)
        for k in (1, 3)
    }
    images = torch.randn(6, 1, 8, 8, generator=g)
    logits = net(images, chain, kernels)
    assert logits.shape == (6, 3, 10) and torch.isfinite(logits).all()
    for b, arch in enumerate(archs):
        ref = reference_logits(net, images, arch, kernels, b, nb101)
        torch.testing.assert_close(logits[:, b], ref, rtol=1e-4, atol=1e-4)
    assert net.kernel_shape(3, 2, 1) == (4, 2, 1, 1)
    with pytest.raises(ValueError, match="has no kernel; valid: 2"):
        net.kernel_shape(3, 1, 1)


def test_predictor_trains_on_nb101_with_the_hypernetwork(nb101):
    archs = nb101.labelled_archs()[:12]
    config = method_config(
        "hypernas", space="nb101", train={"epochs": 2, "device": "cpu", "batch_size": 6}
    )
    predictor = Predictor(config)
    history = predictor.fit(archs)
    assert history.status == "completed"
    scores = predictor.predict(archs)
    assert scores.shape == (12,) and torch.isfinite(scores).all()
    weights = predictor.generate_weights(archs[0])
    assert {n.graph_kind for n in weights.nodes} == {"cell", "downsample"}
