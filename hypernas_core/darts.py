"""The DARTS search space with the really trained NAS-Bench-301 genotypes as labels.

An arch is a normal cell and a reduction cell. Each cell has 2 inputs (the outputs of the two
previous cells, states 0 and 1) and 4 intermediate nodes (states 2..5); node k sums two ops, each
applied to a different earlier state i < k. The 7 ops are NB301's: max_pool_3x3, avg_pool_3x3,
skip_connect, sep_conv_3x3, sep_conv_5x5, dil_conv_3x3, dil_conv_5x5. The cell output concatenates
states 2..5.

Arch strings are JSON, `[normal, reduce]`, each cell a list of 8 `[op, input]` pairs, two per node
in node order; the canonical form lists each node's pair by increasing input and has no spaces:

    [[["sep_conv_3x3",0],["sep_conv_5x5",1],...],[["max_pool_3x3",0],...]]

A DARTS `Genotype(normal=[('sep_conv_3x3', 0), ...], normal_concat=..., reduce=[...], ...)`
string is accepted as well.

Graphs. A cell is an op-on-node DAG of 11 nodes: its two inputs, one node per op (in string order)
and the output. The op node of a pair (op, i) reads input i when i < 2, else the two op nodes of
node i; the output reads the op nodes of every node. The `cell` encoding joins the normal and the
reduction cell into one graph of 22 nodes (the normal cell's output feeds the reduction cell's
inputs, which, like its output, have their own op names); the `global` encoding is the evaluated network's chain of 8 cells with reduction cells
at 1/3 and 2/3 (positions 2 and 5), as NB301 trains it (8 cells, 32 channels).

Shapes:
    B archs, C = 8 cells in the chain, N = 11 nodes per cell graph (22 for the joined `cell`
    encoding), M aux images.
"""

from __future__ import annotations

import functools
import json
import re
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

DARTS_OPS = (
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
)
NODES = 4  # intermediate nodes per cell
CELL_NODES = 2 + 2 * NODES + 1  # inputs, op nodes, output
LAYOUT = ("normal", "normal", "reduce", "normal", "normal", "reduce", "normal", "normal")
DARTS_DIR = ASSETS_DIR / "darts_nb301"
_GENOTYPE_PAIR = re.compile(r"\(\s*'([a-z0-9_]+)'\s*,\s*(\d+)\s*\)")
_GENOTYPE_CELL = re.compile(r"(normal|reduce)\s*=\s*\[([^\]]*)\]")

Cell = tuple[tuple[str, int], ...]  # 8 (op, input) pairs


def cell_adjacency(cell: Cell) -> np.ndarray:
    """(11, 11) adjacency of one cell as an op-on-node DAG (see the module docstring)."""
    adj = np.zeros((CELL_NODES, CELL_NODES), dtype=np.uint8)
    for e, (_, i) in enumerate(cell):
        node = 2 + e
        if i < 2:
            adj[i, node] = 1
        else:
            adj[2 + 2 * (i - 2), node] = adj[3 + 2 * (i - 2), node] = 1
        adj[node, CELL_NODES - 1] = 1
    return adj


