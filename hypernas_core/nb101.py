"""NAS-Bench-101: a cell of up to 7 op-on-node vertices and 9 edges, 3 stacks of 3 cells.

Arch strings spell the cell's upper-triangular adjacency matrix row by row, then its ops:

    0111101000001100000010000110000001100000000000000|input|maxpool3x3|...|output

`A[i][j]` is character `i * n + j` of the n*n bit string (an edge i -> j), and the ops are `input`,
then `conv3x3-bn-relu`, `conv1x1-bn-relu` or `maxpool3x3` for every interior vertex, then `output`.
A valid cell (Ying et al., 2019) has 2..7 vertices and at most 9 edges, is acyclic (upper
triangular) and has a path from input to output. As in NB101's `ModelSpec`, vertices that are not on
such a path are pruned, so `validate` returns the pruned cell. Two strings of the same graph with the
vertices numbered differently are the same arch: labels are looked up by NB101's graph hash.

The macro network is NB101's: a stem conv, 3 stacks of 3 cells, a 2x2 max-pool downsampling between
stacks with the channels doubled, then global pooling and a classifier. In the chain every
downsampling step is its own 4-node graph: input, `downsample_maxpool`, `downsample_proj_1x1`
(the channel doubling, which NB101 does with 1x1 projections inside the next cell), output.

Shapes:
    B archs, C = 11 graphs in the chain, N = 7 nodes per graph, M aux images.
"""

from __future__ import annotations

import functools
import hashlib
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

CELL_OPS = ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")  # ops of interior vertices
MAX_VERTICES = 7
MAX_EDGES = 9
CELLS_PER_STACK = 3
NB101_DIR = ASSETS_DIR / "nb101"

# chain layout: 3 cells, downsampling, 3 cells, downsampling, 3 cells
LAYOUT = tuple(
    ["cell"] * CELLS_PER_STACK
    + ["downsample"]
    + ["cell"] * CELLS_PER_STACK
    + ["downsample"]
    + ["cell"] * CELLS_PER_STACK
)
DOWNSAMPLE_OPS = ("input", "downsample_maxpool", "downsample_proj_1x1", "output")
DOWNSAMPLE_ADJ = np.array(
    [[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]], dtype=np.uint8
)  # input -> pool -> proj -> output


def prune(matrix: np.ndarray, ops: Sequence[str]) -> tuple[np.ndarray, tuple[str, ...]]:
    """Removes the vertices that are not on a path from input (0) to output (n - 1).

    Returns:
        The pruned (n', n') matrix and ops, or the input unchanged when nothing is extraneous.

    Raises:
        ValueError: when no path joins input and output.
    """
    n = len(ops)
    reach_fwd, reach_bwd = {0}, {n - 1}
    for j in range(1, n):  # upper triangular: one pass in vertex order reaches everything
        if any(matrix[i, j] and i in reach_fwd for i in range(j)):
            reach_fwd.add(j)
    for i in range(n - 2, -1, -1):
        if any(matrix[i, j] and j in reach_bwd for j in range(i + 1, n)):
            reach_bwd.add(i)
    if n - 1 not in reach_fwd:
        raise ValueError("NB101 cell has no path from input to output")
    keep = sorted(reach_fwd & reach_bwd)
    return matrix[np.ix_(keep, keep)].copy(), tuple(ops[i] for i in keep)


def graph_hash(matrix: np.ndarray, ops: Sequence[str]) -> str:
    """NB101's isomorphism-invariant hash of a cell (`graph_util.hash_module` of the nasbench repo).

    Each vertex starts from (out-degree, in-degree, op) and is rehashed n times with the sorted
    hashes of its predecessors and successors; the fingerprint is the hash of the sorted vertex
    hashes, so renumbering the interior vertices does not change it.
    """
    n = len(ops)
    labels = [-1] + [CELL_OPS.index(op) for op in ops[1:-1]] + [-2]
    in_deg, out_deg = matrix.sum(axis=0).tolist(), matrix.sum(axis=1).tolist()
    hashes = [_md5(str(h)) for h in zip(out_deg, in_deg, labels, strict=True)]
    for _ in range(n):
        hashes = [
            _md5(
                "".join(sorted(hashes[w] for w in range(n) if matrix[w, v]))
                + "|"
                + "".join(sorted(hashes[w] for w in range(n) if matrix[v, w]))
                + "|"
                + hashes[v]
            )
            for v in range(n)
        ]
    return _md5(str(sorted(hashes)))


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()  # noqa: S324 - a fingerprint, not security


