"""The bidirectional GCN of the Neural Predictor and the three chain encodings.

Encodings:
    cell: the searched cell alone (C = 1), as in the Neural Predictor.
    global: the macro chain; the node features of graph c are offset by z_{c-1}, the pooled
        embedding of graph c-1 (z_0 = 0), and the global embedding is the mean of all z_c.
    global-pe: the macro chain without chaining; graph c gets a learned position embedding
        instead (the ablation of z-chaining).

Shapes:
    B archs, C graphs in the chain, N nodes per graph, F = |op vocabulary|, D hidden width.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from hypernas_core.config import EncoderConfig
from hypernas_core.search_space import ChainBatch


def normalise_adjacency(adj: torch.Tensor) -> torch.Tensor:
    """Adds self-loops and row-normalises: D^-1 (A + I).

    Args:
        adj: (..., N, N) 0/1 adjacency.

    Returns:
        (..., N, N) with rows summing to 1.
    """
    N = adj.shape[-1]
    eye = torch.eye(N, device=adj.device, dtype=adj.dtype)
    with_loops = adj + eye  # (..., N, N)
    return with_loops / with_loops.sum(dim=-1, keepdim=True)


class BiGCNLayer(nn.Module):
    """One bidirectional graph convolution: messages along edges and against them, averaged.

    h' = ReLU( (A_fwd h W_f + A_bwd h W_b) / 2 + b ), with A_fwd / A_bwd the normalised adjacency
    of predecessors / successors (self-loops included). W_f and W_b are one (D_in, 2 D_out) matmul.
    """

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.out_dim = out_dim
        self.linear = nn.Linear(in_dim, 2 * out_dim, bias=False)  # [W_f | W_b]
        self.bias = nn.Parameter(torch.empty(out_dim))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # Xavier init of W_f and W_b separately (each is D_in x D_out)
        bound = (6.0 / (self.linear.in_features + self.out_dim)) ** 0.5
        nn.init.uniform_(self.linear.weight, -bound, bound)
        nn.init.zeros_(self.bias)

    def forward(self, h: torch.Tensor, a_fwd: torch.Tensor, a_bwd: torch.Tensor) -> torch.Tensor:
        """Args: h (B, N, D_in); a_fwd, a_bwd (B, N, N) normalised. Returns (B, N, D_out)."""
        fwd, bwd = self.linear(h).split(self.out_dim, dim=-1)  # 2 x (B, N, D_out)
        # node i gathers from its predecessors (fwd) and from its successors (bwd)
        return F.relu(0.5 * (a_fwd @ fwd + a_bwd @ bwd) + self.bias)


@dataclass
class EncoderOutput:
    """What the encoder returns.

    Attributes:
        global_embedding: (B, D) mean of the graph embeddings.
        graph_embeddings: (B, C, D) pooled embedding z_c of every graph.
        node_embeddings: (B, C, N, D) final node embeddings (zero where padded).
    """

    global_embedding: torch.Tensor
    graph_embeddings: torch.Tensor
    node_embeddings: torch.Tensor

    def head(self, k: int) -> EncoderOutput:
        """The first `k` archs of the batch."""
        return EncoderOutput(
            self.global_embedding[:k], self.graph_embeddings[:k], self.node_embeddings[:k]
        )


class ChainEncoder(nn.Module):
    """Encodes chains of op-on-node graphs with a shared bidirectional GCN."""

    def __init__(self, config: EncoderConfig, num_ops: int, max_graphs: int) -> None:
        super().__init__()
        self.config = config
        self.num_ops = num_ops
        self.max_graphs = max_graphs
        D = config.hidden_dim
        self.op_embedding = nn.Linear(num_ops, D)  # one-hot op features -> D
        self.position_embedding = (
            nn.Embedding(max_graphs, D) if config.encoding == "global-pe" else None
        )
        self.layers = nn.ModuleList(BiGCNLayer(D, D) for _ in range(config.num_layers))
        self.dropout = nn.Dropout(config.dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.op_embedding.reset_parameters()
        if self.position_embedding is not None:
            nn.init.normal_(self.position_embedding.weight, std=0.1)

    def _gcn(
        self, x: torch.Tensor, a_fwd: torch.Tensor, a_bwd: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """Runs the GCN stack on one graph per arch.

        Args:
            x: (B, N, D) input node features. a_fwd, a_bwd: (B, N, N) normalised adjacencies.
            mask: (B, N) bool.

        Returns:
            (B, N, D) node embeddings, zero at padded nodes.
        """
        keep = mask.unsqueeze(-1).to(x.dtype)  # (B, N, 1)
        h = x * keep
        for layer in self.layers:
            h = self.dropout(layer(h, a_fwd, a_bwd)) * keep
        return h

    @staticmethod
    def _pool(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Mean over real nodes: (B, N, D), (B, N) -> (B, D)."""
        keep = mask.unsqueeze(-1).to(h.dtype)  # (B, N, 1)
        return (h * keep).sum(dim=1) / keep.sum(dim=1).clamp(min=1.0)

    def forward(self, chain: ChainBatch) -> EncoderOutput:
        """Encodes a batch of chains.

        Shapes:
            chain.ops (B, C, N) -> global (B, D), graphs (B, C, D), nodes (B, C, N, D).
        """
        B, C, N = chain.ops.shape
        if C > self.max_graphs:
            raise ValueError(
                f"chain has {C} graphs but the encoder was built for {self.max_graphs}"
            )
        x = self.op_embedding(F.one_hot(chain.ops, self.num_ops).float())  # (B, C, N, D)
        a_fwd = normalise_adjacency(chain.adj.transpose(-1, -2))  # (B, C, N, N) predecessors
        a_bwd = normalise_adjacency(chain.adj)  # (B, C, N, N) successors

        if self.config.encoding == "global":
            # z-chaining: graph c sees the pooled embedding of graph c-1, z_0 = 0
            z = x.new_zeros(B, x.shape[-1])  # (B, D)
            nodes, graphs = [], []
            for c in range(C):
                h = self._gcn(x[:, c] + z.unsqueeze(1), a_fwd[:, c], a_bwd[:, c], chain.mask[:, c])
                z = self._pool(h, chain.mask[:, c])
                nodes.append(h)
                graphs.append(z)
            node_emb = torch.stack(nodes, dim=1)  # (B, C, N, D)
            graph_emb = torch.stack(graphs, dim=1)  # (B, C, D)
        else:
            # graphs are independent, so run them all as one batch of B*C graphs
            if self.position_embedding is not None:
                pos = self.position_embedding(torch.arange(C, device=x.device))  # (C, D)
                x = x + pos.view(1, C, 1, -1)  # (B, C, N, D)
            h = self._gcn(
                x.reshape(B * C, N, -1),  # (B*C, N, D)
                a_fwd.reshape(B * C, N, N),
                a_bwd.reshape(B * C, N, N),
                chain.mask.reshape(B * C, N),
            )
            node_emb = h.view(B, C, N, -1)  # (B, C, N, D)
            graph_emb = self._pool(h, chain.mask.reshape(B * C, N)).view(B, C, -1)  # (B, C, D)

        return EncoderOutput(graph_emb.mean(dim=1), graph_emb, node_emb)

    def extra_repr(self) -> str:
        c = self.config
        return (
            f"encoding={c.encoding!r}, ops={self.num_ops}, D={c.hidden_dim}, layers={c.num_layers}"
        )
