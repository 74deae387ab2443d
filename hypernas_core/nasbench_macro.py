"""NAS-Bench-Macro: a chain of 8 searchable layers with 3 choices each (3^8 = 6,561 archs).

An arch is 8 digits over {0, 1, 2}, one per layer: 0 = identity, 1 = MB3_K3 (MobileNetV2 inverted
residual, expansion 3, 3x3 depthwise), 2 = MB6_K5 (expansion 6, 5x5 depthwise). The network
(Su et al., 2021) is a stem conv and 3 stages of 2, 3 and 3 layers; the first layer of every stage
has stride 2 and doubles the channels, so there an identity becomes a 1x1 stride-2 conv with BN.
Then a 1x1 conv, global pooling and a classifier.

There are no cells. The `cell` encoding (the Neural Predictor's) is one path graph
input -> layer 1 -> ... -> layer 8 -> output with the layer choices as ops. The `global` encoding
is one graph per layer, z-chained in network order: an inverted residual is
input -> `mb{3,6}_expand_1x1` -> `dw_{3x3,5x5}` -> `mb_project_1x1` -> output, plus the residual
edge input -> output at stride 1; an identity is input -> output at stride 1 and
input -> `id_downsample_1x1` -> output at stride 2. The stride-2 layers are thus visible in the
graphs themselves.

Shapes:
    B archs, C = 8 graphs (layers), N = 10 nodes per graph (the cell path), M aux images.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from hypernas_core.search_space import (
    ASSETS_DIR,
    CellGraph,
    ChainBatch,
    SearchSpace,
    register_space,
)
from hypernas_core.target_net import TargetNet, batch_norm, grouped_conv, take_kernel

CHOICES = ("identity", "MB3_K3", "MB6_K5")  # digit -> block
NUM_LAYERS = 8
STAGES = (2, 3, 3)  # layers per stage; the first layer of each has stride 2
STRIDE2_LAYERS = tuple(int(i) for i in np.cumsum((0, *STAGES[:-1])))  # (0, 2, 5)
EXPANSION = {"MB3_K3": 3, "MB6_K5": 6}
DEPTHWISE = {"MB3_K3": "dw_3x3", "MB6_K5": "dw_5x5"}
MACRO_DIR = ASSETS_DIR / "nasbench_macro"
LAYER_NODES = 5  # nodes of the largest layer graph (an inverted residual)


def _path_adjacency(n: int) -> np.ndarray:
    adj = np.zeros((n, n), dtype=np.uint8)
    adj[np.arange(n - 1), np.arange(1, n)] = 1
    return adj


def layer_graph(choice: str, stride2: bool) -> CellGraph:
    """The graph of one layer (see the module docstring)."""
    if choice == "identity":
        if stride2:
            return CellGraph(("input", "id_downsample_1x1", "output"), _path_adjacency(3), "layer")
        adj = np.array([[0, 1], [0, 0]], dtype=np.uint8)
        return CellGraph(("input", "output"), adj, "layer")
    ops = ("input", f"mb{EXPANSION[choice]}_expand_1x1", DEPTHWISE[choice], "mb_project_1x1")
    adj = _path_adjacency(5)
    if not stride2:
        adj[0, 4] = 1  # the inverted residual's shortcut
    return CellGraph((*ops, "output"), adj, "layer")


@register_space
class NASBenchMacroSpace(SearchSpace):
    """NAS-Bench-Macro with every arch's real CIFAR-10 test accuracy (3 runs)."""

    name = "nasbench_macro"
    title = "NAS-Bench-Macro"
    op_vocab = (
        "input",
        "output",
        *CHOICES,
        "mb3_expand_1x1",
        "mb6_expand_1x1",
        "dw_3x3",
        "dw_5x5",
        "mb_project_1x1",
        "id_downsample_1x1",
    )
    kernel_sizes = {
        "mb3_expand_1x1": 1,
        "mb6_expand_1x1": 1,
        "dw_3x3": 3,
        "dw_5x5": 5,
        "mb_project_1x1": 1,
        "id_downsample_1x1": 1,
    }
    label_columns = ("test_acc_mean", "test_acc_run1", "test_acc_run2", "test_acc_run3")
    default_label = "test_acc_mean"
    max_nodes = NUM_LAYERS + 2
    choices = CHOICES

    def parse(self, arch: str) -> tuple[str, ...]:
        """Parses 8 digits over {0, 1, 2} into the 8 layer choices.

        Raises:
            ValueError: naming the arch and the rule it breaks.
        """
        if not isinstance(arch, str):
            raise ValueError(
                f"NAS-Bench-Macro arch must be a string of 8 digits 0-2 "
                f"(got {type(arch).__name__} {arch!r})"
            )
        text = arch.strip()
        if len(text) != NUM_LAYERS or set(text) - {"0", "1", "2"}:
            raise ValueError(
                f"NAS-Bench-Macro arch must be {NUM_LAYERS} digits, one per layer, each 0 "
                f"(identity), 1 (MB3_K3) or 2 (MB6_K5) (got {arch!r})"
            )
        return tuple(CHOICES[int(d)] for d in text)

    def format(self, parsed: Sequence[str]) -> str:
        """Builds the digit string from the 8 layer choices."""
        choices = list(parsed)
        if len(choices) != NUM_LAYERS:
            raise ValueError(
                f"NAS-Bench-Macro needs {NUM_LAYERS} layer choices (got {len(choices)})"
            )
        for choice in choices:
            if choice not in CHOICES:
                raise ValueError(
                    f"unknown NAS-Bench-Macro layer {choice!r}; valid: {', '.join(CHOICES)}"
                )
        return "".join(str(CHOICES.index(c)) for c in choices)

    # the set of archs

    @property
    def size(self) -> int:
        return len(CHOICES) ** NUM_LAYERS

    def enumerate(self) -> list[str]:
        """All 6,561 archs in lexicographic order (the order of the bundled table)."""
        return ["".join(d) for d in itertools.product("012", repeat=NUM_LAYERS)]

    def sample(self, n: int, seed: int) -> list[str]:
        if not 0 < n <= self.size:
            raise ValueError(f"n must be in 1..{self.size} for NAS-Bench-Macro (got {n!r})")
        idx = np.random.default_rng(seed).choice(self.size, size=n, replace=False)
        archs = self.enumerate()
        return [archs[i] for i in idx]

    def mutate(self, arch: str, rng: np.random.Generator) -> str:
        """Changes the block of one layer, chosen uniformly, to another block."""
        choices = list(self.parse(arch))
        layer = int(rng.integers(NUM_LAYERS))
        choices[layer] = str(rng.choice([c for c in CHOICES if c != choices[layer]]))
        return self.format(choices)

    # labels

    @functools.cache  # noqa: B019 - one shared instance per process
    def label_table(self) -> pd.DataFrame:
        """arch, layer1..layer8, test_acc_run1..3, test_acc_mean, test_acc_std (%), params, flops."""
        table = pd.read_csv(MACRO_DIR / "nasbench_macro_cifar10.csv.gz", dtype={"arch": str})
        return table.sort_values("arch").reset_index(drop=True)

    # graphs

    def cell_graph(self, arch: str) -> CellGraph:
        choices = self.parse(arch)
        return CellGraph(("input", *choices, "output"), _path_adjacency(NUM_LAYERS + 2), "net")

    def macro_graphs(self, arch: str) -> list[CellGraph]:
        return [
            layer_graph(choice, i in STRIDE2_LAYERS) for i, choice in enumerate(self.parse(arch))
        ]

    def chain_length(self, encoding: str) -> int:
        return 1 if encoding == "cell" else NUM_LAYERS

    def encode(self, archs: Sequence[str], encoding: str) -> ChainBatch:
        """As the base class, but layer graphs are padded to 5 nodes, not the cell path's 10.

        The hypernetwork emits (B, C, N, P_k) kernels, so a smaller N saves memory and time.
        """
        if encoding == "cell":
            return self._stack([[self.cell_graph(a)] for a in archs])
        return self._stack([self.macro_graphs(a) for a in archs], nodes=LAYER_NODES)

    # target network

    @property
    def max_kernel_channels(self) -> int:
        return 6 * 2  # the widest kernel: expansion 6 of the last stage (2C channels)

    def build_target_net(self, width: int, in_channels: int, num_classes: int) -> TargetNet:
        return MacroTargetNet(width, in_channels, num_classes, self.op_vocab)


