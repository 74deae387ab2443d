"""TransNAS-Bench-101: a micro (cell) space and a macro (skeleton) space, 7 tasks as labels.

Both spaces carry the final-epoch validation metric of every arch on 7 tasks (scene and object
classification, jigsaw, room layout, semantic segmentation, surface normals, autoencoding), so any
task can be the label and few-shot transfer across tasks can be studied on identical archs.

Micro (`tnb101_micro`, 4,096 archs): the official string `64-41414-a_bc_def` fixes the skeleton
(5 modules of types 4, 1, 4, 1, 4, each 2 cells) and searches an NB201-like cell of 4 nodes whose 6
edges carry 0 = none, 1 = skip_connect, 2 = nor_conv_1x1 or 3 = nor_conv_3x3 (edge order 0->1,
0->2, 1->2, 0->3, 1->3, 2->3, as in NB201). The cell becomes the same 8-node op-on-node DAG as
NB201's.

Macro (`tnb101_macro`, 3,256 archs): the string `64-<modules>-basic` lists 4 to 6 modules of 2
ResNet basic blocks each; a module of type 1 keeps the shape, 2 doubles the channels, 3 halves the
resolution (stride 2), 4 does both (TNB-101's `MacroNet`: channels double for even types, stride 2
for types above 2). Valid skeletons have 1 to 4 downsampling and 1 to 3 channel-doubling modules,
which gives exactly the 3,256 benchmark archs.

Shapes:
    B archs, C graphs (13 for micro; 8 to 12 blocks for macro, padded to 12), N nodes per graph.
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

from hypernas_core.nb201 import CELL_ADJ, EDGES, REDUCTION_ADJ, REDUCTION_OPS, NB201TargetNet
from hypernas_core.search_space import (
    ASSETS_DIR,
    CellGraph,
    ChainBatch,
    SearchSpace,
    register_space,
)
from hypernas_core.target_net import (
    ConvStemTargetNet,
    TargetNet,
    batch_norm,
    grouped_conv,
    spatial_op,
    take_kernel,
)

TNB_DIR = ASSETS_DIR / "transnas101"
TASK_COLUMNS = (
    "val_class_scene__valid_top1",
    "val_class_object__valid_top1",
    "val_jigsaw__valid_top1",
    "val_room_layout__valid_neg_loss",
    "val_segmentsemantic__valid_acc",
    "val_normal__valid_ssim",
    "val_autoencoder__valid_ssim",
)
MICRO_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3")  # digit -> op
MICRO_SKELETON = "41414"
# chain of the micro skeleton: a module that downsamples starts with a residual reduction block
MICRO_LAYOUT = tuple(
    kind
    for module in MICRO_SKELETON
    for kind in (("reduction",) if module == "4" else ()) + ("cell", "cell")
)
MACRO_MODULES = ("1", "2", "3", "4")
MAX_MODULES = 6
BLOCK_OPS = {
    "1": "res_conv_a",
    "2": "res_conv_a_x2",
    "3": "res_conv_a_s2",
    "4": "res_conv_a_s2x2",
}  # op of a module's first conv; the second block of a module is plain


def _table(file: str) -> pd.DataFrame:
    raw = pd.read_csv(TNB_DIR / file, dtype={"naslib_op_indices": str})
    return raw.rename(columns={"arch_str": "arch"})


@register_space
class TNB101MicroSpace(SearchSpace):
    """TransNAS-Bench-101 micro: a 4-op cell in a fixed skeleton, 7 task labels."""

    name = "tnb101_micro"
    title = "TransNAS-Bench-101 micro"
    op_vocab = ("input", "output", *MICRO_OPS, *REDUCTION_OPS[1:4])
    kernel_sizes = {
        "nor_conv_1x1": 1,
        "nor_conv_3x3": 3,
        "res_conv_a": 3,
        "res_conv_b": 3,
        "res_shortcut": 1,
    }
    label_columns = TASK_COLUMNS
    default_label = "val_class_scene__valid_top1"
    max_nodes = 8

    def parse(self, arch: str) -> tuple[str, ...]:
        """Parses `64-41414-a_bc_def` into the 6 edge ops (NB201 edge order).

        Raises:
            ValueError: naming the arch and the rule it breaks.
        """
        if not isinstance(arch, str):
            raise ValueError(
                f"TNB-101 micro arch must be a string (got {type(arch).__name__} {arch!r})"
            )
        parts = arch.strip().split("-")
        if len(parts) != 3 or parts[:2] != ["64", MICRO_SKELETON]:
            raise ValueError(
                f"TNB-101 micro arch must look like '64-{MICRO_SKELETON}-a_bc_def' (got {arch!r})"
            )
        groups = parts[2].split("_")
        if [len(g) for g in groups] != [1, 2, 3] or set(parts[2]) - set("0123_"):
            raise ValueError(
                "TNB-101 micro cell must be 'a_bc_def' with digits 0 (none), 1 (skip_connect), "
                f"2 (nor_conv_1x1), 3 (nor_conv_3x3) (got {parts[2]!r} in {arch!r})"
            )
        return tuple(MICRO_OPS[int(d)] for d in "".join(groups))

    def format(self, parsed: Sequence[str]) -> str:
        ops = list(parsed)
        if len(ops) != len(EDGES) or any(op not in MICRO_OPS for op in ops):
            raise ValueError(
                f"TNB-101 micro needs 6 edge ops from {', '.join(MICRO_OPS)} (got {ops!r})"
            )
        d = "".join(str(MICRO_OPS.index(op)) for op in ops)
        return f"64-{MICRO_SKELETON}-{d[0]}_{d[1:3]}_{d[3:]}"

    @property
    def size(self) -> int:
        return len(MICRO_OPS) ** len(EDGES)

    def enumerate(self) -> list[str]:
        """All 4,096 archs in the order of the bundled table (digit order)."""
        return [self.format(p) for p in itertools.product(MICRO_OPS, repeat=len(EDGES))]

    def sample(self, n: int, seed: int) -> list[str]:
        if not 0 < n <= self.size:
            raise ValueError(f"n must be in 1..{self.size} for TNB-101 micro (got {n!r})")
        archs = self.enumerate()
        return [archs[i] for i in np.random.default_rng(seed).choice(self.size, n, replace=False)]

    def mutate(self, arch: str, rng: np.random.Generator) -> str:
        """Changes the op of one edge to another op."""
        ops = list(self.parse(arch))
        edge = int(rng.integers(len(ops)))
        ops[edge] = str(rng.choice([op for op in MICRO_OPS if op != ops[edge]]))
        return self.format(ops)

    @functools.cache  # noqa: B019 - one shared instance per process
    def label_table(self) -> pd.DataFrame:
        """arch (official string), naslib_op_indices and the 7 task metrics."""
        return _table("tnb101_micro.csv.gz")

    def cell_graph(self, arch: str) -> CellGraph:
        return CellGraph(("input", *self.parse(arch), "output"), CELL_ADJ.copy(), "cell")

    def macro_graphs(self, arch: str) -> list[CellGraph]:
        cell = self.cell_graph(arch)
        reduction = CellGraph(REDUCTION_OPS, REDUCTION_ADJ.copy(), "reduction")
        return [cell if kind == "cell" else reduction for kind in MICRO_LAYOUT]

    def chain_length(self, encoding: str) -> int:
        return 1 if encoding == "cell" else len(MICRO_LAYOUT)

    @property
    def max_kernel_channels(self) -> int:
        return 8  # three channel doublings

    def build_target_net(self, width: int, in_channels: int, num_classes: int) -> TargetNet:
        return TNBMicroTargetNet(width, in_channels, num_classes, self.op_vocab)


class TNBMicroTargetNet(NB201TargetNet):
    """The micro skeleton 41414 at width C: NB201 cells and residual reduction blocks.

    TNB-101 changes stride and channels inside the first cell of a downsampling module (on the
    edges leaving the cell input); here, as in NB201, a residual reduction block before the
    module's two cells does it (documented in docs/spaces.md). Cells and reduction blocks are
    NB201TargetNet's; only the layout differs (13 graphs, 3 reductions, widths C to 8C).
    """

    def __init__(
        self, width: int, in_channels: int, num_classes: int, op_vocab: Sequence[str]
    ) -> None:
        super().__init__(width, in_channels, num_classes, op_vocab)
        # NOTE: three reductions instead of NB201's two: widen the kernels and the classifier
        self.max_channels = 8 * width
        self.classifier = nn.Linear(8 * width, num_classes)
        self.reset_parameters()

    def kernel_shape(self, graph: int, node: int, kernel_size: int) -> tuple[int, int, int, int]:
        if not 0 <= graph < len(MICRO_LAYOUT):
            raise ValueError(
                f"graph must be in 0..{len(MICRO_LAYOUT) - 1} for TNB-101 micro (got {graph!r})"
            )
        channels = self.width * 2 ** MICRO_LAYOUT[:graph].count("reduction")
        if MICRO_LAYOUT[graph] == "cell":
            return (channels, channels, kernel_size, kernel_size)
        shapes = {1: (2 * channels, channels, 3, 3), 2: (2 * channels, 2 * channels, 3, 3)}
        shapes[3] = (2 * channels, channels, 1, 1)
        if node not in shapes:
            raise ValueError(f"node {node} of a reduction block has no kernel; valid: 1, 2, 3")
        return shapes[node]

    def forward(
        self, images: torch.Tensor, chain: ChainBatch, kernels: dict[int, torch.Tensor]
    ) -> torch.Tensor:
        """images (M, Ci, H, W), chain (B, 13, 8), kernels {1, 3: (B, C, N, P_k)} -> (M, B, K)."""
        M = images.shape[0]
        B, C, N = chain.ops.shape
        if C != len(MICRO_LAYOUT):
            raise ValueError(
                f"the TNB-101 micro target net needs the global chain of {len(MICRO_LAYOUT)} "
                f"graphs (got {C})"
            )
        k1 = [g.unbind(1) for g in kernels[1].unbind(1)]  # [c][n]: (B, P_1)
        k3 = [g.unbind(1) for g in kernels[3].unbind(1)]  # [c][n]: (B, P_3)
        skip = (chain.ops == self.op_index["skip_connect"]).to(images.dtype)  # (B, C, N)
        no_pool = torch.zeros_like(skip)  # the micro space has no pooling op

        x = batch_norm(self.stem(images).unsqueeze(1))  # (M, 1, W, H, W)
        x = x.expand(M, B, *x.shape[2:])  # (M, B, W, H, W)
        channels = self.width
        for c, kind in enumerate(MICRO_LAYOUT):
            if kind == "cell":
                x = self._cell(x, k1[c], k3[c], skip[:, c], no_pool[:, c], channels)
            else:
                x = self._reduction(x, k1[c], k3[c], channels)
                channels *= 2
        x = F.relu(batch_norm(x)).mean(dim=(-2, -1))  # (M, B, 8W)
        return self.classifier(x)  # (M, B, K)


def _block_graph(op_a: str, shortcut: str) -> CellGraph:
    """A ResNet basic block: input -> conv_a -> conv_b -> output, input -> shortcut -> output."""
    return CellGraph(
        ("input", op_a, "res_conv_b", shortcut, "output"), REDUCTION_ADJ.copy(), "block"
    )


@register_space
class TNB101MacroSpace(SearchSpace):
    """TransNAS-Bench-101 macro: 4 to 6 modules of ResNet basic blocks, 7 task labels."""

    name = "tnb101_macro"
    title = "TransNAS-Bench-101 macro"
    op_vocab = (
        "input",
        "output",
        *(f"module_{m}" for m in MACRO_MODULES),
        *BLOCK_OPS.values(),
        "res_conv_b",
        "res_shortcut",
        "skip_connect",
    )
    kernel_sizes = {**{op: 3 for op in BLOCK_OPS.values()}, "res_conv_b": 3, "res_shortcut": 1}
    label_columns = TASK_COLUMNS
    default_label = "val_class_scene__valid_top1"
    max_nodes = MAX_MODULES + 2

    def parse(self, arch: str) -> str:
        """Parses `64-<modules>-basic` into the module digits.

        Raises:
            ValueError: naming the arch and the rule it breaks.
        """
        if not isinstance(arch, str):
            raise ValueError(
                f"TNB-101 macro arch must be a string (got {type(arch).__name__} {arch!r})"
            )
        parts = arch.strip().split("-")
        if len(parts) != 3 or parts[0] != "64" or parts[2] != "basic":
            raise ValueError(
                f"TNB-101 macro arch must look like '64-<4 to 6 digits 1-4>-basic' (got {arch!r})"
            )
        modules = parts[1]
        if not 4 <= len(modules) <= MAX_MODULES or set(modules) - set(MACRO_MODULES):
            raise ValueError(
                "TNB-101 macro needs 4 to 6 modules, each 1 (keep), 2 (double channels), "
                f"3 (stride 2) or 4 (both) (got {modules!r} in {arch!r})"
            )
        down = sum(m in "34" for m in modules)
        wide = sum(m in "24" for m in modules)
        if not (1 <= down <= 4 and 1 <= wide <= 3):
            raise ValueError(
                "TNB-101 macro needs 1 to 4 downsampling modules (3, 4) and 1 to 3 "
                f"channel-doubling modules (2, 4) (got {down} and {wide} in {arch!r})"
            )
        return modules

    def format(self, parsed: str) -> str:
        """The official string of the module digits, checked."""
        arch = f"64-{parsed}-basic"
        self.parse(arch)
        return arch

    @property
    def size(self) -> int:
        return len(self.enumerate())

    @functools.cache  # noqa: B019 - one shared instance per process
    def enumerate(self) -> list[str]:
        """All 3,256 valid skeletons, shorter first, then in digit order."""
        archs = []
        for n in range(4, MAX_MODULES + 1):
            for digits in itertools.product(MACRO_MODULES, repeat=n):
                try:
                    archs.append(self.format(self.parse(f"64-{''.join(digits)}-basic")))
                except ValueError:
                    continue
        return archs

    def sample(self, n: int, seed: int) -> list[str]:
        if not 0 < n <= self.size:
            raise ValueError(f"n must be in 1..{self.size} for TNB-101 macro (got {n!r})")
        archs = self.enumerate()
        return [archs[i] for i in np.random.default_rng(seed).choice(self.size, n, replace=False)]

    def mutate(self, arch: str, rng: np.random.Generator) -> str:
        """Changes, inserts or deletes one module; redraws until the skeleton is valid."""
        modules = self.parse(arch)
        for _ in range(1000):
            i = int(rng.integers(len(modules) + 1))
            kind = rng.choice(["change", "insert", "delete"])
            if kind == "change" and i < len(modules):
                child = modules[:i] + str(rng.choice(MACRO_MODULES)) + modules[i + 1 :]
            elif kind == "insert":
                child = modules[:i] + str(rng.choice(MACRO_MODULES)) + modules[i:]
            else:
                child = modules[:i] + modules[i + 1 :]
            try:
                child = self.parse(f"64-{child}-basic")
            except ValueError:
                continue
            if child != modules:
                return self.format(child)
        raise ValueError(f"found no mutation of TNB-101 macro arch {arch!r}")  # pragma: no cover

    @functools.cache  # noqa: B019 - one shared instance per process
    def label_table(self) -> pd.DataFrame:
        """arch (official string), naslib_op_indices and the 7 task metrics."""
        return _table("tnb101_macro.csv.gz")

    def cell_graph(self, arch: str) -> CellGraph:
        """The skeleton as a path graph: input -> module -> ... -> output."""
        modules = self.parse(arch)
        n = len(modules) + 2
        adj = np.zeros((n, n), dtype=np.uint8)
        adj[np.arange(n - 1), np.arange(1, n)] = 1
        return CellGraph(("input", *(f"module_{m}" for m in modules), "output"), adj, "net")

    def macro_graphs(self, arch: str) -> list[CellGraph]:
        """Two block graphs per module; the first carries the module's stride and widening."""
        graphs = []
        for m in self.parse(arch):
            graphs.append(
                _block_graph(BLOCK_OPS[m], "skip_connect" if m == "1" else "res_shortcut")
            )
            graphs.append(_block_graph("res_conv_a", "skip_connect"))
        return graphs

    def chain_length(self, encoding: str) -> int:
        return 1 if encoding == "cell" else 2 * MAX_MODULES

    def encode(self, archs: Sequence[str], encoding: str) -> ChainBatch:
        """As the base class; chains are padded to 12 blocks (empty graphs at the end) and block
        graphs to 5 nodes."""
        if encoding == "cell":
            return self._stack([[self.cell_graph(a)] for a in archs])
        batch = self._stack([self.macro_graphs(a) for a in archs], nodes=len(REDUCTION_OPS))
        C = batch.ops.shape[1]
        if C < 2 * MAX_MODULES:  # pad to the longest chain of the space, not of this batch
            pad = 2 * MAX_MODULES - C
            batch = ChainBatch(
                F.pad(batch.ops, (0, 0, 0, pad)),
                F.pad(batch.adj, (0, 0, 0, 0, 0, pad)),
                F.pad(batch.mask, (0, 0, 0, pad)),
                F.pad(batch.kernel, (0, 0, 0, pad)),
            )
        return batch

    @property
    def max_kernel_channels(self) -> int:
        return 8  # at most three channel doublings

    def build_target_net(self, width: int, in_channels: int, num_classes: int) -> TargetNet:
        return TNBMacroTargetNet(width, in_channels, num_classes, self.op_vocab)


