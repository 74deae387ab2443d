import pytest
import torch

from hypernas_core.config import EncoderConfig
from hypernas_core.graph_encoder import BiGCNLayer, ChainEncoder, normalise_adjacency
from tests.conftest import ALL_CONV, ALL_NONE, MIXED


def make_encoder(space, encoding, seed=0, dropout=0.0):
    torch.manual_seed(seed)
    config = EncoderConfig(encoding=encoding, dropout=dropout)
    return ChainEncoder(config, len(space.op_vocab), space.chain_length(encoding))


def test_normalise_adjacency_adds_self_loops_and_rows_sum_to_one():
    adj = torch.tensor([[0.0, 1.0, 1.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    norm = normalise_adjacency(adj)
    expected = torch.tensor([[1 / 3, 1 / 3, 1 / 3], [0.0, 0.5, 0.5], [0.0, 0.0, 1.0]])
    assert torch.allclose(norm, expected)


def test_bigcn_layer_matches_a_hand_computed_reference():
    torch.manual_seed(0)
    layer = BiGCNLayer(4, 3)
    h = torch.randn(1, 3, 4)
    adj = torch.tensor([[[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]]])
    a_fwd, a_bwd = normalise_adjacency(adj.transpose(1, 2)), normalise_adjacency(adj)
    w_f, w_b = layer.linear.weight[:3], layer.linear.weight[3:]
    expected = torch.relu(0.5 * (a_fwd @ h @ w_f.T + a_bwd @ h @ w_b.T) + layer.bias)
    assert torch.allclose(layer(h, a_fwd, a_bwd), expected, atol=1e-6)


@pytest.mark.parametrize(("encoding", "graphs"), [("cell", 1), ("global", 17), ("global-pe", 17)])
def test_output_shapes_and_repr(space, encoding, graphs):
    encoder = make_encoder(space, encoding)
    out = encoder(space.encode([ALL_CONV, MIXED], encoding))
    assert out.global_embedding.shape == (2, 144)
    assert out.graph_embeddings.shape == (2, graphs, 144)
    assert out.node_embeddings.shape == (2, graphs, 8, 144)
    assert torch.isfinite(out.node_embeddings).all()
    assert f"encoding='{encoding}'" in repr(encoder)


def test_padded_nodes_stay_zero_and_do_not_change_the_pooling(space):
    encoder = make_encoder(space, "global").eval()
    chain = space.encode([MIXED], "global")
    out = encoder(chain)
    assert out.node_embeddings[0, 5, 5:].abs().sum() == 0  # reduction graphs have 5 real nodes
    # changing the op ids of padded nodes must not change anything
    chain.ops[0, 5, 5:] = 3
    assert torch.allclose(encoder(chain).global_embedding, out.global_embedding)


def test_global_embedding_is_the_mean_of_graph_embeddings(space):
    out = make_encoder(space, "global").eval()(space.encode([MIXED], "global"))
    assert torch.allclose(out.global_embedding, out.graph_embeddings.mean(dim=1), atol=1e-6)


def test_z_chaining_carries_the_first_cell_into_later_cells(space):
    # two chains that differ only in graph 0: with z-chaining graph 1 sees the difference,
    # with positional encoding the graphs are independent
    for encoding, should_differ in (("global", True), ("global-pe", False)):
        encoder = make_encoder(space, encoding).eval()
        a = space.encode([ALL_CONV], encoding)
        b = space.encode([ALL_CONV], encoding)
        b.ops[0, 0] = space.encode([ALL_NONE], encoding).ops[0, 0]
        g1_a = encoder(a).graph_embeddings[0, 1]
        g1_b = encoder(b).graph_embeddings[0, 1]
        assert (not torch.allclose(g1_a, g1_b)) == should_differ, encoding


def test_cell_positions_differ_under_both_global_encodings(space):
    for encoding in ("global", "global-pe"):
        out = make_encoder(space, encoding).eval()(space.encode([ALL_CONV], encoding))
        # cells 0 and 1 have the same ops; only chaining / position tells them apart
        assert not torch.allclose(out.graph_embeddings[0, 0], out.graph_embeddings[0, 1])


def test_seeded_init_is_deterministic(space):
    chain = space.encode([MIXED], "global")
    a = make_encoder(space, "global", seed=5).eval()(chain).global_embedding
    b = make_encoder(space, "global", seed=5).eval()(chain).global_embedding
    c = make_encoder(space, "global", seed=6).eval()(chain).global_embedding
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("encoding", ["cell", "global", "global-pe"])
def test_gradients_reach_every_parameter(space, encoding):
    encoder = make_encoder(space, encoding, dropout=0.1)
    out = encoder(space.encode([ALL_CONV, MIXED, ALL_NONE], encoding))
    out.global_embedding.square().sum().backward()
    for name, p in encoder.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_too_long_chain_is_rejected(space):
    encoder = make_encoder(space, "cell")
    with pytest.raises(ValueError, match="chain has 17 graphs but the encoder was built for 1"):
        encoder(space.encode([MIXED], "global"))
