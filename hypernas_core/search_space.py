"""The search-space interface and the registry of spaces.

A search space turns an arch (a string in the space's own notation) into graphs the predictor can
read, and knows its label table, its op vocabulary, its macro skeleton and the target network that
the hypernetwork's weights run in.

Shapes:
    B archs, C graphs in the macro chain (cells and reduction blocks), N nodes per graph (padded).
"""

from __future__ import annotations

import abc
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch

if TYPE_CHECKING:
    from hypernas_core.target_net import TargetNet

ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"


@dataclass(frozen=True)
class CellGraph:
    """One graph of the macro chain with ops on nodes.

    Attributes:
        ops: op name of every node, inputs first, output last.
        adj: (N, N) 0/1 matrix, adj[i, j] = 1 for an edge i -> j; upper triangular (a DAG).
        kind: "cell" for a searched cell, another name for fixed blocks (e.g. "reduction").
    """

    ops: tuple[str, ...]
    adj: np.ndarray
    kind: str = "cell"


@dataclass(frozen=True)
class ChainBatch:
    """A batch of archs encoded as chains of padded graphs.

    Attributes:
        ops: (B, C, N) long, index into the space's op vocabulary (0 where padded).
        adj: (B, C, N, N) float, 0/1 forward adjacency.
        mask: (B, C, N) bool, True for real nodes.
        kernel: (B, C, N) long, kernel size of the weights each node's op needs (0: none).
    """

    ops: torch.Tensor
    adj: torch.Tensor
    mask: torch.Tensor
    kernel: torch.Tensor

    def __len__(self) -> int:
        return self.ops.shape[0]

    def index(self, idx: torch.Tensor | Sequence[int] | slice) -> ChainBatch:
        """Returns the archs at `idx` (indices along B)."""
        if not isinstance(idx, slice | torch.Tensor):
            idx = torch.as_tensor(list(idx), dtype=torch.long)
        return ChainBatch(self.ops[idx], self.adj[idx], self.mask[idx], self.kernel[idx])

    def to(self, device: torch.device | str) -> ChainBatch:
        """Moves the batch to `device`; the adjacency becomes float32 there."""
        return ChainBatch(
            self.ops.to(device),
            self.adj.to(device, dtype=torch.float32),
            self.mask.to(device),
            self.kernel.to(device),
        )