class TNBMacroTargetNet(ConvStemTargetNet):
    """The macro skeleton at base width C: ResNet basic blocks with generated kernels.

    A block is ReLU-conv3x3(stride)-BN, ReLU-conv3x3-BN, plus a shortcut: identity when the shape
    is kept, else (NB201's ResNetBasicblock) 2x2 average pooling when striding and a generated 1x1
    conv. Archs of a batch differ in shape along the network, so the batch runs in groups of archs
    with the same skeleton; the logits are put back in batch order.
    """

    def __init__(
        self, width: int, in_channels: int, num_classes: int, op_vocab: Sequence[str]
    ) -> None:
        # the last width varies (C to 8C): one classifier reads features zero-padded to 8C
        super().__init__(width, 8 * width, in_channels, num_classes, op_vocab)
        self.op_name = dict(enumerate(op_vocab))

    def kernel_sizes_needed(self) -> tuple[int, ...]:
        return (1, 3)

    def kernel_shape(self, graph: int, node: int, kernel_size: int) -> tuple[int, int, int, int]:
        """Shapes at the widest possible block position; the real (out, in) depend on the arch."""
        if node in (1, 2) and kernel_size == 3:
            return (self.max_channels, self.max_channels, 3, 3)
        if node == 3 and kernel_size == 1:
            return (self.max_channels, self.max_channels, 1, 1)
        raise ValueError(
            f"node {node} with kernel size {kernel_size} has no kernel in a TNB-101 block; "
            "valid: nodes 1-2 (k=3), node 3 (k=1)"
        )

    def forward(
        self, images: torch.Tensor, chain: ChainBatch, kernels: dict[int, torch.Tensor]
    ) -> torch.Tensor:
        """images (M, Ci, H, W), chain (B, 12, 5), kernels {1, 3: (B, C, N, P_k)} -> (M, B, K)."""
        M = images.shape[0]
        B, C, N = chain.ops.shape
        first_ops = chain.ops[:, :, 1].tolist()  # (B, C): conv_a op of every block
        real = chain.mask[:, :, 0].tolist()  # (B, C): the block exists
        skeletons: dict[tuple[str, ...], list[int]] = {}
        for b in range(B):
            blocks = tuple(self.op_name[o] for o, r in zip(first_ops[b], real[b], strict=True) if r)
            skeletons.setdefault(blocks, []).append(b)

        stem = batch_norm(self.stem(images).unsqueeze(1))  # (M, 1, W, H, W)
        logits = images.new_zeros(M, B, self.num_classes)
        for blocks, members in skeletons.items():
            idx = torch.tensor(members, device=images.device)
            k1, k3 = kernels[1][idx], kernels[3][idx]  # (G, C, N, P_k)
            x = stem.expand(M, len(members), *stem.shape[2:])  # (M, G, W, H, W)
            channels = self.width
            for c, op in enumerate(blocks):
                stride = 2 if "s2" in op else 1
                out = 2 * channels if op.endswith("x2") else channels
                x = self._block(x, k1[:, c], k3[:, c], channels, out, stride)
                channels = out
            x = F.relu(batch_norm(x)).mean(dim=(-2, -1))  # (M, G, Ch)
            x = F.pad(x, (0, self.max_channels - channels))  # (M, G, 8W)
            logits = logits.index_copy(1, idx, self.classifier(x))
        return logits  # (M, B, K)

    def _block(
        self,
        x: torch.Tensor,
        k1: torch.Tensor,
        k3: torch.Tensor,
        c_in: int,
        c_out: int,
        stride: int,
    ) -> torch.Tensor:
        """One basic block for a group: x (M, G, Ci, H, W), k1/k3 (G, N, P_k) -> (M, G, Co, H', W')."""
        cmax = self.max_channels
        w_a = take_kernel(k3[:, 1], cmax, c_out, c_in, 3)
        w_b = take_kernel(k3[:, 2], cmax, c_out, c_out, 3)
        y = batch_norm(grouped_conv(F.relu(x), w_a, stride=stride, padding=1))
        y = batch_norm(grouped_conv(F.relu(y), w_b, padding=1))
        if stride == 1 and c_in == c_out:
            return y + x
        # ceil_mode: four downsamplings of 8x8 digits reach a 1x1 map, which stride 2 keeps
        shortcut = (
            x if stride == 1 else spatial_op(lambda t: F.avg_pool2d(t, 2, 2, ceil_mode=True), x)
        )
        return y + grouped_conv(shortcut, take_kernel(k1[:, 3], cmax, c_out, c_in, 1))
