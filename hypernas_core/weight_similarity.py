"""Comparing the kernels the hypernetwork generates for two archs, node by node.

Shapes:
    out, in output and input channels of a kernel, k its size.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from hypernas_core.predictor import GeneratedWeights


def kernel_image(weight: torch.Tensor) -> np.ndarray:
    """Lays an (out, in, k, k) kernel out as one 2-D image of (out * k, in * k) pixels.

    Block (o, i) of the image is the k x k kernel from input channel i to output channel o.
    """
    if weight.ndim != 4 or weight.shape[2] != weight.shape[3]:
        raise ValueError(f"weight must have shape (out, in, k, k) (got {tuple(weight.shape)})")
    out_ch, in_ch, k, _ = weight.shape
    w = weight.detach().cpu().float().numpy()
    return w.transpose(0, 2, 1, 3).reshape(out_ch * k, in_ch * k)  # (out * k, in * k)


def weight_similarity(a: GeneratedWeights, b: GeneratedWeights) -> pd.DataFrame:
    """Cosine similarity of the generated kernels at every node both archs generate weights for.

    A node is shared when it has the same (graph, node) position, the same op and the same kernel
    shape in both archs. Nodes where only one arch has a kernel, or the ops differ, are listed with
    a NaN similarity so the table shows the whole picture.

    Returns:
        One row per node position: graph, graph_kind, node, op_a, op_b, shared, cosine.
    """
    nodes_a = {(n.graph, n.node): n for n in a.nodes}
    nodes_b = {(n.graph, n.node): n for n in b.nodes}
    rows = []
    for key in sorted(set(nodes_a) | set(nodes_b)):
        na, nb = nodes_a.get(key), nodes_b.get(key)
        shared = (
            na is not None
            and nb is not None
            and na.op == nb.op
            and na.weight.shape == nb.weight.shape
        )
        cosine = float("nan")
        if shared:
            va, vb = na.weight.flatten().double(), nb.weight.flatten().double()
            denom = float(va.norm() * vb.norm())
            cosine = float(va @ vb) / denom if denom > 0 else float("nan")
        kind = (na or nb).graph_kind
        rows.append(
            {
                "graph": key[0],
                "graph_kind": kind,
                "node": key[1],
                "op_a": na.op if na else None,
                "op_b": nb.op if nb else None,
                "shared": shared,
                "cosine": cosine,
            }
        )
    return pd.DataFrame(rows)
