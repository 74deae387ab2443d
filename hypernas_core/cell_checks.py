"""Rules a cell can break without being invalid: checks that explain what a cell computes.

Every NB201 string with known ops is a valid arch (the benchmark trains all 15,625), but some cells
are degenerate, e.g. every path from the input to the output crosses a `none` op, so the cell
outputs zeros. These checks name such cases for students editing a cell.
"""

from __future__ import annotations

import numpy as np

from hypernas_core.search_space import CellGraph, SearchSpace

BLOCKING_OPS = ("none",)  # ops that output zeros: data does not flow through them


def has_data_path(graph: CellGraph) -> bool:
    """True when some path from the first (input) to the last (output) node avoids blocking ops."""
    n = len(graph.ops)
    adj = np.asarray(graph.adj, dtype=bool)
    reached = np.zeros(n, dtype=bool)
    reached[0] = True
    for node in range(n):  # nodes are in topological order (adj is upper triangular)
        if reached[node] and (node == 0 or graph.ops[node] not in BLOCKING_OPS):
            reached |= adj[node]
    return bool(reached[n - 1])


def cell_warnings(space: SearchSpace, arch: str) -> list[str]:
    """Plain-language warnings about a valid arch's cell (empty when nothing is odd).

    Raises:
        ValueError: for an invalid arch (the space's own message).
    """
    graph = space.cell_graph(arch)
    warnings = []
    if not has_data_path(graph):
        warnings.append(
            "every path from the cell input to its output crosses a 'none' op, so the cell "
            "outputs zeros and the network cannot learn (such archs score ~10% on CIFAR-10)"
        )
    # ops with generated weights; a cell-less space's path graph (kind "net") has none by design
    if graph.kind == "cell" and not any(op in space.kernel_sizes for op in graph.ops):
        warnings.append(
            "the cell has no convolution, so it has no weights: the hypernetwork generates "
            "nothing for its nodes"
        )
    return warnings
