"""Architectures: sample archs, edit one with rule checks, draw it, compare two, find neighbours."""

import pandas as pd
import streamlit as st

from app import components, figures, resources
from hypernas_core.arch_distance import cell_diff, nearest_in_matrix

st.title("Architectures")
components.explain_ui(
    "An NB201 **cell** has 4 feature maps (nodes 0–3) and 6 edges; each edge applies one op. The "
    "predictor reads the cell with *ops on nodes*: one node per edge, plus input and output, "
    "arrows showing where data flows. The **macro network** stacks 15 copies of the cell in 3 "
    "stages with 2 reduction blocks between them: the *global encoding* feeds this whole chain to "
    "the encoder. The **true score** is the benchmark's accuracy; the **predicted score** comes "
    "from a run trained in this session."
)

space_name = components.space_ui("architectures_space")
space = resources.space(space_name)
table = resources.label_table(space_name).set_index("arch")
run = components.run_ui("Predicted scores from run", "architectures_run")
target = run.predictor.target if run else space.default_label


def scores_of(arch: str) -> dict:
    row = {"arch": arch, f"true ({target})": table[target].get(arch)}
    if run is not None:
        row["predicted"] = run.predicted(arch)
    return row


st.subheader("Sample")
c1, c2 = st.columns(2)
n = c1.number_input("How many archs", 1, 1000, 10, key="architectures_n")
seed = c2.number_input("Seed", 0, 2**31 - 1, 0, key="architectures_seed")
sample = space.sample(int(n), int(seed))
st.dataframe(
    pd.DataFrame([scores_of(a) for a in sample]),
    hide_index=True,
    height=220,
    key="architectures_sample",
)

st.subheader("Edit and inspect an arch")
arch = components.arch_editor_ui(space, "architectures_a", default=sample[0])
if arch is None:
    st.stop()
st.code(arch, language=None)
scores = scores_of(arch)
cols = st.columns(3)
true = scores[f"true ({target})"]
cols[0].metric(f"True {target}", "not in benchmark" if pd.isna(true) else f"{true:.2f}")
if run is not None:
    pred = scores["predicted"]
    cols[1].metric(f"Predicted by {run.name}", "—" if pred is None else f"{pred:.2f}")
else:
    cols[1].caption("Train a run to see predicted scores.")
if arch in table.index and "arch_index" in table.columns:  # only NB201 has an index column
    cols[2].metric("Benchmark index", int(table.loc[arch, "arch_index"]))

cell = space.cell_graph(arch)
names = ["input", *[f"edge {i}→{j}" for i, j in getattr(space, "edges", ())], "output"]
names = names if len(names) == len(cell.ops) else None
st.plotly_chart(figures.cell_figure(cell, node_names=names), key="architectures_cell")
st.caption(
    "The whole macro network (C = cell, R = reduction block), as the global encoding sees it:"
)
st.plotly_chart(figures.macro_figure(space.macro_graphs(arch)), key="architectures_macro")

st.subheader("Compare with a second arch")
other = components.arch_editor_ui(space, "architectures_b", default=sample[min(1, len(sample) - 1)])
try:
    diff = None if other is None else cell_diff(space, arch, other)
except ValueError as err:  # e.g. NB101 cells with different numbers of vertices
    st.info(f"These two archs cannot be compared node by node: {err}")
    diff = None
if diff is not None:
    changed = diff.index[diff["differs"]].tolist()
    st.markdown(f"**{len(changed)} node(s) differ** (ringed in magenta).")
    left, right = st.columns(2)
    left.plotly_chart(figures.cell_figure(cell, changed, names), key="architectures_cmp_a")
    right.plotly_chart(
        figures.cell_figure(space.cell_graph(other), changed, names), key="architectures_cmp_b"
    )
    left.dataframe(pd.DataFrame([scores_of(arch), scores_of(other)]), hide_index=True)
    right.dataframe(
        diff.style.apply(
            lambda r: ["background-color: #f8bbd0" if r["differs"] else "" for _ in r], axis=1
        ),
        hide_index=True,
        key="architectures_diff",
    )

if space.size:
    st.subheader("Nearest benchmark archs")
    k = st.slider("How many", 1, 50, 10, key="architectures_k")
    ops = resources.space_op_matrix(space_name)
    archs = resources.all_archs(space_name)
    query = ops[archs.index(arch)] if arch in table.index else None
    if query is None:
        st.info("This arch is not in the benchmark table, so it has no benchmark neighbours.")
    else:
        near = nearest_in_matrix(query, ops, archs, k=int(k))
        near = pd.concat(
            [near, pd.DataFrame([scores_of(a) for a in near["arch"]]).drop(columns="arch")], axis=1
        )
        st.caption("Distance = number of edges whose op differs (Hamming distance over edge ops).")
        st.dataframe(near, hide_index=True, key="architectures_near")
