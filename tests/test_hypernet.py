import torch

from hypernas_core.config import HyperNetConfig
from hypernas_core.hypernet import HyperNet
from tests.conftest import ALL_NONE, MIXED


def make_hypernet(seed=0):
    torch.manual_seed(seed)
    return HyperNet(HyperNetConfig(hidden_dim=16), embed_dim=8, max_channels=4, kernel_sizes=(1, 3))


def test_shapes_and_zero_rows_for_parameter_free_ops(space):
    chain = space.encode([MIXED, ALL_NONE], "global")
    nodes = torch.randn(2, 17, 8, 8)
    out = make_hypernet()(nodes, chain.kernel)
    assert set(out) == {1, 3}
    assert out[1].shape == (2, 17, 8, 4 * 4) and out[3].shape == (2, 17, 8, 4 * 4 * 9)
    is3 = chain.kernel == 3
    assert (out[3][is3].abs().sum(-1) > 0).all()
    assert out[3][~is3].abs().sum() == 0
    assert out[1][chain.kernel != 1].abs().sum() == 0
    # an all-none arch only needs kernels in its reduction blocks
    assert out[3][1, 0].abs().sum() == 0 and out[3][1, 5].abs().sum() > 0


def test_same_embedding_gives_same_kernel():
    hypernet = make_hypernet()
    nodes = torch.randn(1, 1, 2, 8).expand(1, 2, 2, 8)  # graph 1 repeats graph 0
    kernel = torch.tensor([[[3, 1], [3, 1]]])
    out = hypernet(nodes, kernel)
    assert torch.equal(out[3][0, 0, 0], out[3][0, 1, 0])


def test_gradients_reach_trunk_heads_and_embeddings():
    hypernet = make_hypernet()
    nodes = torch.randn(1, 2, 3, 8, requires_grad=True)
    kernel = torch.tensor([[[3, 1, 0], [0, 3, 1]]])
    out = hypernet(nodes, kernel)
    (out[1].sum() + out[3].square().sum()).backward()
    assert nodes.grad[0, 0, 0].abs().sum() > 0 and nodes.grad[0, 0, 2].abs().sum() == 0
    for name, p in hypernet.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert "kernels=(1, 3)" in repr(hypernet)