class MacroTargetNet(TargetNet):
    """The NAS-Bench-Macro network at stage widths C/2, C, 2C (the benchmark uses 64, 128, 256).

    The widths are half those of the other spaces at the same C because the hypernetwork emits a
    (Cmax, Cmax, k, k) kernel per node and an expansion of 6 makes Cmax = 12C here. The stem
    (C/4 channels, at least 1) and the classifier are shared learned parameters; every
    kernel of the 8 layers is generated. All archs of a batch run the inverted residual at the
    widest expansion of the layer (6x): an MB3_K3 arch's expansion kernel keeps only its first 3x
    output channels (the rest are zeroed), and its 3x3 depthwise kernel sits at the centre of a 5x5
    one, which gives exactly the MB3_K3 block. Each arch then keeps the branch it chose (inverted
    residual or identity) by a 0/1 mask. Unlike the benchmark there is no 1x1 conv to 1280 channels
    before pooling; BN-ReLU comes instead.
    """

    def __init__(
        self, width: int, in_channels: int, num_classes: int, op_vocab: Sequence[str]
    ) -> None:
        super().__init__(width, 6 * 2 * width, in_channels, num_classes)
        self.stage_channels = (max(1, width // 2), width, 2 * width)
        self.op_index = {op: i for i, op in enumerate(op_vocab)}
        self.stem_channels = max(1, self.stage_channels[0] // 2)
        self.stem = nn.Conv2d(in_channels, self.stem_channels, 3, padding=1, bias=False)
        self.classifier = nn.Linear(2 * width, num_classes)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.kaiming_normal_(self.stem.weight, nonlinearity="relu")
        self.classifier.reset_parameters()

    def kernel_sizes_needed(self) -> tuple[int, ...]:
        return (1, 3, 5)

    def _channels(self, layer: int) -> tuple[int, int]:
        """(in, out) channels of layer `layer`."""
        stage = sum(layer >= s for s in STRIDE2_LAYERS) - 1
        out = self.stage_channels[stage]
        if layer == 0:
            return self.stem_channels, out
        return (self.stage_channels[stage - 1] if layer in STRIDE2_LAYERS else out), out

    def kernel_shape(self, graph: int, node: int, kernel_size: int) -> tuple[int, int, int, int]:
        if not 0 <= graph < NUM_LAYERS:
            raise ValueError(
                f"graph must be in 0..{NUM_LAYERS - 1} for NAS-Bench-Macro (got {graph!r})"
            )
        c_in, c_out = self._channels(graph)
        k = kernel_size
        if node == 1 and k == 1:  # the expansion (width from the op) or the identity's downsample
            return (6 * c_in, c_in, 1, 1)
        if node == 2 and k in (3, 5):
            return (6 * c_in, 1, k, k)
        if node == 3 and k == 1:
            return (c_out, 6 * c_in, 1, 1)
        raise ValueError(
            f"node {node} with kernel size {k} has no kernel in a NAS-Bench-Macro layer; valid: "
            "node 1 (k=1), node 2 (k=3 or 5), node 3 (k=1)"
        )

    def forward(
        self, images: torch.Tensor, chain: ChainBatch, kernels: dict[int, torch.Tensor]
    ) -> torch.Tensor:
        """Runs every arch of `chain` on `images`.

        Args:
            images: (M, in_channels, H, W).
            chain: the archs, encoded with the global layout (C = 8).
            kernels: generated weights {1: (B, C, N, P_1), 3: (B, C, N, P_3), 5: (B, C, N, P_5)}.

        Returns:
            (M, B, K) logits.
        """
        M = images.shape[0]
        B, C, N = chain.ops.shape
        if C != NUM_LAYERS:
            raise ValueError(
                f"the NAS-Bench-Macro target net needs the global chain of {NUM_LAYERS} graphs "
                f"(got {C})"
            )
        k1 = [g.unbind(1) for g in kernels[1].unbind(1)]  # [c][n]: (B, P_1)
        k3 = [g.unbind(1) for g in kernels[3].unbind(1)]  # [c][n]: (B, P_3)
        k5 = [g.unbind(1) for g in kernels[5].unbind(1)]  # [c][n]: (B, P_5)
        expand = chain.ops[:, :, 1]  # (B, C): the op at node 1 says which block a layer is
        mb3 = (expand == self.op_index["mb3_expand_1x1"]).to(images.dtype)  # (B, C)
        mb6 = (expand == self.op_index["mb6_expand_1x1"]).to(images.dtype)  # (B, C)

        x = F.relu(batch_norm(self.stem(images).unsqueeze(1)))  # (M, 1, S, H, W)
        x = x.expand(M, B, *x.shape[2:])  # (M, B, S, H, W): one copy per arch
        for c in range(NUM_LAYERS):
            x = self._layer(x, c, k1[c], k3[c], k5[c], mb3[:, c], mb6[:, c])
        x = F.relu(batch_norm(x)).mean(dim=(-2, -1))  # (M, B, 2C)
        return self.classifier(x)  # (M, B, K)

    def _layer(
        self,
        x: torch.Tensor,
        c: int,
        k1: Sequence[torch.Tensor],
        k3: Sequence[torch.Tensor],
        k5: Sequence[torch.Tensor],
        mb3: torch.Tensor,
        mb6: torch.Tensor,
    ) -> torch.Tensor:
        """Layer `c` for every arch: x (M, B, Ci, H, W) -> (M, B, Co, H', W').

        Args:
            k1, k3, k5: per node, the (B, P_k) generated weights.
            mb3, mb6: (B,) 1.0 where the arch chose MB3_K3 / MB6_K5 at this layer.
        """
        c_in, c_out = self._channels(c)
        stride = 2 if c in STRIDE2_LAYERS else 1
        hidden = 6 * c_in
        is_mb = (mb3 + mb6).view(1, -1, 1, 1, 1)  # (1, B, 1, 1, 1)

        # inverted residual at expansion 6; MB3 archs keep the first 3 * c_in expanded channels
        keep = torch.ones(len(mb3), hidden, device=x.device, dtype=x.dtype)  # (B, 6 Ci)
        keep[:, 3 * c_in :] = 1.0 - mb3.unsqueeze(1)
        w_expand = take_kernel(k1[1], self.max_channels, hidden, c_in, 1) * keep.view(
            -1, hidden, 1, 1, 1
        )  # (B, 6 Ci, Ci, 1, 1)
        w_dw = take_kernel(k5[2], self.max_channels, hidden, 1, 5) + F.pad(
            take_kernel(k3[2], self.max_channels, hidden, 1, 3), (1, 1, 1, 1)
        )  # (B, 6 Ci, 1, 5, 5)
        w_project = take_kernel(k1[3], self.max_channels, c_out, hidden, 1)
        h = F.relu(batch_norm(grouped_conv(x, w_expand)))
        h = F.relu(batch_norm(_depthwise_conv(h, w_dw, stride)))
        h = batch_norm(grouped_conv(h, w_project))  # (M, B, Co, H', W')

        if stride == 1:
            return x + is_mb * h  # the shortcut of the inverted residual, or the identity
        w_down = take_kernel(k1[1], self.max_channels, c_out, c_in, 1)
        down = batch_norm(grouped_conv(x, w_down, stride=2))
        return is_mb * h + (1.0 - is_mb) * down


def _depthwise_conv(x: torch.Tensor, weight: torch.Tensor, stride: int) -> torch.Tensor:
    """Per-arch depthwise convolution with 'same' padding.

    Args:
        x: (M, B, Ch, H, W).
        weight: (B, Ch, 1, k, k).

    Returns:
        (M, B, Ch, H', W').
    """
    M, B, Ch, H, W = x.shape
    k = weight.shape[-1]
    y = F.conv2d(
        x.reshape(M, B * Ch, H, W),  # (M, B*Ch, H, W): every channel of every arch its own group
        weight.reshape(B * Ch, 1, k, k),
        stride=stride,
        padding=k // 2,
        groups=B * Ch,
    )
    return y.view(M, B, Ch, y.shape[-2], y.shape[-1])
