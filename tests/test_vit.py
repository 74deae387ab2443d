"""The ViT space: parsing, sampling, mutation, graphs and the masked batched target net."""

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from hypernas_core import Predictor, get_space, method_config
from hypernas_core.aux_data import load_aux_dataset
from hypernas_core.label_training import LabelTrainingConfig, train_arch
from hypernas_core.vit import ViTTargetNet, reduced_embed_dim


@pytest.fixture(scope="module")
def vit():
    return get_space("vit")


def small(vit, depth=12, embed=192, heads=3, ratio=4):
    return vit.from_dims(depth, embed, [heads] * depth, [ratio] * depth)


def test_parse_and_canonical_form(vit):
    arch = vit.from_dims(12, 216, [3, 4] * 6, [3.5, 4.0] * 6)
    assert arch.startswith('{"depth":12,"embed_dim":216,"heads":[3,4,')
    assert '"mlp_ratio":[3.5,4,3.5' in arch
    parsed = vit.parse(arch)
    assert parsed.depth == 12 and parsed.heads[:2] == (3, 4) and parsed.mlp_ratio[1] == 4.0
    spaced = json.dumps(json.loads(arch), indent=2)
    assert vit.validate(spaced) == arch


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"depth": 11}, "depth must be one of \\(12, 13, 14\\) \\(got 11\\)"),
        ({"embed_dim": 200}, "embed_dim must be one of \\(192, 216, 240\\)"),
        ({"heads": [3] * 11}, "heads must list one value per layer \\(12\\)"),
        ({"mlp_ratio": [4] * 11 + [5]}, "mlp_ratio values must be in \\(3.5, 4.0\\) \\(got 5\\)"),
        ({"extra": 1}, "needs exactly the keys"),
    ],
)
def test_bad_archs_are_rejected_with_a_clear_message(vit, change, message):
    data = {**json.loads(small(vit)), **change}
    with pytest.raises(ValueError, match=message):
        vit.validate(json.dumps(data))


def test_non_json_is_rejected(vit):
    with pytest.raises(ValueError, match="must be JSON like"):
        vit.validate("depth=12")


def test_no_bundled_labels(vit):
    assert vit.label_table().empty and vit.labelled_archs() == []
    with pytest.raises(ValueError, match="no label in the vit table"):
        vit.labels([small(vit)])


def test_sample_and_mutate(vit):
    archs = vit.sample(20, seed=0)
    assert archs == vit.sample(20, seed=0) and len(set(archs)) == 20
    rng = np.random.default_rng(0)
    depths = set()
    for arch in archs:
        child = vit.mutate(arch, rng)
        assert vit.validate(child) == child != arch
        depths.add(vit.parse(child).depth)
    assert depths <= {12, 13, 14}


def test_graphs_one_per_block_padded_to_14(vit):
    arch = vit.from_dims(13, 240, [4] * 13, [3.5] * 13)
    graphs = vit.macro_graphs(arch)
    assert len(graphs) == 13
    assert graphs[0].ops == (
        "embed_240",
        "qkv_h4",
        "attn_proj",
        "attn_add",
        "fc1_r3.5",
        "fc2",
        "output",
    )
    assert graphs[0].adj[0, 3] == 1 and graphs[0].adj[3, 6] == 1  # the two residuals
    chain = vit.encode([arch, small(vit)], "global")
    assert chain.ops.shape == (2, 14, 7) and not chain.mask[0, 13].any()
    assert vit.encode([arch], "cell").ops.shape == (1, 1, 16)


def reference_logits(net, images, arch, kernels, b, space):
    """One arch as a plain ViT at its own sizes, without masks."""
    a = space.parse(arch)
    cmax, hd = net.max_channels, net.head_dim
    e = reduced_embed_dim(a.embed_dim, net.width)

    def weight(c, n, out_ch, in_ch):
        return kernels[1][b, c, n].view(cmax, cmax)[:out_ch, :in_ch]

    def ln(x):
        return F.layer_norm(x, (x.shape[-1],))

    tokens = net.patch_embed(images).flatten(2).transpose(1, 2)[..., :e]  # (M, T, e)
    x = tokens + net.position[0, 0, : tokens.shape[1], :e]
    for c, (h, r) in enumerate(zip(a.heads, a.mlp_ratio, strict=True)):
        w_qkv = weight(c, 1, 3 * 4 * hd, e).view(3, 4, hd, e)[:, :h].reshape(3 * h * hd, e)
        q, k, v = (ln(x) @ w_qkv.T).view(*x.shape[:2], 3, h, hd).unbind(2)
        att = torch.einsum("mthd,mshd->mhts", q, k).div(math.sqrt(hd)).softmax(-1)
        out = torch.einsum("mhts,mshd->mthd", att, v).reshape(*x.shape[:2], h * hd)
        w_proj = weight(c, 2, e, 4 * hd).view(e, 4, hd)[:, :h].reshape(e, h * hd)
        x = x + out @ w_proj.T
        u = round(r * e)
        x = x + F.gelu(ln(x) @ weight(c, 4, u, e).T) @ weight(c, 5, e, u).T
    feats = F.pad(ln(x).mean(dim=1), (0, net.embed_max - e))
    return net.classifier(feats)


def test_batched_target_net_matches_plain_vits(vit):
    archs = [
        vit.from_dims(12, 192, [3, 4] * 6, [3.5, 4] * 6),
        vit.from_dims(14, 240, [4] * 14, [4] * 14),
        vit.from_dims(13, 216, [3] * 13, [3.5] * 13),
    ]
    chain = vit.encode(archs, "global")
    torch.manual_seed(0)
    net = ViTTargetNet(4, 1, 10, vit.op_vocab)
    assert net.max_channels == 48 and net.embed_max == 10
    g = torch.Generator().manual_seed(0)
    kernels = {
        1: torch.randn(3, 14, 7, 48 * 48, generator=g) * 0.3 * (chain.kernel == 1).unsqueeze(-1)
    }
    images = torch.randn(5, 1, 8, 8, generator=g)
    logits = net(images, chain, kernels)
    assert logits.shape == (5, 3, 10) and torch.isfinite(logits).all()
    for b, arch in enumerate(archs):
        ref = reference_logits(net, images, arch, kernels, b, vit)
        torch.testing.assert_close(logits[:, b], ref, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="node 3 with kernel size 1 has no kernel"):
        net.kernel_shape(0, 3, 1)


def test_predictor_trains_on_given_scores(vit):
    archs = vit.sample(4, seed=1)
    config = method_config(
        "hypernas", space="vit", train={"epochs": 1, "device": "cpu", "batch_size": 4}
    )
    predictor = Predictor(config)
    assert predictor.fit(archs, scores=[70.0, 71.0, 72.5, 69.0]).status == "completed"
    assert torch.isfinite(predictor.predict(archs)).all()


def test_a_vit_can_be_labelled_by_real_training(vit):
    config = LabelTrainingConfig(epochs=1, width=2, batch_size=256, device="cpu")
    label = train_arch(vit, small(vit), config, load_aux_dataset("digits"))
    assert 0 <= label.aux_test_acc <= 100 and math.isfinite(label.final_train_loss)