@register_space
class DartsSpace(SearchSpace):
    """DARTS with 1,218 really trained NAS-Bench-301 genotypes (CIFAR-10 validation accuracy)."""

    name = "darts"
    title = "DARTS (NAS-Bench-301)"
    op_vocab = (
        "input_0",
        "input_1",
        "output",
        "reduce_input_0",
        "reduce_input_1",
        "reduce_output",
        *DARTS_OPS,
    )
    # the inputs' 1x1 preprocessing convs and the convs are generated; the separable and dilated
    # convs run as one full k x k kernel at the reduced width (see DartsTargetNet)
    kernel_sizes = {
        "input_0": 1,
        "input_1": 1,
        "reduce_input_0": 1,
        "reduce_input_1": 1,
        "sep_conv_3x3": 3,
        "sep_conv_5x5": 5,
        "dil_conv_3x3": 3,
        "dil_conv_5x5": 5,
    }
    label_columns = ("val_acc",)
    default_label = "val_acc"
    max_nodes = 2 * CELL_NODES
    ops = DARTS_OPS

    # parsing and validation

    def parse(self, arch: str) -> tuple[Cell, Cell]:
        """Parses a JSON or Genotype arch string into (normal, reduce) cells of canonical pairs.

        Raises:
            ValueError: naming the arch and the rule it breaks.
        """
        if not isinstance(arch, str):
            raise ValueError(f"DARTS arch must be a string (got {type(arch).__name__} {arch!r})")
        text = arch.strip()
        if text.startswith("Genotype"):
            cells = dict(_GENOTYPE_CELL.findall(text))
            if set(cells) != {"normal", "reduce"}:
                raise ValueError(
                    f"DARTS Genotype needs normal=[...] and reduce=[...] (got {arch!r})"
                )
            raw = [
                [[op, int(i)] for op, i in _GENOTYPE_PAIR.findall(cells[name])]
                for name in ("normal", "reduce")
            ]
        else:
            try:
                raw = json.loads(text)
            except json.JSONDecodeError:
                raise ValueError(
                    "DARTS arch must be JSON [normal, reduce] of [op, input] pairs or a "
                    f"Genotype(...) string (got {arch!r})"
                ) from None
        if not isinstance(raw, list) or len(raw) != 2:
            raise ValueError(f"DARTS arch must list 2 cells, normal and reduce (got {arch!r})")
        return self._cell(raw[0], "normal"), self._cell(raw[1], "reduce")

    def _cell(self, pairs: object, name: str) -> Cell:
        if not isinstance(pairs, list) or len(pairs) != 2 * NODES:
            got = len(pairs) if isinstance(pairs, list) else type(pairs).__name__
            raise ValueError(
                f"DARTS {name} cell must have {2 * NODES} [op, input] pairs (got {got})"
            )
        cell: list[tuple[str, int]] = []
        for e, pair in enumerate(pairs):
            node = 2 + e // 2
            if not (isinstance(pair, list | tuple) and len(pair) == 2):
                raise ValueError(f"DARTS {name} pair {e} must be [op, input] (got {pair!r})")
            op, i = pair
            if op not in DARTS_OPS:
                raise ValueError(
                    f"unknown DARTS op {op!r} in the {name} cell; valid: {', '.join(DARTS_OPS)}"
                )
            if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < node:
                raise ValueError(
                    f"DARTS {name} node {node} can read states 0..{node - 1} (got input {i!r})"
                )
            cell.append((op, i))
        for k in range(NODES):
            a, b = cell[2 * k], cell[2 * k + 1]
            if a[1] == b[1]:
                raise ValueError(
                    f"DARTS {name} node {k + 2} must read two different states (got {a[1]} twice)"
                )
            if a[1] > b[1]:  # canonical: increasing input within a node
                cell[2 * k], cell[2 * k + 1] = b, a
        return tuple(cell)

    def format(self, parsed: tuple[Cell, Cell]) -> str:
        """The canonical JSON string of (normal, reduce)."""
        normal, reduce = parsed
        cells = [
            self._cell([list(p) for p in c], n) for c, n in ((normal, "normal"), (reduce, "reduce"))
        ]
        return json.dumps([[list(p) for p in c] for c in cells], separators=(",", ":"))

    # the set of archs

    def sample(self, n: int, seed: int) -> list[str]:
        """Draws `n` distinct genotypes as NB301 does: every node reads 2 different earlier
        states chosen uniformly, every op uniformly (about 1e18 archs)."""
        if not 0 < n <= 1_000_000:
            raise ValueError(f"n must be in 1..1000000 for DARTS sampling (got {n!r})")
        rng = np.random.default_rng(seed)
        archs: list[str] = []
        seen: set[str] = set()
        while len(archs) < n:
            cells = []
            for _ in range(2):
                pairs = []
                for k in range(NODES):
                    inputs = rng.choice(k + 2, size=2, replace=False)
                    pairs += [[str(rng.choice(DARTS_OPS)), int(i)] for i in inputs]
                cells.append(pairs)
            arch = self.validate(json.dumps(cells))
            if arch not in seen:
                seen.add(arch)
                archs.append(arch)
        return archs

    def mutate(self, arch: str, rng: np.random.Generator) -> str:
        """Changes the op or the input of one pair of one cell (NB301's mutation)."""
        cells = [[list(p) for p in c] for c in self.parse(arch)]
        for _ in range(1000):
            trial = [[list(p) for p in c] for c in cells]
            c, e = int(rng.integers(2)), int(rng.integers(2 * NODES))
            pair, partner = trial[c][e], trial[c][e ^ 1]
            if rng.random() < 0.5:
                pair[0] = str(rng.choice([op for op in DARTS_OPS if op != pair[0]]))
            else:
                choices = [i for i in range(2 + e // 2) if i not in (pair[1], partner[1])]
                if not choices:
                    continue
                pair[1] = int(rng.choice(choices))
            return self.validate(json.dumps(trial))
        raise ValueError(f"found no mutation of DARTS arch {arch!r}")  # pragma: no cover

    # labels

    @functools.cache  # noqa: B019 - one shared instance per process
    def label_table(self) -> pd.DataFrame:
        """arch, val_acc (%), flops_M, params_M, the zero-cost proxies and NASLib's keys."""
        raw = pd.read_csv(DARTS_DIR / "nb301_naslib.csv.gz")
        archs = [
            self.validate(f"[{n},{r}]") for n, r in zip(raw["normal"], raw["reduce"], strict=True)
        ]
        table = raw.drop(columns=["normal", "reduce"])
        table.insert(0, "arch", archs)
        return table

    # graphs

    def _graph(self, cell: Cell, kind: str) -> CellGraph:
        prefix = "reduce_" if kind == "reduce" else ""
        ops = (f"{prefix}input_0", f"{prefix}input_1", *(op for op, _ in cell), f"{prefix}output")
        return CellGraph(ops, cell_adjacency(cell), kind)

    def cell_graph(self, arch: str) -> CellGraph:
        """Both cells joined into one graph of 22 nodes: the normal cell, then the reduction cell
        fed by the normal cell's output."""
        normal, reduce = (
            self._graph(c, k) for c, k in zip(self.parse(arch), ("normal", "reduce"), strict=True)
        )
        adj = np.zeros((2 * CELL_NODES, 2 * CELL_NODES), dtype=np.uint8)
        adj[:CELL_NODES, :CELL_NODES] = normal.adj
        adj[CELL_NODES:, CELL_NODES:] = reduce.adj
        # the normal cell's output feeds both inputs of the reduction cell, as in the network
        adj[CELL_NODES - 1, CELL_NODES : CELL_NODES + 2] = 1
        return CellGraph((*normal.ops, *reduce.ops), adj, "cells")

    def macro_graphs(self, arch: str) -> list[CellGraph]:
        normal, reduce = self.parse(arch)
        graphs = {"normal": self._graph(normal, "normal"), "reduce": self._graph(reduce, "reduce")}
        return [graphs[kind] for kind in LAYOUT]

    def chain_length(self, encoding: str) -> int:
        return 1 if encoding == "cell" else len(LAYOUT)

    def encode(self, archs: Sequence[str], encoding: str) -> ChainBatch:
        """As the base class; cell graphs of the global chain are padded to 11 nodes, not 22."""
        if encoding == "cell":
            return self._stack([[self.cell_graph(a)] for a in archs])
        return self._stack([self.macro_graphs(a) for a in archs], nodes=CELL_NODES)

    # target network

    @property
    def max_kernel_channels(self) -> int:
        return 4  # the last stage has 4C channels

    def build_target_net(self, width: int, in_channels: int, num_classes: int) -> TargetNet:
        return DartsTargetNet(width, in_channels, num_classes, self.op_vocab)


class DartsTargetNet(ConvStemTargetNet):
    """The NB301 evaluation network (8 cells, reductions at 2 and 5) at widths C, 2C, 4C.

    Per cell: the two inputs are preprocessed by ReLU-conv1x1-BN with generated kernels (stride 2
    for the input two cells back when a reduction lies between, in place of DARTS's
    FactorizedReduce); every pair applies its op to the state it reads and node k sums its pair.
    Simplifications, at this reduced width, documented in docs/spaces.md:

    - sep_conv_kxk and dil_conv_kxk run as one ReLU-conv-BN with a full generated k x k kernel
      (dilation 2 for dil_conv), not DARTS's depthwise-pointwise stacks;
    - the cell output is the sum of states 2..5, not their concatenation (so no 4x widths);
    - skip_connect at stride 2 (reduction cell inputs) is a 2x2 average pool.

    Inputs and ops differ per arch, so every pair runs its conv (as a 5x5 kernel of dilation 1,
    which holds the 3x3 and 5x5 convs, plus a 5x5 kernel of dilation 2, which holds the dilated
    ones), pooling and skip for all archs and keeps its own by 0/1 masks; generated kernels are
    zero for ops that do not use them.
    """

    def __init__(
        self, width: int, in_channels: int, num_classes: int, op_vocab: Sequence[str]
    ) -> None:
        super().__init__(width, 4 * width, in_channels, num_classes, op_vocab)

    def kernel_sizes_needed(self) -> tuple[int, ...]:
        return (1, 3, 5)

    def _widths(self, graph: int) -> tuple[int, int, int]:
        """(channels of the input two cells back, of the previous cell, of this cell)."""
        widths = [self.width]  # the stem, seen as cell -1 (and -2)
        for kind in LAYOUT:
            widths.append(widths[-1] * (2 if kind == "reduce" else 1))
        prev = widths[graph]
        prev_prev = widths[max(graph - 1, 0)]
        return prev_prev, prev, widths[graph + 1]

    def kernel_shape(self, graph: int, node: int, kernel_size: int) -> tuple[int, int, int, int]:
        if not 0 <= graph < len(LAYOUT):
            raise ValueError(f"graph must be in 0..{len(LAYOUT) - 1} for DARTS (got {graph!r})")
        prev_prev, prev, channels = self._widths(graph)
        if node in (0, 1) and kernel_size == 1:
            return (channels, prev_prev if node == 0 else prev, 1, 1)
        if 2 <= node < CELL_NODES - 1 and kernel_size in (3, 5):
            return (channels, channels, kernel_size, kernel_size)
        raise ValueError(
            f"node {node} with kernel size {kernel_size} has no kernel in a DARTS cell; valid: "
            "nodes 0-1 (k=1), nodes 2-9 (k=3 or 5)"
        )

    def forward(
        self, images: torch.Tensor, chain: ChainBatch, kernels: dict[int, torch.Tensor]
    ) -> torch.Tensor:
        """Runs every arch of `chain` on `images`.

        Args:
            images: (M, in_channels, H, W).
            chain: the archs, encoded with the global layout (C = 8, N = 11).
            kernels: generated weights {k: (B, C, N, P_k)} for k = 1, 3, 5.

        Returns:
            (M, B, K) logits.
        """
        M = images.shape[0]
        B, C, N = chain.ops.shape
        if C != len(LAYOUT) or N != CELL_NODES:
            raise ValueError(
                f"the DARTS target net needs the global chain of {len(LAYOUT)} graphs of "
                f"{CELL_NODES} nodes (got {C} x {N})"
            )
        k = {size: [g.unbind(1) for g in kernels[size].unbind(1)] for size in (1, 3, 5)}
        ops = chain.ops[:, :, 2 : CELL_NODES - 1]  # (B, C, 8): the op of every pair
        masks = {
            name: (ops == self.op_index[name]).to(images.dtype)  # (B, C, 8)
            for name in (
                "max_pool_3x3",
                "avg_pool_3x3",
                "skip_connect",
                "dil_conv_3x3",
                "dil_conv_5x5",
            )
        }
        # the state each pair reads: the first real predecessor of its op node
        adj = chain.adj[:, :, :, 2 : CELL_NODES - 1].float()  # (B, C, N, 8)
        reads_input = adj[:, :, :2].to(images.dtype)  # (B, C, 2, 8): reads state 0 / 1
        source = adj.argmax(dim=2)  # (B, C, 8): an input node, or an op node of the state read
        state = torch.where(source < 2, source, 2 + (source - 2) // 2)  # (B, C, 8)

        x = batch_norm(self.stem(images).unsqueeze(1))  # (M, 1, W, H, W)
        x = x.expand(M, B, *x.shape[2:])  # (M, B, W, H, W)
        prev_prev, prev = x, x
        for c, kind in enumerate(LAYOUT):
            out = self._cell(
                prev_prev,
                prev,
                c,
                kind,
                {s: k[s][c] for s in k},
                state[:, c],
                reads_input[:, c],
                {name: m[:, c] for name, m in masks.items()},
            )
            prev_prev, prev = prev, out
        x = F.relu(batch_norm(prev)).mean(dim=(-2, -1))  # (M, B, 4W)
        return self.classifier(x)  # (M, B, K)

    def _cell(
        self,
        s0: torch.Tensor,
        s1: torch.Tensor,
        c: int,
        kind: str,
        k: dict[int, Sequence[torch.Tensor]],
        state: torch.Tensor,
        reads_input: torch.Tensor,
        masks: dict[str, torch.Tensor],
    ) -> torch.Tensor:
        """One cell for every arch: states 0, 1 (M, B, Ch_i, H_i, W_i) -> (M, B, Ch, H', W').

        Args:
            k: per kernel size, per node, the (B, P_k) generated weights of cell c.
            state: (B, 8) the state each pair reads. reads_input: (B, 2, 8) 1.0 where it is 0 / 1.
            masks: (B, 8) 1.0 where the pair's op is the named op.
        """
        prev_prev, prev, channels = self._widths(c)
        cmax = self.max_channels
        stride0 = 2 if s0.shape[-1] != s1.shape[-1] else 1  # a reduction lies between
        w0 = take_kernel(k[1][0], cmax, channels, prev_prev, 1)
        w1 = take_kernel(k[1][1], cmax, channels, prev, 1)
        states = [
            batch_norm(grouped_conv(F.relu(s0), w0, stride=stride0)),
            batch_norm(grouped_conv(F.relu(s1), w1)),
        ]
        stride = 2 if kind == "reduce" else 1
        for node in range(NODES):
            total = 0
            for e in (2 * node, 2 * node + 1):
                if stride == 2:
                    # inputs 0 / 1 are at full resolution and go through stride 2; later states
                    # are already reduced
                    full = (
                        reads_input[:, 0, e].view(1, -1, 1, 1, 1) * states[0]
                        + reads_input[:, 1, e].view(1, -1, 1, 1, 1) * states[1]
                    )
                    on_inputs = self._op(full, e, k, masks, channels, 2)
                    picked = self._pick(states[2:], state[:, e] - 2) if node > 0 else None
                    on_states = self._op(picked, e, k, masks, channels, 1) if node > 0 else 0
                    used_input = reads_input[:, :, e].sum(dim=1).view(1, -1, 1, 1, 1)
                    total = total + used_input * on_inputs + (1 - used_input) * on_states
                else:
                    total = total + self._op(
                        self._pick(states, state[:, e]), e, k, masks, channels, 1
                    )
            states.append(total)
        return batch_norm(sum(states[2:]))

    @staticmethod
    def _pick(states: Sequence[torch.Tensor], index: torch.Tensor) -> torch.Tensor:
        """For every arch b, states[index[b]]: (M, B, Ch, H, W)."""
        stacked = torch.stack(list(states))  # (S, M, B, Ch, H, W)
        onehot = F.one_hot(index.clamp(0, len(states) - 1), len(states)).T.to(stacked.dtype)
        return (stacked * onehot.view(len(states), 1, -1, 1, 1, 1)).sum(dim=0)

    def _op(
        self,
        x: torch.Tensor,
        e: int,
        k: dict[int, Sequence[torch.Tensor]],
        masks: dict[str, torch.Tensor],
        channels: int,
        stride: int,
    ) -> torch.Tensor:
        """The op of pair e for every arch (masked), on x (M, B, Ch, H, W) at `stride`."""
        node = 2 + e
        cmax = self.max_channels
        w3 = F.pad(take_kernel(k[3][node], cmax, channels, channels, 3), (1, 1, 1, 1))
        w5 = take_kernel(k[5][node], cmax, channels, channels, 5)
        dil3 = masks["dil_conv_3x3"][:, e].view(-1, 1, 1, 1, 1)  # (B, 1, 1, 1, 1)
        dil5 = masks["dil_conv_5x5"][:, e].view(-1, 1, 1, 1, 1)
        dilated = dil3 + dil5
        plain = (1 - dilated) * (w3 + w5)  # (B, Ch, Ch, 5, 5): sep_conv_3x3 / sep_conv_5x5
        conv = grouped_conv(F.relu(x), plain, stride=stride, padding=2)
        # a dilated 3x3 is the centre 3x3 of a dilated 5x5
        conv = conv + _dilated_conv(F.relu(x), dilated * (w3 + w5), stride)
        out = batch_norm(conv)

        m = {name: mask[:, e].view(1, -1, 1, 1, 1) for name, mask in masks.items()}
        out = out + m["max_pool_3x3"] * spatial_op(lambda t: F.max_pool2d(t, 3, stride, 1), x)
        out = out + m["avg_pool_3x3"] * spatial_op(
            lambda t: F.avg_pool2d(t, 3, stride, 1, count_include_pad=False), x
        )
        skip = x if stride == 1 else spatial_op(lambda t: F.avg_pool2d(t, 2, 2, ceil_mode=True), x)
        return out + m["skip_connect"] * skip


def _dilated_conv(x: torch.Tensor, weight: torch.Tensor, stride: int) -> torch.Tensor:
    """Grouped 5x5 convolution with dilation 2 ('same' padding): x (M, B, Ci, H, W), weight
    (B, Co, Ci, 5, 5) -> (M, B, Co, H', W')."""
    M, B, Ci, H, W = x.shape
    Co = weight.shape[1]
    y = F.conv2d(
        x.reshape(M, B * Ci, H, W),  # (M, B*Ci, H, W)
        weight.reshape(B * Co, Ci, 5, 5),
        stride=stride,
        padding=4,
        dilation=2,
        groups=B,
    )
    return y.view(M, B, Co, y.shape[-2], y.shape[-1])
