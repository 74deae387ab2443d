"""NAS-Bench-Macro: parsing, labels, the layer graphs and the batched target net."""

import pytest
import torch
import torch.nn.functional as F

from hypernas_core import Predictor, get_space, method_config
from hypernas_core.nasbench_macro import STRIDE2_LAYERS, MacroTargetNet
from hypernas_core.target_net import batch_norm


@pytest.fixture(scope="module")
def macro():
    return get_space("nasbench_macro")


def test_parse_and_format_round_trip(macro):
    assert macro.parse("01200000") == ("identity", "MB3_K3", "MB6_K5", *["identity"] * 5)
    assert macro.format(macro.parse(" 22221111\n")) == "22221111"
    assert macro.validate(" 22221111\n") == "22221111"


@pytest.mark.parametrize(
    ("arch", "message"),
    [
        (1200, "must be a string of 8 digits"),
        ("0120", "must be 8 digits.*got '0120'"),
        ("01200003", "each 0 \\(identity\\), 1 \\(MB3_K3\\) or 2 \\(MB6_K5\\)"),
    ],
)
def test_bad_archs_are_rejected_with_a_clear_message(macro, arch, message):
    with pytest.raises(ValueError, match=message):
        macro.validate(arch)


def test_format_rejects_unknown_layers(macro):
    with pytest.raises(ValueError, match="unknown NAS-Bench-Macro layer 'MB6_K7'"):
        macro.format(["MB6_K7"] * 8)


def test_table_covers_the_space_with_real_accuracies(macro):
    table = macro.label_table()
    assert len(table) == macro.size == 6561
    assert table["arch"].tolist() == macro.enumerate()  # leading zeros kept
    assert macro.labels(["00000000"])[0] == pytest.approx(45.36333)
    assert macro.labels(["00000001"], "test_acc_run1")[0] == pytest.approx(64.34)
    assert macro.labelled_archs() == macro.enumerate()


def test_sample_is_seeded_and_distinct(macro):
    a = macro.sample(40, seed=2)
    assert a == macro.sample(40, seed=2) and len(set(a)) == 40
    with pytest.raises(ValueError, match="n must be in 1..6561"):
        macro.sample(7000, seed=0)


def test_graphs_show_blocks_shortcuts_and_strides(macro):
    graphs = macro.macro_graphs("12000000")
    assert len(graphs) == 8 and STRIDE2_LAYERS == (0, 2, 5)
    assert graphs[0].ops == ("input", "mb3_expand_1x1", "dw_3x3", "mb_project_1x1", "output")
    assert graphs[0].adj[0, 4] == 0  # stride 2: no shortcut
    assert graphs[1].ops[1:3] == ("mb6_expand_1x1", "dw_5x5") and graphs[1].adj[0, 4] == 1
    assert graphs[2].ops == ("input", "id_downsample_1x1", "output")  # identity at stride 2
    assert graphs[3].ops == ("input", "output") and graphs[3].adj[0, 1] == 1
    assert macro.cell_graph("12000000").ops[1:3] == ("MB3_K3", "MB6_K5")


def test_encode_pads_layers_to_five_nodes_and_the_cell_path_to_ten(macro):
    chain = macro.encode(["12000000", "00000000"], "global")
    assert chain.ops.shape == (2, 8, 5) and chain.mask[1, 3].sum() == 2
    assert chain.kernel[0, 1].tolist() == [0, 1, 5, 1, 0]
    assert macro.encode(["12000000"], "cell").ops.shape == (1, 1, 10)


def reference_logits(net, images, arch, kernels, b, space):
    """One arch with ordinary MobileNetV2 blocks at the target net's widths."""
    cmax = net.max_channels

    def kernel(k, c, v, out_ch, in_ch):
        return kernels[k][b, c, v].view(cmax, cmax, k, k)[:out_ch, :in_ch]

    def bn(x):
        return batch_norm(x.unsqueeze(1)).squeeze(1)

    x = F.relu(bn(net.stem(images)))
    for c, choice in enumerate(space.parse(arch)):
        c_in, c_out = net._channels(c)
        stride = 2 if c in STRIDE2_LAYERS else 1
        if choice == "identity":
            if stride == 2:
                x = bn(F.conv2d(x, kernel(1, c, 1, c_out, c_in), stride=2))
            continue
        t, k = (3, 3) if choice == "MB3_K3" else (6, 5)
        h = F.relu(bn(F.conv2d(x, kernel(1, c, 1, t * c_in, c_in))))
        h = F.conv2d(
            h, kernel(k, c, 2, t * c_in, 1), stride=stride, padding=k // 2, groups=t * c_in
        )
        h = bn(F.conv2d(F.relu(bn(h)), kernel(1, c, 3, c_out, t * c_in)))
        x = x + h if stride == 1 else h
    return net.classifier(F.relu(bn(x)).mean(dim=(-2, -1)))


def test_batched_target_net_matches_plain_mobilenet_blocks(macro):
    archs = ["12000000", "21102012", "00000000", "22222222"]
    chain = macro.encode(archs, "global")
    torch.manual_seed(0)
    net = MacroTargetNet(4, 1, 10, macro.op_vocab)
    assert net.kernel_sizes_needed() == (1, 3, 5) and net.max_channels == 48
    g = torch.Generator().manual_seed(0)
    kernels = {
        k: torch.randn(4, 8, 5, 48 * 48 * k * k, generator=g) * (chain.kernel == k).unsqueeze(-1)
        for k in (1, 3, 5)
    }
    images = torch.randn(6, 1, 8, 8, generator=g)
    logits = net(images, chain, kernels)
    assert logits.shape == (6, 4, 10) and torch.isfinite(logits).all()
    for b, arch in enumerate(archs):
        ref = reference_logits(net, images, arch, kernels, b, macro)
        torch.testing.assert_close(logits[:, b], ref, rtol=1e-4, atol=1e-4)
    assert net.kernel_shape(7, 2, 5) == (48, 1, 5, 5)
    with pytest.raises(ValueError, match="node 4 with kernel size 1 has no kernel"):
        net.kernel_shape(0, 4, 1)


def test_predictor_trains_on_macro_with_the_hypernetwork(macro):
    archs = macro.sample(4, seed=0)  # one step
    config = method_config(
        "hypernas",
        space="nasbench_macro",
        train={"epochs": 1, "device": "cpu", "batch_size": 4},
        hypernet={"target_width": 2},
    )
    predictor = Predictor(config)
    assert predictor.fit(archs).status == "completed"
    assert torch.isfinite(predictor.predict(archs)).all()
