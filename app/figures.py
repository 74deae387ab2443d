"""Plotly figures of the app. Inputs are plain arrays, DataFrames and library objects."""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from hypernas_core import CellGraph

OP_COLORS = {
    "input": "#9e9e9e",
    "output": "#9e9e9e",
    "none": "#eeeeee",
    "skip_connect": "#80cbc4",
    "nor_conv_1x1": "#90caf9",
    "nor_conv_3x3": "#1e88e5",
    "avg_pool_3x3": "#ffb74d",
}
HIGHLIGHT = "#d81b60"


def _box(fig: go.Figure, x: float, y: float, text: str, color: str, w: float = 1.7) -> None:
    fig.add_shape(
        type="rect",
        x0=x - w / 2,
        x1=x + w / 2,
        y0=y - 0.35,
        y1=y + 0.35,
        fillcolor=color,
        line={"color": "#455a64"},
        layer="below",
    )
    fig.add_annotation(x=x, y=y, text=text, showarrow=False, font={"size": 12, "color": "#263238"})


def _arrow(
    fig: go.Figure,
    start: tuple[float, float],
    end: tuple[float, float],
    color: str = "#455a64",
    standoff: float = 0,
) -> None:
    """An arrow from `start` to `end` in data coordinates."""
    fig.add_annotation(
        x=end[0],
        y=end[1],
        ax=start[0],
        ay=start[1],
        xref="x",
        yref="y",
        axref="x",
        ayref="y",
        showarrow=True,
        arrowhead=3,
        arrowwidth=1.5,
        arrowcolor=color,
        standoff=standoff,
        startstandoff=standoff,
        text="",
    )


def _label(fig: go.Figure, x: float, y: float, text: str) -> None:
    fig.add_annotation(x=x, y=y, text=text, showarrow=False, font={"size": 11, "color": "#546e7a"})


def pipeline_figure() -> go.Figure:
    """The HyperNAS pipeline: arch -> global encoding -> shared GCN -> head / hypernetwork -> loss."""
    fig = go.Figure()
    main = [
        (0.0, "arch string"),
        (2.2, "global encoding<br>17 cell graphs,<br>z-chaining"),
        (4.4, "shared bi-GCN<br>encoder"),
        (6.6, "regression head"),
        (8.8, "predicted score"),
    ]
    aux = [
        (4.4, "hypernetwork<br>(node → op weights)"),
        (6.6, "target net<br>on real images"),
        (8.8, "aux logits"),
    ]
    for (x, text), row in [(m, 1.0) for m in main] + [(a, -0.6) for a in aux]:
        _box(fig, x, row, text, "#e3f2fd" if row > 0 else "#fce4ec")
    for row, boxes in ((1.0, main), (-0.6, aux)):
        for (x0, _), (x1, _) in zip(boxes, boxes[1:], strict=False):
            _arrow(fig, (x0 + 0.85, row), (x1 - 0.85, row))
    _arrow(fig, (4.4, 0.65), (4.4, -0.25))
    _label(fig, 5.2, 0.2, "node embeddings")

    loss = "adaptive multi-task loss<br>Σ<sub>t</sub> L<sub>t</sub><sup>q−1</sup>/(2u<sub>t</sub>²)<br>+ ln(1+u<sub>t</sub>²)"
    _box(fig, 11.4, 0.2, loss, "#fff8e1", w=2.4)
    _arrow(fig, (9.65, 1.0), (10.2, 0.45))
    _arrow(fig, (9.65, -0.6), (10.2, -0.05))
    _label(fig, 9.9, 1.15, "MSE")
    _label(fig, 10.05, -0.65, "cross-entropy")
    fig.update_xaxes(visible=False, range=[-1, 12.8])
    fig.update_yaxes(visible=False, range=[-1.1, 1.5])
    fig.update_layout(height=300, margin={"l": 0, "r": 0, "t": 10, "b": 0}, plot_bgcolor="white")
    return fig


