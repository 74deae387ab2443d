"""The HyperNAS network: shared encoder, regression head, and optionally the hypernetwork branch.

    chain --encoder--> node embeddings --pool/mean--> global embedding --head--> score
                            |
                            +--hypernet--> kernels --target net(images)--> aux logits

Shapes:
    B archs, C graphs, N nodes, D hidden width, M aux images, K aux classes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from hypernas_core.config import PredictorConfig
from hypernas_core.graph_encoder import ChainEncoder, EncoderOutput
from hypernas_core.hypernet import HyperNet
from hypernas_core.losses import AdaptiveMultiTaskLoss
from hypernas_core.search_space import ChainBatch, SearchSpace
from hypernas_core.target_net import TargetNet

TASKS = ("regression", "aux")  # task order of the multi-task loss


@dataclass
class ModelOutput:
    """Attributes: score (B,) standardised predicted score; encoded: the encoder's output."""

    score: torch.Tensor
    encoded: EncoderOutput


class HyperNASModel(nn.Module):
    """Encoder, regression head, and (when enabled) hypernetwork, target net and loss weights."""

    def __init__(
        self,
        config: PredictorConfig,
        space: SearchSpace,
        aux_in_channels: int = 1,
        aux_num_classes: int = 10,
    ) -> None:
        super().__init__()
        self.config = config
        enc = config.encoder
        self.encoder = ChainEncoder(enc, len(space.op_vocab), space.chain_length(enc.encoding))
        self.head = nn.Sequential(
            nn.Linear(enc.hidden_dim, enc.head_dim), nn.ReLU(), nn.Linear(enc.head_dim, 1)
        )

        self.hypernet: HyperNet | None = None
        self.target_net: TargetNet | None = None
        self.task_loss: AdaptiveMultiTaskLoss | None = None
        if config.hypernet.enabled:
            width = config.hypernet.target_width
            self.target_net = space.build_target_net(width, aux_in_channels, aux_num_classes)
            self.hypernet = HyperNet(
                config.hypernet,
                enc.hidden_dim,
                width * space.max_kernel_channels,
                self.target_net.kernel_sizes_needed(),
            )
            self.task_loss = AdaptiveMultiTaskLoss(TASKS, q=config.train.q)

    @property
    def has_hypernet(self) -> bool:
        return self.hypernet is not None

    def forward(self, chain: ChainBatch) -> ModelOutput:
        """Predicts standardised scores. Shapes: chain (B, C, N) -> score (B,)."""
        encoded = self.encoder(chain)
        score = self.head(encoded.global_embedding).squeeze(-1)  # (B,)
        return ModelOutput(score, encoded)

    def generate(self, chain: ChainBatch, encoded: EncoderOutput) -> dict[int, torch.Tensor]:
        """Kernels for every node of every arch: {k: (B, C, N, P_k)}."""
        if self.hypernet is None:
            raise ValueError("this model has no hypernetwork (its method trains without one)")
        return self.hypernet(encoded.node_embeddings, chain.kernel)

    def aux_logits(
        self, images: torch.Tensor, chain: ChainBatch, encoded: EncoderOutput
    ) -> torch.Tensor:
        """Runs every arch with its generated kernels. Shapes: images (M, Ch, H, W) -> (M, B, K)."""
        if self.target_net is None:
            raise ValueError("this model has no target net (its method trains without one)")
        return self.target_net(images, chain, self.generate(chain, encoded))
