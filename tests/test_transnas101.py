"""TransNAS-Bench-101 micro and macro: parsing, the 7 task labels, graphs and target nets."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from hypernas_core import Predictor, get_space, method_config
from hypernas_core.nb201 import EDGES
from hypernas_core.target_net import batch_norm
from hypernas_core.transnas101 import (
    MICRO_LAYOUT,
    TASK_COLUMNS,
    TNBMacroTargetNet,
    TNBMicroTargetNet,
)


@pytest.fixture(scope="module")
def micro():
    return get_space("tnb101_micro")


@pytest.fixture(scope="module")
def macro():
    return get_space("tnb101_macro")


def bn(x):
    return batch_norm(x.unsqueeze(1)).squeeze(1)


def test_micro_parse_format_and_errors(micro):
    ops = micro.parse("64-41414-3_12_030")
    assert ops == ("nor_conv_3x3", "skip_connect", "nor_conv_1x1", "none", "nor_conv_3x3", "none")
    assert micro.format(ops) == "64-41414-3_12_030"
    for arch, message in [
        ("64-11414-3_12_030", "must look like '64-41414-a_bc_def'"),
        ("64-41414-3_12_0304", "must be 'a_bc_def' with digits 0"),
        ("64-41414-4_12_030", "must be 'a_bc_def'"),
        (3, "must be a string"),
    ]:
        with pytest.raises(ValueError, match=message):
            micro.validate(arch)


def test_micro_table_covers_the_space_with_seven_tasks(micro):
    table = micro.label_table()
    assert table["arch"].tolist() == micro.enumerate() and micro.size == 4096
    assert set(TASK_COLUMNS) <= set(table.columns) and micro.label_columns == TASK_COLUMNS
    # the all-none cell is the worst arch on class_scene (PROVENANCE sanity check)
    scene = micro.labels(micro.enumerate(), "val_class_scene__valid_top1")
    assert micro.enumerate()[int(np.argmin(scene))] == "64-41414-0_00_000"
    assert micro.labels(["64-41414-0_00_000"], "val_room_layout__valid_neg_loss")[0] < 0


def test_micro_chain_has_a_reduction_before_each_downsampling_module(micro):
    assert MICRO_LAYOUT.count("reduction") == 3 and len(MICRO_LAYOUT) == 13
    chain = micro.encode(micro.sample(2, seed=0), "global")
    assert chain.ops.shape == (2, 13, 8)


def micro_reference(net, images, arch, kernels, b, space):
    cmax = net.max_channels

    def kernel(k, c, n, out_ch, in_ch):
        return kernels[k][b, c, n].view(cmax, cmax, k, k)[:out_ch, :in_ch]

    ops = space.parse(arch)
    x = bn(net.stem(images))
    ch = net.width
    for c, kind in enumerate(MICRO_LAYOUT):
        if kind == "reduction":
            a = bn(F.conv2d(F.relu(x), kernel(3, c, 1, 2 * ch, ch), stride=2, padding=1))
            a = bn(F.conv2d(F.relu(a), kernel(3, c, 2, 2 * ch, 2 * ch), padding=1))
            x = a + F.conv2d(F.avg_pool2d(x, 2, 2), kernel(1, c, 3, 2 * ch, ch))
            ch *= 2
            continue
        nodes = [x, 0, 0, 0]
        for e, (i, j) in enumerate(EDGES):
            op = ops[e]
            if op == "skip_connect":
                nodes[j] = nodes[j] + nodes[i]
            elif op.startswith("nor_conv"):
                k = 3 if op.endswith("3x3") else 1
                w = kernel(k, c, e + 1, ch, ch)
                nodes[j] = nodes[j] + bn(F.conv2d(F.relu(nodes[i]), w, padding=k // 2))
        x = nodes[3] if torch.is_tensor(nodes[3]) else torch.zeros_like(x)
    return net.classifier(F.relu(bn(x)).mean(dim=(-2, -1)))


def test_micro_target_net_matches_a_per_arch_reference(micro):
    archs = ["64-41414-3_12_030", "64-41414-1_33_213", "64-41414-2_01_321"]
    chain = micro.encode(archs, "global")
    torch.manual_seed(0)
    net = TNBMicroTargetNet(2, 1, 10, micro.op_vocab)
    g = torch.Generator().manual_seed(0)
    kernels = {
        k: torch.randn(3, 13, 8, 16 * 16 * k * k, generator=g) * (chain.kernel == k).unsqueeze(-1)
        for k in (1, 3)
    }
    images = torch.randn(6, 1, 8, 8, generator=g)
    logits = net(images, chain, kernels)
    for b, arch in enumerate(archs):
        ref = micro_reference(net, images, arch, kernels, b, micro)
        torch.testing.assert_close(logits[:, b], ref, rtol=1e-4, atol=1e-4)
    assert net.kernel_shape(12, 1, 3) == (16, 16, 3, 3)


def test_macro_parse_and_the_skeleton_rules(macro):
    assert macro.parse("64-111124-basic") == "111124"
    for arch, message in [
        ("64-1112-resnet", "must look like '64-<4 to 6 digits 1-4>-basic'"),
        ("64-111-basic", "4 to 6 modules"),
        ("64-1115-basic", "4 to 6 modules"),
        ("64-1111-basic", "1 to 4 downsampling.*got 0 and 0"),
        ("64-222233-basic", "got 2 and 4"),
    ]:
        with pytest.raises(ValueError, match=message):
            macro.validate(arch)


def test_macro_rules_give_exactly_the_benchmark_archs(macro):
    table = macro.label_table()
    assert macro.size == 3256 and set(macro.enumerate()) == set(table["arch"])
    assert macro.labels(["64-111114-basic"])[0] == pytest.approx(51.04996)


def test_macro_graphs_and_padding(macro):
    graphs = macro.macro_graphs("64-4132-basic")
    assert len(graphs) == 8
    assert graphs[0].ops[1] == "res_conv_a_s2x2" and graphs[0].ops[3] == "res_shortcut"
    assert graphs[1].ops[1] == "res_conv_a" and graphs[2].ops[3] == "skip_connect"
    chain = macro.encode(["64-4132-basic", "64-123412-basic"], "global")
    assert chain.ops.shape == (2, 12, 5) and not chain.mask[0, 8:].any() and chain.mask[1].all()
    assert macro.encode(["64-4132-basic"], "global").ops.shape == (1, 12, 5)
    assert macro.encode(["64-4132-basic"], "cell").ops.shape == (1, 1, 8)


def test_macro_mutations_stay_valid(macro):
    rng = np.random.default_rng(0)
    for arch in macro.sample(10, seed=0):
        child = macro.mutate(arch, rng)
        assert macro.validate(child) == child != arch


def macro_reference(net, images, arch, kernels, b, space):
    cmax = net.max_channels

    def kernel(k, c, n, out_ch, in_ch):
        return kernels[k][b, c, n].view(cmax, cmax, k, k)[:out_ch, :in_ch]

    x = bn(net.stem(images))
    ch, c = net.width, 0
    for m in space.parse(arch):
        for first in (True, False):
            stride = 2 if first and m in "34" else 1
            out = 2 * ch if first and m in "24" else ch
            y = bn(F.conv2d(F.relu(x), kernel(3, c, 1, out, ch), stride=stride, padding=1))
            y = bn(F.conv2d(F.relu(y), kernel(3, c, 2, out, out), padding=1))
            if stride == 1 and out == ch:
                x = y + x
            else:
                s = F.avg_pool2d(x, 2, 2, ceil_mode=True) if stride == 2 else x
                x = y + F.conv2d(s, kernel(1, c, 3, out, ch))
            ch, c = out, c + 1
    feats = F.pad(F.relu(bn(x)).mean(dim=(-2, -1)), (0, cmax - ch))
    return net.classifier(feats)


def test_macro_target_net_runs_mixed_skeletons_like_plain_resnets(macro):
    archs = ["64-4132-basic", "64-123412-basic", "64-4132-basic", "64-333214-basic"]
    chain = macro.encode(archs, "global")
    torch.manual_seed(0)
    net = TNBMacroTargetNet(2, 1, 10, macro.op_vocab)
    g = torch.Generator().manual_seed(0)
    kernels = {
        k: torch.randn(4, 12, 5, 16 * 16 * k * k, generator=g) * (chain.kernel == k).unsqueeze(-1)
        for k in (1, 3)
    }
    images = torch.randn(6, 1, 8, 8, generator=g)
    logits = net(images, chain, kernels)
    assert logits.shape == (6, 4, 10)
    for b, arch in enumerate(archs):
        ref = macro_reference(net, images, arch, kernels, b, macro)
        torch.testing.assert_close(logits[:, b], ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", ["tnb101_micro", "tnb101_macro"])
def test_predictor_trains_on_any_task(name):
    space = get_space(name)
    archs = space.sample(4, seed=0)
    config = method_config(
        "hypernas",
        space=name,
        target="val_autoencoder__valid_ssim",
        train={"epochs": 1, "device": "cpu", "batch_size": 4},
        hypernet={"target_width": 2},
    )
    predictor = Predictor(config)
    assert predictor.fit(archs).status == "completed"
    assert torch.isfinite(predictor.predict(archs)).all()
