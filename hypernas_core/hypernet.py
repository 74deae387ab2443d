"""The shared hypernetwork: node embeddings in, the weights of each node's op out.

One MLP trunk is shared by every node of every arch; one linear head per kernel size turns the
trunk's output into a (Cmax, Cmax, k, k) kernel. Nodes whose op has no parameters (pooling, skip,
none, input, output) generate nothing: their rows stay zero, so the target net can mask by op.

Shapes:
    B archs, C graphs, N nodes, D node embedding width, P_k = Cmax * Cmax * k * k.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from hypernas_core.config import HyperNetConfig


class HyperNetHead(nn.Module):
    """Linear map from the trunk's features to the flat kernels of one kernel size."""

    def __init__(self, hidden_dim: int, max_channels: int, kernel_size: int) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.max_channels = max_channels
        self.out_dim = max_channels * max_channels * kernel_size * kernel_size
        self.linear = nn.Linear(hidden_dim, self.out_dim)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # The generated kernels start near Kaiming scale for fan-in Cmax * k * k; the batch norm
        # after every generated conv makes the exact scale harmless.
        fan_in = self.max_channels * self.kernel_size**2
        std = math.sqrt(2.0 / fan_in)
        nn.init.normal_(self.linear.weight, std=std / math.sqrt(self.linear.in_features))
        nn.init.normal_(self.linear.bias, std=std)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(S, hidden) -> (S, P_k)."""
        return self.linear(features)


class HyperNet(nn.Module):
    """Multi-head MLP generating per-node kernels for every kernel size in `kernel_sizes`."""

    def __init__(
        self,
        config: HyperNetConfig,
        embed_dim: int,
        max_channels: int,
        kernel_sizes: tuple[int, ...],
    ) -> None:
        super().__init__()
        self.config = config
        self.max_channels = max_channels
        self.trunk = nn.Sequential(
            nn.Linear(embed_dim, config.hidden_dim),
            nn.ReLU(),
            nn.Linear(config.hidden_dim, config.hidden_dim),
            nn.ReLU(),
        )
        self.heads = nn.ModuleDict(
            {str(k): HyperNetHead(config.hidden_dim, max_channels, k) for k in kernel_sizes}
        )

    @property
    def kernel_sizes(self) -> tuple[int, ...]:
        return tuple(int(k) for k in self.heads)

    def forward(self, nodes: torch.Tensor, kernel: torch.Tensor) -> dict[int, torch.Tensor]:
        """Generates the kernel of every node that needs one.

        Args:
            nodes: (B, C, N, D) node embeddings.
            kernel: (B, C, N) long, kernel size each node's op needs (0: none).

        Returns:
            {k: (B, C, N, P_k)}, zero for nodes whose op is not a k x k conv.
        """
        B, C, N, D = nodes.shape
        # The node embeddings share a large common component, so early in training every node
        # gets nearly the same kernel (README, "Limitations"); the trunk sees them unnormalised.
        features = self.trunk(nodes)  # (B, C, N, hidden)
        out = {}
        for key, head in self.heads.items():
            k = int(key)
            idx = (kernel == k).nonzero(as_tuple=True)  # only nodes whose op is a k x k conv
            flat = features.new_zeros(B, C, N, head.out_dim)  # (B, C, N, P_k)
            flat[idx] = head(features[idx])  # (S, P_k) scattered back to their nodes
            out[k] = flat
        return out

    def extra_repr(self) -> str:
        return f"hidden={self.config.hidden_dim}, max_channels={self.max_channels}, kernels={self.kernel_sizes}"