@register_space
class NB101Space(SearchSpace):
    """NAS-Bench-101 with a bundled table of 500 real archs (108-epoch validation accuracy)."""

    name = "nb101"
    title = "NAS-Bench-101"
    op_vocab = ("input", "output", *CELL_OPS, *DOWNSAMPLE_OPS[1:3])
    kernel_sizes = {"conv3x3-bn-relu": 3, "conv1x1-bn-relu": 1, "downsample_proj_1x1": 1}
    label_columns = ("val_acc",)
    default_label = "val_acc"
    max_nodes = MAX_VERTICES
    cell_ops = CELL_OPS

    # parsing and validation

    def parse(self, arch: str) -> tuple[np.ndarray, tuple[str, ...]]:
        """Parses and prunes an arch string into its (n, n) adjacency and n ops.

        Raises:
            ValueError: naming the arch and the rule it breaks.
        """
        if not isinstance(arch, str):
            raise ValueError(f"NB101 arch must be a string (got {type(arch).__name__} {arch!r})")
        bits, *ops = arch.strip().split("|")
        if len(ops) < 2:
            raise ValueError(
                f"NB101 arch must be '<n*n adjacency bits>|input|op|...|output' (got {arch!r})"
            )
        n = len(ops)
        if n > MAX_VERTICES:
            raise ValueError(
                f"NB101 cells have at most {MAX_VERTICES} vertices (got {n} ops in {arch!r})"
            )
        if ops[0] != "input" or ops[-1] != "output":
            raise ValueError(
                f"NB101 ops must start with 'input' and end with 'output' (got {ops!r})"
            )
        for op in ops[1:-1]:
            if op not in CELL_OPS:
                raise ValueError(
                    f"unknown NB101 op {op!r}; valid interior ops: {', '.join(CELL_OPS)}"
                )
        if len(bits) != n * n or set(bits) - {"0", "1"}:
            raise ValueError(
                f"NB101 adjacency must be {n * n} characters of 0/1 for {n} ops "
                f"(got {len(bits)} characters {bits!r})"
            )
        matrix = np.array([int(b) for b in bits], dtype=np.uint8).reshape(n, n)
        if np.tril(matrix).any():
            i, j = np.argwhere(np.tril(matrix))[0]
            raise ValueError(
                f"NB101 adjacency must be strictly upper triangular (acyclic, vertices in "
                f"topological order); it has an edge {i} -> {j} in {arch!r}"
            )
        try:
            matrix, pruned_ops = prune(matrix, ops)
        except ValueError as err:
            raise ValueError(f"{err} (got {arch!r})") from None
        edges = int(matrix.sum())
        if edges > MAX_EDGES:
            raise ValueError(
                f"NB101 cells have at most {MAX_EDGES} edges (got {edges} after pruning {arch!r})"
            )
        return matrix, pruned_ops

    def format(self, parsed: tuple[np.ndarray, Sequence[str]]) -> str:
        """Builds the arch string from an (n, n) adjacency and n ops."""
        matrix, ops = parsed
        bits = "".join(str(int(b)) for b in np.asarray(matrix).reshape(-1))
        return "|".join([bits, *ops])

    def from_spec(self, matrix: np.ndarray | Sequence[Sequence[int]], ops: Sequence[str]) -> str:
        """The canonical arch string of an NB101 (matrix, ops) spec, validated and pruned."""
        return self.validate(self.format((np.asarray(matrix, dtype=np.uint8), list(ops))))

    def arch_hash(self, arch: str) -> str:
        """NB101's graph hash of `arch` (equal for isomorphic cells)."""
        return graph_hash(*self.parse(arch))

    # the set of archs

    def sample(self, n: int, seed: int) -> list[str]:
        """Draws `n` distinct valid cells as NB101 does: each edge of a 7-vertex upper-triangular
        matrix with probability 1/2, each interior op uniformly; invalid cells are redrawn.

        Distinct means distinct graph hashes. The whole space has 423,624 archs.
        """
        if not 0 < n <= 100_000:
            raise ValueError(f"n must be in 1..100000 for NB101 sampling (got {n!r})")
        rng = np.random.default_rng(seed)
        archs: list[str] = []
        seen: set[str] = set()
        while len(archs) < n:
            matrix = np.triu(rng.integers(0, 2, size=(MAX_VERTICES, MAX_VERTICES)), k=1)
            ops = ["input", *rng.choice(CELL_OPS, size=MAX_VERTICES - 2).tolist(), "output"]
            try:
                arch = self.from_spec(matrix, ops)
            except ValueError:
                continue
            key = self.arch_hash(arch)
            if key not in seen:
                seen.add(key)
                archs.append(arch)
        return archs

    def mutate(self, arch: str, rng: np.random.Generator) -> str:
        """Flips one edge or changes one interior op of the cell, padded to 7 vertices.

        Padding places the cell's vertices first and the output last, with unused vertices
        (random ops, no edges) in between, so a mutation can also grow the cell. Draws repeat until
        the result is valid and a different graph; after every 100 failed draws one more edit is
        made at once (a cell with no interior vertex needs two new edges to change).
        """
        matrix, ops = self.parse(arch)
        parent = graph_hash(matrix, ops)
        n = len(ops)
        slots = [*range(n - 1), MAX_VERTICES - 1]  # where the cell's vertices go in 7 slots
        for attempt in range(1000):
            padded = np.zeros((MAX_VERTICES, MAX_VERTICES), dtype=np.uint8)
            padded[np.ix_(slots, slots)] = matrix
            new_ops = ["input", *rng.choice(CELL_OPS, size=MAX_VERTICES - 2).tolist(), "output"]
            for slot, op in zip(slots, ops, strict=True):
                new_ops[slot] = op
            for _ in range(1 + attempt // 100):  # more edits when single ones keep failing
                if rng.random() < 0.5:
                    i, j = sorted(rng.choice(MAX_VERTICES, size=2, replace=False))
                    padded[i, j] = 1 - padded[i, j]
                else:
                    v = int(rng.integers(1, MAX_VERTICES - 1))
                    new_ops[v] = str(rng.choice([op for op in CELL_OPS if op != new_ops[v]]))
            try:
                child = self.from_spec(padded, new_ops)
            except ValueError:
                continue
            if child != arch and graph_hash(*self.parse(child)) != parent:
                return child
        raise ValueError(f"found no valid mutation of NB101 arch {arch!r} in 1000 draws")

    # labels

    @functools.cache  # noqa: B019 - one shared instance per process
    def label_table(self) -> pd.DataFrame:
        """The bundled archs, one row per distinct cell (graph hash).

        The 500 rows of the NASLib file are unpruned random specs; after pruning they are 292
        distinct cells, many drawn several times. NASLib's query returns the accuracy of one of
        NB101's 3 training runs, so repeated cells carry different real accuracies (spread up to
        1.4 pp). Each cell keeps the mean of its rows as `val_acc`, with `val_acc_rows`,
        `val_acc_min` and `val_acc_max`; the other columns come from its first row.

        Returns:
            arch, hash, val_acc (%), val_acc_rows, val_acc_min, val_acc_max, flops_M, params_M
            and the zero-cost proxies `zc_*`, in order of first appearance.
        """
        raw = pd.read_csv(NB101_DIR / "nb101_naslib500.csv.gz", dtype={"adjacency": str})
        archs = [
            self.validate("|".join([bits, ops]))
            for bits, ops in zip(raw["adjacency"], raw["ops"], strict=True)
        ]
        raw = raw.drop(columns=["adjacency", "ops", "num_vertices"])
        raw.insert(0, "arch", archs)
        raw.insert(1, "hash", [self.arch_hash(a) for a in archs])
        accuracy = raw.groupby("hash", sort=False)["val_acc"].agg(["mean", "size", "min", "max"])
        table = raw.drop_duplicates("hash").set_index("hash")
        table["val_acc"] = accuracy["mean"]
        table.insert(2, "val_acc_rows", accuracy["size"])
        table.insert(3, "val_acc_min", accuracy["min"])
        table.insert(4, "val_acc_max", accuracy["max"])
        return table.reset_index()[["arch", "hash", *table.columns.drop("arch")]]

    def labels(self, archs: Sequence[str], target: str | None = None) -> np.ndarray:
        """Looks up labels by graph hash, so any numbering of a labelled cell is found.

        Raises:
            ValueError: for an unknown label column or an arch missing from the table.
        """
        target = target or self.default_label
        if target not in self.label_columns:
            raise ValueError(
                f"unknown label {target!r} for space {self.name!r}; valid: "
                + ", ".join(self.label_columns)
            )
        table = self.label_table().set_index("hash")
        keys = [self.arch_hash(a) for a in archs]
        missing = [a for a, k in zip(archs, keys, strict=True) if k not in table.index]
        if missing:
            raise ValueError(
                f"{len(missing)} arch(s) have no label in the {self.name} table of "
                f"{len(table)} archs, e.g. {missing[0]!r}"
            )
        return table.loc[keys, target].to_numpy(dtype=np.float64)

    # graphs

    def cell_graph(self, arch: str) -> CellGraph:
        matrix, ops = self.parse(arch)
        return CellGraph(ops, matrix, "cell")

    def macro_graphs(self, arch: str) -> list[CellGraph]:
        cell = self.cell_graph(arch)
        down = CellGraph(DOWNSAMPLE_OPS, DOWNSAMPLE_ADJ.copy(), "downsample")
        return [cell if kind == "cell" else down for kind in LAYOUT]

    def chain_length(self, encoding: str) -> int:
        return 1 if encoding == "cell" else len(LAYOUT)

    # target network

    @property
    def max_kernel_channels(self) -> int:
        return 4  # the last stack has 4C channels

    def build_target_net(self, width: int, in_channels: int, num_classes: int) -> TargetNet:
        return NB101TargetNet(width, in_channels, num_classes, self.op_vocab)


class NB101TargetNet(ConvStemTargetNet):
    """The NB101 macro network at width `width` with generated kernels.

    Every vertex of a cell reads the sum of its predecessors and applies its op: conv-BN-ReLU with
    the generated kernel, or 3x3 max-pooling; the output vertex sums its predecessors. NB101 itself
    splits the channels among the vertices that feed the output, concatenates them, and adds 1x1
    projections of the cell input; at this reduced width all vertices keep the cell's channel count
    and the output is a batch-normalised sum, so no projections are needed inside cells (see
    docs/spaces.md). Vertices are padded to 7, so the cells of a batch run as one grouped
    convolution per vertex whatever their shapes.
    """

    def __init__(
        self, width: int, in_channels: int, num_classes: int, op_vocab: Sequence[str]
    ) -> None:
        super().__init__(width, 4 * width, in_channels, num_classes, op_vocab)

    def kernel_shape(self, graph: int, node: int, kernel_size: int) -> tuple[int, int, int, int]:
        if not 0 <= graph < len(LAYOUT):
            raise ValueError(f"graph must be in 0..{len(LAYOUT) - 1} for NB101 (got {graph!r})")
        channels = self.width * 2 ** LAYOUT[:graph].count("downsample")
        if LAYOUT[graph] == "cell":
            return (channels, channels, kernel_size, kernel_size)
        if node != 2:
            raise ValueError(f"node {node} of an NB101 downsampling graph has no kernel; valid: 2")
        return (2 * channels, channels, 1, 1)

    def forward(
        self, images: torch.Tensor, chain: ChainBatch, kernels: dict[int, torch.Tensor]
    ) -> torch.Tensor:
        """Runs every arch of `chain` on `images`.

        Args:
            images: (M, in_channels, H, W).
            chain: the archs, encoded with the global layout (C = 11).
            kernels: generated weights {1: (B, C, N, P_1), 3: (B, C, N, P_3)}.

        Returns:
            (M, B, K) logits.
        """
        M = images.shape[0]
        B, C, N = chain.ops.shape
        if C != len(LAYOUT):
            raise ValueError(
                f"the NB101 target net needs the global chain of {len(LAYOUT)} graphs (got {C})"
            )
        k1 = [g.unbind(1) for g in kernels[1].unbind(1)]  # [c][n]: (B, P_1)
        k3 = [g.unbind(1) for g in kernels[3].unbind(1)]  # [c][n]: (B, P_3)
        pool = (chain.ops == self.op_index["maxpool3x3"]).to(images.dtype)  # (B, C, N)
        is_out = (chain.ops == self.op_index["output"]).to(images.dtype)  # (B, C, N)
        adj = chain.adj.to(images.dtype)  # (B, C, N, N)

        x = F.relu(batch_norm(self.stem(images).unsqueeze(1)))  # (M, 1, W, H, W)
        x = x.expand(M, B, *x.shape[2:])  # (M, B, W, H, W): one copy per arch
        channels = self.width
        for c, kind in enumerate(LAYOUT):
            if kind == "cell":
                x = self._cell(x, k1[c], k3[c], adj[:, c], pool[:, c], is_out[:, c], channels)
            else:
                w = take_kernel(k1[c][2], self.max_channels, 2 * channels, channels, 1)
                x = spatial_op(lambda t: F.max_pool2d(t, 2, 2), x)
                x = batch_norm(grouped_conv(x, w))
                channels *= 2

        x = F.relu(batch_norm(x)).mean(dim=(-2, -1))  # (M, B, 4W)
        return self.classifier(x)  # (M, B, K)

    def _cell(
        self,
        x: torch.Tensor,
        k1: Sequence[torch.Tensor],
        k3: Sequence[torch.Tensor],
        adj: torch.Tensor,
        pool: torch.Tensor,
        is_out: torch.Tensor,
        channels: int,
    ) -> torch.Tensor:
        """One NB101 cell for every arch.

        Args:
            x: (M, B, Ch, H, W) cell input.
            k1, k3: per vertex n, the (B, P_1) and (B, P_3) generated weights.
            adj: (B, N, N) adjacency; pool, is_out: (B, N) 1.0 where vertex n is a max-pool /
                the output.
        """
        N = adj.shape[-1]
        values = [x]  # vertex 0 is the input
        out = torch.zeros_like(x)
        for j in range(1, N):
            weights = adj[:, :j, j].T.reshape(j, 1, -1, 1, 1, 1)  # (j, 1, B, 1, 1, 1)
            inp = (torch.stack(values) * weights).sum(dim=0)  # (M, B, Ch, H, W)
            kernel = take_kernel(k3[j], self.max_channels, channels, channels, 3) + F.pad(
                take_kernel(k1[j], self.max_channels, channels, channels, 1), (1, 1, 1, 1)
            )  # (B, Ch, Ch, 3, 3); zero unless vertex j is a conv
            conv = F.relu(batch_norm(grouped_conv(inp, kernel, padding=1)))
            p = pool[:, j].view(1, -1, 1, 1, 1)  # (1, B, 1, 1, 1)
            pooled = spatial_op(lambda t: F.max_pool2d(t, 3, 1, 1), inp)
            values.append(conv + p * pooled)
            out = out + is_out[:, j].view(1, -1, 1, 1, 1) * inp
        # NOTE: the sum at the output (NB101 concatenates) grows with the fan-in; normalising keeps
        # the scale of 9 chained cells stable
        return batch_norm(out)