class SearchSpace(abc.ABC):
    """A NAS search space: parsing, sampling, labels, graph encodings and the target network."""

    name: str = ""  # short registry name, e.g. "nb201"
    title: str = ""  # human-readable name
    op_vocab: tuple[str, ...] = ()  # every op name that can appear on a node
    kernel_sizes: dict[str, int] = {}  # op -> kernel size of its generated weights (absent: none)
    label_columns: tuple[str, ...] = ()  # columns of the label table that can be the target
    default_label: str = ""  # the label used when none is chosen
    max_nodes: int = 0  # N, nodes per padded graph

    # parsing and validation

    @abc.abstractmethod
    def parse(self, arch: str) -> object:
        """Parses and validates an arch string.

        Raises:
            ValueError: naming the arch and what is valid.
        """

    def validate(self, arch: str) -> str:
        """Returns the canonical form of `arch`, or raises ValueError explaining what is wrong."""
        return self.format(self.parse(arch))

    @abc.abstractmethod
    def format(self, parsed: object) -> str:
        """Turns a parsed arch back into the space's canonical string."""

    # the set of archs

    @property
    def size(self) -> int | None:
        """Number of archs in the space, or None where it is not enumerable."""
        return None

    def enumerate(self) -> list[str]:
        """Returns every arch of a finite space in a fixed order.

        Raises:
            ValueError: when the space is not finite.
        """
        raise ValueError(f"space {self.name!r} is not enumerable; use sample(n, seed)")

    @abc.abstractmethod
    def sample(self, n: int, seed: int) -> list[str]:
        """Draws `n` distinct archs uniformly with the given seed."""

    def mutate(self, arch: str, rng: np.random.Generator) -> str:
        """Returns a valid arch one small change away from `arch` (used by evolutionary search).

        Raises:
            ValueError: when the space defines no mutation.
        """
        raise ValueError(f"space {self.name!r} defines no mutation; use random search")

    def labelled_archs(self) -> list[str]:
        """Every arch of the bundled label table, in table order (benchmark splits draw from it).

        For a finite space with a complete table (NB201) this is `enumerate()`; for a space with a
        partial table (NB101's 500 archs) it is the labelled subset only.
        """
        return self.label_table()["arch"].tolist()

    # labels

    @abc.abstractmethod
    def label_table(self) -> pd.DataFrame:
        """Returns the bundled benchmark table: an `arch` column plus the label columns."""

    def labels(self, archs: Sequence[str], target: str | None = None) -> np.ndarray:
        """Looks up the benchmark score of each arch.

        Raises:
            ValueError: for an unknown label column or an arch missing from the table.
        """
        target = target or self.default_label
        if target not in self.label_columns:
            raise ValueError(
                f"unknown label {target!r} for space {self.name!r}; valid: "
                + ", ".join(self.label_columns)
            )
        table = self._indexed_table()
        canonical = [self.validate(a) for a in archs]
        missing = [a for a in canonical if a not in table.index]
        if missing:
            raise ValueError(
                f"{len(missing)} arch(s) have no label in the {self.name} table, e.g. {missing[0]!r}"
            )
        return table.loc[canonical, target].to_numpy(dtype=np.float64)

    def known_labels(self, archs: Sequence[str], target: str | None = None) -> np.ndarray:
        """Like `labels`, but NaN for archs the bundled table does not hold (e.g. found by search).

        Raises:
            ValueError: for an unknown label column or an invalid arch.
        """
        out = np.full(len(archs), np.nan)
        for i, arch in enumerate(archs):
            self.validate(arch)
            try:
                out[i] = self.labels([arch], target)[0]
            except ValueError as err:
                if "no label" not in str(err):
                    raise
        return out

    @functools.cache  # noqa: B019 - spaces are long-lived singletons from the registry
    def _indexed_table(self) -> pd.DataFrame:
        return self.label_table().set_index("arch")

    # graphs

    @abc.abstractmethod
    def cell_graph(self, arch: str) -> CellGraph:
        """The searched cell of `arch` as an op-on-node DAG."""

    @abc.abstractmethod
    def macro_graphs(self, arch: str) -> list[CellGraph]:
        """The whole macro network of `arch` as the sequence of its graphs, input to output."""

    def chain_length(self, encoding: str) -> int:
        """C, the number of graphs an arch is encoded as under `encoding`."""
        if encoding == "cell":
            return 1
        return len(self.macro_graphs(self.sample(1, seed=0)[0]))

    def encode(self, archs: Sequence[str], encoding: str) -> ChainBatch:
        """Encodes archs as padded graph chains.

        Args:
            archs: arch strings.
            encoding: "cell" gives C = 1 (the searched cell alone); "global" and "global-pe" give
                the whole macro chain.

        Returns:
            The batch, on the CPU.
        """
        graphs = [
            [self.cell_graph(a)] if encoding == "cell" else self.macro_graphs(a) for a in archs
        ]
        return self._stack(graphs)

    def _stack(self, graphs: list[list[CellGraph]], nodes: int | None = None) -> ChainBatch:
        # chains of different lengths (e.g. a variable depth) are padded with empty graphs at the
        # end; `nodes` pads graphs to fewer than max_nodes where an encoding's graphs are smaller
        B, C = len(graphs), max((len(chain) for chain in graphs), default=0)
        N = nodes or self.max_nodes
        ops = np.zeros((B, C, N), dtype=np.int64)
        adj = np.zeros((B, C, N, N), dtype=np.uint8)
        mask = np.zeros((B, C, N), dtype=bool)
        kernel = np.zeros((B, C, N), dtype=np.int64)
        lookup = {op: i for i, op in enumerate(self.op_vocab)}
        for b, chain in enumerate(graphs):
            for c, g in enumerate(chain):
                n = len(g.ops)
                ops[b, c, :n] = [lookup[o] for o in g.ops]
                kernel[b, c, :n] = [self.kernel_sizes.get(o, 0) for o in g.ops]
                adj[b, c, :n, :n] = g.adj
                mask[b, c, :n] = True
        return ChainBatch(
            torch.from_numpy(ops),
            torch.from_numpy(adj),
            torch.from_numpy(mask),
            torch.from_numpy(kernel),
        )

    # the network the hypernetwork's weights run in

    @abc.abstractmethod
    def build_target_net(self, width: int, in_channels: int, num_classes: int) -> TargetNet:
        """Builds the target network: the arch itself at a reduced width.

        Args:
            width: channels of the first stage.
            in_channels: channels of the aux images.
            num_classes: K, classes of the aux task.
        """

    @property
    def max_kernel_channels(self) -> int:
        """Largest channel count (in or out) of a generated kernel at width 1; scales with width."""
        return 1

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, size={self.size}, ops={len(self.op_vocab)})"
        )


_REGISTRY: dict[str, type[SearchSpace]] = {}


def register_space(cls: type[SearchSpace]) -> type[SearchSpace]:
    """Class decorator that adds a space to the registry under `cls.name`."""
    _REGISTRY[cls.name] = cls
    return cls


@functools.cache
def get_space(name: str) -> SearchSpace:
    """Returns the (shared) instance of the space called `name`.

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown search space {name!r}; valid: {', '.join(list_spaces())}")
    return _REGISTRY[name]()


def list_spaces() -> list[str]:
    """Names of every registered space."""
    return sorted(_REGISTRY)
