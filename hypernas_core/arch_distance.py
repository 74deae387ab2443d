"""Distances between archs of one space: op differences of the searched cell.

The distance of two archs is the Hamming distance of their cell graphs: the number of nodes whose op
differs, plus the number of adjacency entries that differ. In NB201 every cell has the same
adjacency and node e + 1 carries the op of edge e, so this is the number of edges whose op differs
(0..6).

Shapes:
    A archs, N nodes per cell graph.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from hypernas_core.search_space import SearchSpace


def op_matrix(space: SearchSpace, archs: Sequence[str]) -> np.ndarray:
    """Index of each node's op in `space.op_vocab`, one row per arch.

    Returns:
        (A, N) int64 array (cell graph of each arch, padded with -1 to the longest).

    Raises:
        ValueError: for an invalid arch.
    """
    lookup = {op: i for i, op in enumerate(space.op_vocab)}
    rows = [[lookup[op] for op in space.cell_graph(a).ops] for a in archs]
    width = max((len(r) for r in rows), default=0)
    out = np.full((len(rows), width), -1, dtype=np.int64)  # (A, N)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


def hamming_distance(space: SearchSpace, a: str, b: str) -> int:
    """Number of cell nodes whose op differs plus adjacency entries that differ.

    Raises:
        ValueError: for an invalid arch.
    """
    ga, gb = space.cell_graph(a), space.cell_graph(b)
    n = max(len(ga.ops), len(gb.ops))
    ops_a = list(ga.ops) + [""] * (n - len(ga.ops))
    ops_b = list(gb.ops) + [""] * (n - len(gb.ops))
    adj_a, adj_b = np.zeros((n, n), dtype=np.int64), np.zeros((n, n), dtype=np.int64)
    adj_a[: len(ga.ops), : len(ga.ops)] = ga.adj
    adj_b[: len(gb.ops), : len(gb.ops)] = gb.adj
    return int(sum(x != y for x, y in zip(ops_a, ops_b, strict=True)) + (adj_a != adj_b).sum())


def cell_diff(space: SearchSpace, a: str, b: str) -> pd.DataFrame:
    """Node-by-node comparison of the cells of two archs.

    Returns:
        One row per node: node, op_a, op_b, differs (bool). For NB201 a column `edge` ("0->1", ...)
        names the edge each node stands for.

    Raises:
        ValueError: for an invalid arch or cells of different sizes.
    """
    ga, gb = space.cell_graph(a), space.cell_graph(b)
    if len(ga.ops) != len(gb.ops):
        raise ValueError(
            f"cells of different sizes cannot be compared node by node ({len(ga.ops)} vs {len(gb.ops)})"
        )
    table = pd.DataFrame(
        {
            "node": np.arange(len(ga.ops)),
            "op_a": ga.ops,
            "op_b": gb.ops,
        }
    )
    table["differs"] = table["op_a"] != table["op_b"]
    edges = getattr(space, "edges", None)
    if edges is not None and len(edges) == len(ga.ops) - 2:
        # NOTE: NB201 convention: node 0 is the input, node e + 1 is edge e, the last is the output
        names = ["input", *[f"{i}->{j}" for i, j in edges], "output"]
        table.insert(1, "edge", names)
    return table


def nearest_archs(
    space: SearchSpace, arch: str, candidates: Sequence[str], k: int = 5, exclude_self: bool = True
) -> pd.DataFrame:
    """The `k` candidates closest to `arch` in Hamming distance (ties in candidate order).

    Args:
        space: the search space of every arch.
        arch: the query arch.
        candidates: archs to search, e.g. `space.enumerate()`.
        k: how many to return, >= 1.
        exclude_self: drop candidates identical to `arch` (distance 0).

    Returns:
        Columns: arch, distance, position (index into `candidates`), sorted by distance.

    Raises:
        ValueError: for k < 1 or an invalid arch.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1 (got {k!r})")
    query = op_matrix(space, [arch])  # (1, N)
    table = op_matrix(space, candidates)  # (A, N)
    return nearest_in_matrix(query[0], table, candidates, k, exclude_self)


def nearest_in_matrix(
    query: np.ndarray,
    table: np.ndarray,
    candidates: Sequence[str],
    k: int = 5,
    exclude_self: bool = True,
) -> pd.DataFrame:
    """Like `nearest_archs`, on precomputed `op_matrix` rows (fast for a whole space).

    Only op differences count here, which equals the Hamming distance when all cells share one
    adjacency (as in NB201).

    Shapes:
        query (N,), table (A, N).
    """
    if k < 1:
        raise ValueError(f"k must be >= 1 (got {k!r})")
    if table.shape[1:] != query.shape:
        raise ValueError(
            f"query has {query.shape[0]} nodes but table rows have {table.shape[1]} nodes"
        )
    distance = (table != query[None, :]).sum(axis=1)  # (A,)
    positions = np.arange(len(distance))
    if exclude_self:
        keep = distance > 0
        distance, positions = distance[keep], positions[keep]
    order = np.argsort(distance, kind="stable")[:k]
    return pd.DataFrame(
        {
            "arch": [candidates[i] for i in positions[order]],
            "distance": distance[order].astype(np.int64),
            "position": positions[order],
        }
    )


def op_counts(space: SearchSpace, archs: Sequence[str]) -> pd.DataFrame:
    """How often each op occurs in the cell of each arch (input/output nodes not counted).

    Returns:
        One row per arch, one int column per op of the space's cell vocabulary, e.g.
        `n_nor_conv_3x3`.
    """
    ops = op_matrix(space, archs)  # (A, N)
    names = [op for op in space.op_vocab if op not in ("input", "output")]
    cell_ops = getattr(space, "cell_ops", None)
    if cell_ops is not None:
        names = list(cell_ops)
    lookup = {op: i for i, op in enumerate(space.op_vocab)}
    return pd.DataFrame({f"n_{op}": (ops == lookup[op]).sum(axis=1) for op in names})
