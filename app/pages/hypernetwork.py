"""Hypernetwork: the op weights generated for an arch, their aux accuracy, and a comparison."""

import pandas as pd
import plotly.express as px
import streamlit as st

from app import components, figures, session
from hypernas_core.weight_similarity import kernel_image, weight_similarity

st.title("Hypernetwork")
components.explain_ui(
    "The hypernetwork turns the embedding of every conv node into that op's kernel. The arch then "
    "runs as a small **target net** with exactly those kernels on held-out aux images: its "
    "accuracy (chance = 1 / classes) shows whether the embeddings carry what the ops compute. A "
    "kernel of shape (out, in, k, k) is drawn as an image of out × in blocks of k × k pixels, red "
    "positive, blue negative. Comparing two archs: the **cosine similarity** of the kernels at "
    "the nodes where both have the same op (1 = same direction). Because of z-chaining, the same "
    "op gets different weights in different positions and different archs."
)

hypernas_runs = [r for r in session.ready_runs() if r.predictor.model.has_hypernet]
hint = (
    "No finished **hypernas** run in this session: train one on the Train page (method "
    "hypernas) or run the demo on the Overview page."
)
run = components.require_run("Run", "hypernetwork_run", hypernas_runs, hint)
space = run.predictor.space


def generated(arch: str):
    """Generated weights of `arch`, computed once per run and arch (kept in the run record)."""
    if arch not in run.weights:
        with st.spinner(f"Generating the weights of {arch} and testing them on aux images…"):
            run.weights[arch] = run.predictor.generate_weights(arch)
    return run.weights[arch]


arch = components.arch_editor_ui(space, "hypernetwork_a", default=run.train_archs[0])
if arch is None:
    st.stop()
weights = generated(arch)
if not weights.nodes:
    st.warning("This arch has no conv nodes, so the hypernetwork generates no kernels for it.")
    st.stop()

c1, c2, c3 = st.columns(3)
c1.metric(f"Aux accuracy on {weights.aux_dataset}", f"{weights.aux_accuracy:.1%}")
c2.metric("Generated kernels", len(weights.nodes))
c3.metric("Generated weights", f"{sum(n.weight.numel() for n in weights.nodes):,}")

stats = pd.DataFrame(weights.summary())
stats["position"] = (
    stats["graph_kind"] + " " + stats["graph"].astype(str) + " / node " + stats["node"].astype(str)
)
st.plotly_chart(
    px.bar(
        stats,
        x="position",
        y="l2_norm",
        color="op",
        height=300,
        title="L2 norm of each generated kernel, input to output",
    ),
    key="hypernetwork_norms",
)
st.dataframe(stats.drop(columns="position"), hide_index=True, height=200, key="hypernetwork_stats")

graph_ids = sorted(stats["graph"].unique())
graph = st.select_slider(
    "Graph of the macro chain",
    graph_ids,
    key="hypernetwork_graph",
    format_func=lambda g: f"{g} ({stats.loc[stats['graph'] == g, 'graph_kind'].iloc[0]})",
)
nodes = [n for n in weights.nodes if n.graph == graph]
cols = st.columns(max(len(nodes), 1))
for col, node in zip(cols, nodes, strict=False):
    title = f"node {node.node}: {node.op} {tuple(node.weight.shape)}"
    col.plotly_chart(
        figures.heatmap_figure(kernel_image(node.weight), title),
        key=f"hypernetwork_heat_{graph}_{node.node}",
    )

st.subheader("Compare with a second arch")
other = components.arch_editor_ui(space, "hypernetwork_b", default=run.train_archs[-1])
if other is not None:
    similarity = weight_similarity(weights, generated(other))
    st.metric("Aux accuracy of the second arch", f"{run.weights[other].aux_accuracy:.1%}")
    shared = similarity[similarity["shared"]]
    if shared.empty:
        st.info("The two archs share no conv node with the same op, so no kernels can be compared.")
    else:
        shared = shared.assign(
            position=shared["graph"].astype(str) + "/" + shared["node"].astype(str)
        )
        st.plotly_chart(
            px.bar(
                shared,
                x="position",
                y="cosine",
                color="op_a",
                range_y=[-1, 1],
                height=300,
                title="Cosine similarity per shared node (graph/node)",
            ),
            key="hypernetwork_cosine",
        )
        st.caption(
            f"Mean cosine similarity over {len(shared)} shared nodes: {shared['cosine'].mean():.3f}"
        )
    st.dataframe(similarity, hide_index=True, height=200, key="hypernetwork_similarity")
