"""NAS-Bench-201: a 4-node cell with one of 5 ops on each of its 6 edges (15,625 archs).

Arch strings are the official ones, `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`, where group j lists the
edges into node j and `op~i` is the op on edge i -> j.

The cell becomes an op-on-node DAG of 8 nodes: the input, one node per edge (in the order of the
string: 0->1, 0->2, 1->2, 0->3, 1->3, 2->3) and the output. The node of edge i -> j feeds every edge
node leaving j; edges leaving node 0 read the input and edges into node 3 feed the output. `none`
stays a node of its own, so every cell has the same adjacency and only the ops differ.

The macro network (Dong & Yang, 2020) is a stem, 3 stages of 5 cells, with a residual reduction
block between stages (widths C, 2C, 4C), then BN-ReLU, global pooling and a classifier. In the
chain each reduction block is its own 5-node graph: input, `res_conv_a` (3x3, stride 2),
`res_conv_b` (3x3), `res_shortcut` (2x2 average pool then 1x1) and output.

Shapes:
    B archs, C = 17 graphs in the chain, N = 8 nodes per graph, M aux images.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

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

CELL_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))  # order of the ops in an arch string
CELLS_PER_STAGE = 5
NB201_DIR = ASSETS_DIR / "nb201"

# chain layout: 5 cells, reduction, 5 cells, reduction, 5 cells
LAYOUT = tuple(
    ["cell"] * CELLS_PER_STAGE
    + ["reduction"]
    + ["cell"] * CELLS_PER_STAGE
    + ["reduction"]
    + ["cell"] * CELLS_PER_STAGE
)


def _cell_adjacency() -> np.ndarray:
    """(8, 8) adjacency of the op-on-node cell; the same for every NB201 arch."""
    adj = np.zeros((8, 8), dtype=np.uint8)
    for e, (i, j) in enumerate(EDGES):
        node = e + 1
        if i == 0:
            adj[0, node] = 1
        if j == 3:
            adj[node, 7] = 1
        for f, (i2, _) in enumerate(EDGES):
            if i2 == j:
                adj[node, f + 1] = 1
    return adj


def _reduction_adjacency() -> np.ndarray:
    """(5, 5) adjacency of the residual reduction block: in -> a -> b -> out, in -> sc -> out."""
    adj = np.zeros((5, 5), dtype=np.uint8)
    for i, j in ((0, 1), (1, 2), (2, 4), (0, 3), (3, 4)):
        adj[i, j] = 1
    return adj


CELL_ADJ = _cell_adjacency()
REDUCTION_OPS = ("input", "res_conv_a", "res_conv_b", "res_shortcut", "output")
REDUCTION_ADJ = _reduction_adjacency()


@register_space
class NB201Space(SearchSpace):
    """NAS-Bench-201 with its bundled 200-epoch and 12-epoch accuracy tables."""

    name = "nb201"
    title = "NAS-Bench-201"
    op_vocab = ("input", "output", *CELL_OPS, "res_conv_a", "res_conv_b", "res_shortcut")
    kernel_sizes = {
        "nor_conv_1x1": 1,
        "nor_conv_3x3": 3,
        "res_conv_a": 3,
        "res_conv_b": 3,
        "res_shortcut": 1,
    }
    label_columns = (
        "val_acc_cifar10_valid",
        "val_acc_cifar100",
        "val_acc_imagenet16_120",
        "val_acc_cifar10_valid_12ep",
        "val_acc_cifar100_12ep",
        "val_acc_imagenet16_120_12ep",
        "test_acc_cifar10_12ep",
        "test_acc_cifar100_12ep",
        "test_acc_imagenet16_120_12ep",
    )
    default_label = "val_acc_cifar10_valid"
    max_nodes = 8
    cell_ops = CELL_OPS
    edges = EDGES

    def parse(self, arch: str) -> tuple[str, ...]:
        """Parses an official NB201 string into its 6 edge ops (in string order).

        Raises:
            ValueError: naming the arch and the rule it breaks.
        """
        if not isinstance(arch, str):
            raise ValueError(f"NB201 arch must be a string (got {type(arch).__name__} {arch!r})")
        text = arch.strip()
        groups = text.split("+")
        if len(groups) != 3:
            raise ValueError(
                f"NB201 arch must have 3 '+'-separated node groups like "
                f"'|nor_conv_3x3~0|+|none~0|skip_connect~1|+|...~0|...~1|...~2|' (got {arch!r})"
            )
        ops: list[str] = []
        for j, group in enumerate(groups, start=1):
            if not (group.startswith("|") and group.endswith("|")) or len(group) < 2:
                raise ValueError(
                    f"NB201 node group {j} must be enclosed in '|' (got {group!r} in {arch!r})"
                )
            entries = group[1:-1].split("|")
            if len(entries) != j:
                raise ValueError(
                    f"NB201 node group {j} must list {j} incoming edge(s) (got {len(entries)} in {arch!r})"
                )
            for i, entry in enumerate(entries):
                op, sep, src = entry.partition("~")
                if not sep or src != str(i):
                    raise ValueError(
                        f"NB201 edge entry {entry!r} into node {j} must be 'op~{i}' (in {arch!r})"
                    )
                if op not in CELL_OPS:
                    raise ValueError(
                        f"unknown NB201 op {op!r} on edge {i}->{j}; valid: {', '.join(CELL_OPS)}"
                    )
                ops.append(op)
        return tuple(ops)

    def format(self, parsed: Sequence[str]) -> str:
        """Builds the official string from the 6 edge ops."""
        ops = list(parsed)
        if len(ops) != 6:
            raise ValueError(f"NB201 needs exactly 6 edge ops (got {len(ops)}: {ops!r})")
        for op in ops:
            if op not in CELL_OPS:
                raise ValueError(f"unknown NB201 op {op!r}; valid: {', '.join(CELL_OPS)}")
        groups = [ops[0:1], ops[1:3], ops[3:6]]
        return "+".join("|" + "|".join(f"{op}~{i}" for i, op in enumerate(g)) + "|" for g in groups)

    def mutate(self, arch: str, rng: np.random.Generator) -> str:
        """Changes the op of one edge, chosen uniformly, to another op."""
        ops = list(self.parse(arch))
        edge = int(rng.integers(len(ops)))
        ops[edge] = str(rng.choice([op for op in CELL_OPS if op != ops[edge]]))
        return self.format(ops)

    def from_ops(self, ops: Sequence[str]) -> str:
        """The arch string with `ops` on the edges 0->1, 0->2, 1->2, 0->3, 1->3, 2->3."""
        return self.format(ops)

    # the set of archs

    @property
    def size(self) -> int:
        return len(CELL_OPS) ** len(EDGES)

    def enumerate(self) -> list[str]:
        """All 15,625 archs in the official index order (`arch_index`)."""
        return self.label_table()["arch"].tolist()

    def sample(self, n: int, seed: int) -> list[str]:
        if not 0 < n <= self.size:
            raise ValueError(f"n must be in 1..{self.size} for NB201 (got {n!r})")
        rng = np.random.default_rng(seed)
        idx = rng.choice(self.size, size=n, replace=False)
        archs = self.enumerate()
        return [archs[i] for i in idx]

    # labels

    @functools.cache  # noqa: B019 - one shared instance per process
    def label_table(self) -> pd.DataFrame:
        """The bundled tables merged on `arch_index`: arch, ops, labels, params and FLOPs."""
        main = pd.read_csv(NB201_DIR / "nb201_val_acc_naslib.csv.gz")
        low = pd.read_csv(NB201_DIR / "nb201_acc_12ep_minibench.csv.gz").drop(columns="arch_str")
        table = main.merge(low, on="arch_index", validate="one_to_one")
        table = table.rename(columns={"arch_str": "arch"}).sort_values("arch_index")
        return table.reset_index(drop=True)

    # graphs

    def cell_graph(self, arch: str) -> CellGraph:
        ops = self.parse(arch)
        return CellGraph(("input", *ops, "output"), CELL_ADJ.copy(), "cell")

    def macro_graphs(self, arch: str) -> list[CellGraph]:
        cell = self.cell_graph(arch)
        reduction = CellGraph(REDUCTION_OPS, REDUCTION_ADJ.copy(), "reduction")
        return [cell if kind == "cell" else reduction for kind in LAYOUT]

    def chain_length(self, encoding: str) -> int:
        return 1 if encoding == "cell" else len(LAYOUT)

    def encode(self, archs: Sequence[str], encoding: str) -> ChainBatch:
        """Vectorised encoding: every NB201 cell shares one adjacency, so only ops vary."""
        lookup = {op: i for i, op in enumerate(self.op_vocab)}
        kernel_of = np.array([self.kernel_sizes.get(op, 0) for op in self.op_vocab])
        B, N = len(archs), self.max_nodes
        cell_ops = np.empty((B, N), dtype=np.int64)  # (B, 8)
        cell_ops[:, 0], cell_ops[:, 7] = lookup["input"], lookup["output"]
        for b, arch in enumerate(archs):
            cell_ops[b, 1:7] = [lookup[op] for op in self.parse(arch)]

        red_ops = np.zeros(N, dtype=np.int64)
        red_ops[:5] = [lookup[op] for op in REDUCTION_OPS]
        red_adj = np.zeros((N, N), dtype=np.uint8)
        red_adj[:5, :5] = REDUCTION_ADJ
        red_mask = np.arange(N) < 5

        layout = ("cell",) if encoding == "cell" else LAYOUT
        C = len(layout)
        ops = np.empty((B, C, N), dtype=np.int64)
        adj = np.empty((B, C, N, N), dtype=np.uint8)
        mask = np.ones((B, C, N), dtype=bool)
        for c, kind in enumerate(layout):
            if kind == "cell":
                ops[:, c], adj[:, c] = cell_ops, CELL_ADJ
            else:
                ops[:, c], adj[:, c], mask[:, c] = red_ops, red_adj, red_mask
        kernel = kernel_of[ops] * mask
        return ChainBatch(
            torch.from_numpy(ops),
            torch.from_numpy(adj),
            torch.from_numpy(mask),
            torch.from_numpy(kernel),
        )

    # target network

    @property
    def max_kernel_channels(self) -> int:
        return 4  # the last stage has 4C channels

    def build_target_net(self, width: int, in_channels: int, num_classes: int) -> TargetNet:
        return NB201TargetNet(width, in_channels, num_classes, self.op_vocab)


class NB201TargetNet(ConvStemTargetNet):
    """The NB201 macro network at width `width`, with generated cell and reduction kernels.

    The stem convolution and the classifier are ordinary shared parameters (they belong to no
    node of the chain); every kernel inside cells and reduction blocks comes from the hypernetwork.

    For speed, the edges leaving one cell node run as one grouped convolution: every edge gets a
    3x3 kernel that is the generated 3x3 kernel, or the generated 1x1 kernel padded to 3x3, or zero
    (the hypernetwork emits zeros for other ops), and the kernels of all edges leaving the node are
    stacked along the output channels. A zero kernel gives a zero output, and batch norm keeps a
    zero channel at zero, so an arch whose edge is not a conv gets exactly nothing from this path.
    """

    def __init__(
        self, width: int, in_channels: int, num_classes: int, op_vocab: Sequence[str]
    ) -> None:
        super().__init__(width, 4 * width, in_channels, num_classes, op_vocab)

    def kernel_shape(self, graph: int, node: int, kernel_size: int) -> tuple[int, int, int, int]:
        if not 0 <= graph < len(LAYOUT):
            raise ValueError(f"graph must be in 0..{len(LAYOUT) - 1} for NB201 (got {graph!r})")
        channels = self.width * 2 ** LAYOUT[:graph].count("reduction")
        k = kernel_size
        if LAYOUT[graph] == "cell":
            return (channels, channels, k, k)
        shapes = {
            1: (2 * channels, channels, 3, 3),
            2: (2 * channels, 2 * channels, 3, 3),
            3: (2 * channels, channels, 1, 1),
        }
        if node not in shapes:
            raise ValueError(
                f"node {node} of an NB201 reduction block has no kernel; valid: 1, 2, 3"
            )
        return shapes[node]

    def forward(
        self, images: torch.Tensor, chain: ChainBatch, kernels: dict[int, torch.Tensor]
    ) -> torch.Tensor:
        """Runs every arch of `chain` on `images`.

        Args:
            images: (M, in_channels, H, W).
            chain: the archs, encoded with the global layout (C = 17).
            kernels: generated weights {1: (B, C, N, P_1), 3: (B, C, N, P_3)}.

        Returns:
            (M, B, K) logits.
        """
        M = images.shape[0]
        B, C, N = chain.ops.shape
        if C != len(LAYOUT):
            raise ValueError(
                f"the NB201 target net needs the global chain of {len(LAYOUT)} graphs (got {C})"
            )
        # one unbind per kernel size: slicing the (B, C, N, P) tensor per node instead would make
        # autograd materialise a full-size zero gradient for every slice
        k1 = [g.unbind(1) for g in kernels[1].unbind(1)]  # [c][n]: (B, P_1)
        k3 = [g.unbind(1) for g in kernels[3].unbind(1)]  # [c][n]: (B, P_3)
        skip = (chain.ops == self.op_index["skip_connect"]).to(images.dtype)  # (B, C, N)
        pool = (chain.ops == self.op_index["avg_pool_3x3"]).to(images.dtype)  # (B, C, N)

        x = batch_norm(self.stem(images).unsqueeze(1))  # (M, 1, W, H, W)
        x = x.expand(M, B, *x.shape[2:])  # (M, B, W, H, W): one copy per arch
        channels = self.width
        for c, kind in enumerate(LAYOUT):
            if kind == "cell":
                x = self._cell(x, k1[c], k3[c], skip[:, c], pool[:, c], channels)
            else:
                x = self._reduction(x, k1[c], k3[c], channels)
                channels *= 2

        x = F.relu(batch_norm(x)).mean(dim=(-2, -1))  # (M, B, 4W)
        return self.classifier(x)  # (M, B, K)

    def _cell(
        self,
        x: torch.Tensor,
        k1: Sequence[torch.Tensor],
        k3: Sequence[torch.Tensor],
        skip: torch.Tensor,
        pool: torch.Tensor,
        channels: int,
    ) -> torch.Tensor:
        """One NB201 cell for every arch.

        Args:
            x: (M, B, Ch, H, W) cell input.
            k1, k3: per node n, the (B, P_1) and (B, P_3) generated weights.
            skip, pool: (B, N) 1.0 where node n's op is skip_connect / avg_pool_3x3.
        """
        nodes = [x, None, None, None]
        incoming: dict[int, list[torch.Tensor]] = {1: [], 2: [], 3: []}
        for i in (0, 1, 2):
            if i > 0:
                nodes[i] = torch.stack(incoming[i]).sum(dim=0)
            src = nodes[i]
            leaving = [(e, j) for e, (ii, j) in enumerate(EDGES) if ii == i]

            # every conv edge leaving node i in one grouped convolution
            kernel = torch.cat(
                [self._edge_kernel(k1[e + 1], k3[e + 1], channels) for e, _ in leaving], dim=1
            )  # (B, E_i * Ch, Ch, 3, 3)
            convs = batch_norm(grouped_conv(F.relu(src), kernel, padding=1)).split(channels, dim=2)
            pooled = _avg_pool_3x3(src)

            for (e, j), conv in zip(leaving, convs, strict=True):
                s = skip[:, e + 1].view(1, -1, 1, 1, 1)  # (1, B, 1, 1, 1)
                p = pool[:, e + 1].view(1, -1, 1, 1, 1)
                incoming[j].append(conv + s * src + p * pooled)
        return torch.stack(incoming[3]).sum(dim=0)

    def _edge_kernel(self, flat1: torch.Tensor, flat3: torch.Tensor, channels: int) -> torch.Tensor:
        """(B, Ch, Ch, 3, 3): the 3x3 kernel, or the 1x1 kernel at the centre, or zero."""
        w3 = take_kernel(flat3, self.max_channels, channels, channels, 3)
        w1 = take_kernel(flat1, self.max_channels, channels, channels, 1)
        return w3 + F.pad(w1, (1, 1, 1, 1))

    def _reduction(
        self, x: torch.Tensor, k1: Sequence[torch.Tensor], k3: Sequence[torch.Tensor], channels: int
    ) -> torch.Tensor:
        """The residual reduction block (NB201 ResNetBasicblock, stride 2), channels -> 2x."""
        w_a = take_kernel(k3[1], self.max_channels, 2 * channels, channels, 3)
        w_b = take_kernel(k3[2], self.max_channels, 2 * channels, 2 * channels, 3)
        w_s = take_kernel(k1[3], self.max_channels, 2 * channels, channels, 1)
        y = batch_norm(grouped_conv(F.relu(x), w_a, stride=2, padding=1))
        y = batch_norm(grouped_conv(F.relu(y), w_b, padding=1))
        shortcut = grouped_conv(spatial_op(lambda t: F.avg_pool2d(t, 2, 2), x), w_s)
        return y + shortcut


def _avg_pool_3x3(x: torch.Tensor) -> torch.Tensor:
    """3x3 average pooling, stride 1, padding 1, not counting padding (as NB201's avg_pool_3x3).

    Computed as a box sum (a depthwise convolution with ones) divided by the number of real pixels
    under the window; on small CPU tensors this is several times faster than `avg_pool2d`.

    Args:
        x: (M, B, Ch, H, W).
    """
    M, B, Ch, H, W = x.shape
    ones = x.new_ones(B * Ch, 1, 3, 3)
    total = F.conv2d(x.reshape(M, B * Ch, H, W), ones, padding=1, groups=B * Ch)  # (M, B*Ch, H, W)
    count = F.conv2d(x.new_ones(1, 1, H, W), x.new_ones(1, 1, 3, 3), padding=1)  # (1, 1, H, W)
    return (total / count).view(M, B, Ch, H, W)