def _layered_positions(graph: nx.DiGraph) -> dict[int, np.ndarray]:
    for layer, nodes in enumerate(nx.topological_generations(graph)):
        for node in nodes:
            graph.nodes[node]["layer"] = layer
    return nx.multipartite_layout(graph, subset_key="layer")


def cell_figure(
    cell: CellGraph, highlight: Sequence[int] = (), node_names: Sequence[str] | None = None
) -> go.Figure:
    """The cell as the predictor sees it: ops on nodes, edges = data flow, left to right.

    Args:
        cell: the cell graph. highlight: nodes drawn with a thick magenta ring (e.g. a diff).
        node_names: hover label of each node (e.g. the NB201 edge a node stands for).
    """
    graph = nx.DiGraph()
    graph.add_nodes_from(range(len(cell.ops)))
    graph.add_edges_from(zip(*np.nonzero(cell.adj), strict=True))
    pos = _layered_positions(graph)
    fig = go.Figure()
    for i, j in graph.edges:
        _arrow(fig, pos[i], pos[j], color="#90a4ae", standoff=14)
    marked = set(highlight)
    names = node_names or [f"node {n}" for n in range(len(cell.ops))]
    fig.add_trace(
        go.Scatter(
            x=[pos[n][0] for n in graph.nodes],
            y=[pos[n][1] for n in graph.nodes],
            mode="markers+text",
            text=list(cell.ops),
            textposition="bottom center",
            hovertext=[f"{names[n]}: {cell.ops[n]}" for n in graph.nodes],
            hoverinfo="text",
            marker={
                "size": 26,
                "color": [OP_COLORS.get(op, "#b0bec5") for op in cell.ops],
                "line": {
                    "width": [5 if n in marked else 1 for n in graph.nodes],
                    "color": [HIGHLIGHT if n in marked else "#455a64" for n in graph.nodes],
                },
            },
            showlegend=False,
        )
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(height=330, margin={"l": 10, "r": 10, "t": 10, "b": 10}, plot_bgcolor="white")
    return fig


def macro_figure(graphs: Sequence[CellGraph]) -> go.Figure:
    """The macro network as a chain: stem, the graphs of the chain, then the classifier."""
    labels = ["stem"] + [g.kind for g in graphs] + ["pool + classifier"]
    colors = ["#cfd8dc"] + ["#1e88e5" if g.kind == "cell" else "#ffb74d" for g in graphs]
    colors += ["#cfd8dc"]
    x = np.arange(len(labels))
    y = np.zeros(len(labels))
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=y, mode="lines", line={"color": "#90a4ae"}, hoverinfo="skip"))
    fig.add_trace(
        go.Scatter(
            x=x,
            y=y,
            mode="markers+text",
            marker={"size": 22, "symbol": "square", "color": colors},
            text=[f"{k}" if k in ("stem", "pool + classifier") else "" for k in labels],
            textposition="top center",
            hovertext=[f"{i}: {k}" for i, k in enumerate(labels)],
            hoverinfo="text",
            showlegend=False,
        )
    )
    for i, g in enumerate(graphs, start=1):
        fig.add_annotation(
            x=i,
            y=-0.5,
            text=f"{'C' if g.kind == 'cell' else 'R'}{i - 1}",
            showarrow=False,
            font={"size": 10},
        )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, range=[-1, 1])
    fig.update_layout(
        height=160,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        plot_bgcolor="white",
        showlegend=False,
    )
    return fig


