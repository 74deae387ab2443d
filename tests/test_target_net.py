"""The batched NB201 target net against a plain per-arch reference built from standard ops."""

import pytest
import torch
import torch.nn.functional as F

from hypernas_core.nb201 import EDGES, LAYOUT, NB201TargetNet
from hypernas_core.target_net import batch_norm, grouped_conv, take_kernel
from tests.conftest import ALL_CONV, ALL_NONE, MIXED

WIDTH = 2


def random_kernels(chain, max_channels, seed=0):
    g = torch.Generator().manual_seed(seed)
    B, C, N = chain.kernel.shape
    out = {}
    for k in (1, 3):
        dense = torch.randn(B, C, N, max_channels * max_channels * k * k, generator=g)
        out[k] = dense * (chain.kernel == k).unsqueeze(-1)  # as the hypernetwork emits
    return out


def bn(x):
    return F.batch_norm(x, None, None, training=True, eps=1e-5)


def reference_logits(net, images, ops, kernels, b):
    """One arch, with ordinary conv / pool calls and the NB201 cell definition."""
    cmax = net.max_channels

    def kernel(k, c, n, out_ch, in_ch):
        return kernels[k][b, c, n].view(cmax, cmax, k, k)[:out_ch, :in_ch]

    x = bn(net.stem(images))
    ch = WIDTH
    for c, kind in enumerate(LAYOUT):
        if kind == "reduction":
            a = bn(F.conv2d(F.relu(x), kernel(3, c, 1, 2 * ch, ch), stride=2, padding=1))
            a = bn(F.conv2d(F.relu(a), kernel(3, c, 2, 2 * ch, 2 * ch), padding=1))
            x = a + F.conv2d(F.avg_pool2d(x, 2, 2), kernel(1, c, 3, 2 * ch, ch))
            ch *= 2
            continue
        nodes = [x]
        for j in (1, 2, 3):
            total = torch.zeros_like(x)
            for e, (i, jj) in enumerate(EDGES):
                if jj != j:
                    continue
                op, src = ops[e], nodes[i]
                if op == "skip_connect":
                    total = total + src
                elif op == "avg_pool_3x3":
                    total = total + F.avg_pool2d(src, 3, 1, 1, count_include_pad=False)
                elif op.startswith("nor_conv"):
                    k = int(op[-1])
                    w = kernel(k, c, e + 1, ch, ch)
                    total = total + bn(F.conv2d(F.relu(src), w, padding=k // 2))
            nodes.append(total)
        x = nodes[3]
    x = F.relu(bn(x)).mean(dim=(-2, -1))
    return net.classifier(x)


@pytest.fixture
def net(space):
    torch.manual_seed(0)
    return NB201TargetNet(WIDTH, 1, 10, space.op_vocab)


def test_batched_net_matches_per_arch_reference(space, net):
    archs = [ALL_CONV, MIXED, space.sample(1, seed=11)[0]]
    chain = space.encode(archs, "global")
    kernels = random_kernels(chain, net.max_channels)
    images = torch.randn(6, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    logits = net(images, chain, kernels)
    assert logits.shape == (6, 3, 10)
    for b, arch in enumerate(archs):
        expected = reference_logits(net, images, space.parse(arch), kernels, b)
        assert torch.allclose(logits[:, b], expected, atol=1e-4), arch


def test_all_none_cell_cuts_the_signal(space, net):
    chain = space.encode([ALL_NONE], "global")
    logits = net(torch.randn(4, 1, 8, 8), chain, random_kernels(chain, net.max_channels))
    # every image gives the same logits: the input cannot reach the classifier
    assert torch.allclose(logits[0], logits[1:].mean(dim=0), atol=1e-5)


def test_kernel_shapes_follow_the_stages(net):
    assert net.kernel_shape(0, 1, 3) == (2, 2, 3, 3)
    assert net.kernel_shape(5, 1, 3) == (4, 2, 3, 3)
    assert net.kernel_shape(5, 3, 1) == (4, 2, 1, 1)
    assert net.kernel_shape(16, 2, 1) == (8, 8, 1, 1)
    with pytest.raises(ValueError, match="graph must be in 0..16"):
        net.kernel_shape(17, 1, 3)
    with pytest.raises(ValueError, match="has no kernel"):
        net.kernel_shape(5, 4, 1)


def test_the_chain_must_be_global(space, net):
    chain = space.encode([MIXED], "cell")
    with pytest.raises(ValueError, match="global chain of 17 graphs"):
        net(torch.randn(2, 1, 8, 8), chain, {1: None, 3: None})


def test_helpers():
    x = torch.randn(3, 2, 4, 5, 5)
    w = torch.randn(2, 6, 4, 3, 3)
    y = grouped_conv(x, w, padding=1)
    assert torch.allclose(y[:, 1], F.conv2d(x[:, 1], w[1], padding=1), atol=1e-5)
    flat = torch.arange(2 * 4 * 4 * 1.0).view(2, 16)
    assert take_kernel(flat, 4, 2, 3, 1).shape == (2, 2, 3, 1, 1)
    normed = batch_norm(torch.randn(8, 2, 3, 4, 4) * 5 + 2)
    assert normed.mean(dim=(0, 3, 4)).abs().max() < 1e-5