def embedding_scatter(
    xy: np.ndarray,
    color: np.ndarray,
    color_label: str,
    archs: Sequence[str],
    is_train: np.ndarray,
    title: str,
) -> go.Figure:
    """Every arch as a point (customdata = its position, used by app.selection); training archs
    as black-ringed markers on top."""
    positions = np.arange(len(archs))
    fig = go.Figure()
    for mask, name, marker in (
        (~is_train, "all archs", {"size": 4, "opacity": 0.7}),
        (is_train, "training archs", {"size": 9, "line": {"width": 1.5, "color": "black"}}),
    ):
        fig.add_trace(
            go.Scattergl(
                x=xy[mask, 0],
                y=xy[mask, 1],
                mode="markers",
                name=name,
                customdata=positions[mask],
                text=[archs[i] for i in positions[mask]],
                hovertemplate="%{text}<br>" + color_label + ": %{marker.color:.3f}<extra></extra>",
                marker={
                    **marker,
                    "color": color[mask],
                    "colorscale": "Viridis",
                    "cmin": float(np.nanmin(color)),
                    "cmax": float(np.nanmax(color)),
                    "colorbar": {"title": color_label} if name == "all archs" else None,
                },
            )
        )
    fig.update_layout(
        title=title,
        height=560,
        dragmode="select",
        legend={"orientation": "h", "y": -0.08},
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
    )
    return fig


def curves_figure(
    frame: pd.DataFrame, x: str, columns: Sequence[str], title: str, y_title: str = ""
) -> go.Figure:
    """Line chart of several columns of a frame (one line per column, or per `run` if present)."""
    fig = go.Figure()
    groups = frame.groupby("run", sort=False) if "run" in frame else [("", frame)]
    for run, part in groups:
        for col in columns:
            if col in part and part[col].notna().any():
                name = f"{run} {col}".strip()
                fig.add_trace(go.Scatter(x=part[x], y=part[col], mode="lines+markers", name=name))
    fig.update_layout(
        title=title,
        height=340,
        xaxis_title=x,
        yaxis_title=y_title,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
    )
    return fig


def pred_vs_true_figure(
    frames: dict[str, pd.DataFrame], use_ranks: bool = False, max_points: int = 4000
) -> go.Figure:
    """Predicted vs true score (or rank) of held-out archs, one colour per run (subsampled).

    The predicted axis is scaled to the predictions, so a predictor whose scores are compressed
    (common early in training) still shows its ordering; the dashed line is pred = true.
    """
    x_col, y_col = ("true_rank", "pred_rank") if use_ranks else ("true", "pred")
    fig = go.Figure()
    lo, hi, y_lo, y_hi = np.inf, -np.inf, np.inf, -np.inf
    for name, frame in frames.items():
        held = frame[~frame["is_train"]]
        if len(held) > max_points:
            held = held.sample(max_points, random_state=0)
        lo, hi = min(lo, held[x_col].min()), max(hi, held[x_col].max())
        y_lo, y_hi = min(y_lo, held[y_col].min()), max(y_hi, held[y_col].max())
        fig.add_trace(
            go.Scattergl(
                x=held[x_col],
                y=held[y_col],
                mode="markers",
                name=name,
                marker={"size": 4, "opacity": 0.5},
                text=held["arch"],
                hovertemplate="%{text}<br>true %{x:.2f}<br>pred %{y:.2f}<extra></extra>",
            )
        )
    if np.isfinite(lo):
        line = [min(lo, y_lo), max(hi, y_hi)]
        fig.add_trace(
            go.Scatter(
                x=line,
                y=line,
                mode="lines",
                name="pred = true",
                line={"dash": "dash", "color": "grey"},
            )
        )
        pad = 0.05 * (y_hi - y_lo or 1.0)
        fig.update_yaxes(range=[y_hi + pad, y_lo - pad] if use_ranks else [y_lo - pad, y_hi + pad])
        if use_ranks:
            fig.update_xaxes(autorange="reversed")
    what = "rank (1 = best)" if use_ranks else "score"
    fig.update_layout(
        height=480,
        xaxis_title=f"true {what}",
        yaxis_title=f"predicted {what}",
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
    )
    return fig


def heatmap_figure(image: np.ndarray, title: str, height: int = 260) -> go.Figure:
    """A kernel image, symmetric colour scale around 0."""
    bound = float(np.abs(image).max()) or 1.0
    fig = go.Figure(go.Heatmap(z=image, colorscale="RdBu", zmin=-bound, zmax=bound))
    fig.update_yaxes(autorange="reversed", visible=False)
    fig.update_xaxes(visible=False)
    fig.update_layout(title=title, height=height, margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return fig
