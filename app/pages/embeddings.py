"""Embeddings: every arch of the space as a point of a 2-D map of its global embedding."""

import streamlit as st

from app import components, figures, resources
from app.selection import selected_positions

st.title("Embeddings")
components.explain_ui(
    "Each point is one arch of the space, placed by a 2-D projection of its 144-d **global "
    "embedding** (the encoder output the score is predicted from). Archs the encoder sees as "
    "similar sit close together. **PCA** is instant and linear; **UMAP** keeps neighbourhoods and "
    "shows clusters, but takes a while (it runs in the background). Ringed points are the training "
    "archs. Drag a box or lasso (toolbar, top right of the chart) to select archs: they appear in "
    "the table below, which you can download."
)

run = components.require_run("Run", "embeddings_run")
frame = run.rank_frame()
c1, c2 = st.columns(2)
view = c1.radio("Projection", ("PCA", "UMAP"), horizontal=True, key="embeddings_view")
colour_choices = ["true score", "predicted score", "error (pred − true)", "op count"]
colour = c2.selectbox("Colour by", colour_choices, key="embeddings_colour")

xy, title = run.pca, "PCA of the global embeddings"
if view == "UMAP":
    run.start_umap()
    if run.umap_status == "done":
        xy, title = run.umap, f"UMAP of the global embeddings ({run.umap_seconds:.0f} s)"
    elif run.umap_status == "failed":
        st.error("UMAP failed on these embeddings; the PCA view is shown instead.")
    else:

        @st.fragment(run_every=2.0)
        def wait_for_umap() -> None:
            if run.umap_status != "running":
                st.rerun()
            warm = resources.umap_warmup()
            compiling = warm is not None and not warm.done.is_set()
            st.info(
                "UMAP is computing in the background"
                + (" (umap-learn is still compiling)" if compiling else "")
                + "; showing PCA meanwhile."
            )

        wait_for_umap()
if xy is None:
    st.error("The embeddings of this run are not finite, so they cannot be projected.")
    st.stop()

if colour == "op count":
    counts = run.op_counts()
    op = st.selectbox("Op", list(counts.columns), key="embeddings_op")
    values, label = counts[op].to_numpy(dtype=float), op
else:
    column = {"true score": "true", "predicted score": "pred"}.get(colour, "error")
    values, label = frame[column].to_numpy(), column

fig = figures.embedding_scatter(xy, values, label, run.archs, frame["is_train"].to_numpy(), title)
event = st.plotly_chart(
    fig, key=f"embeddings_chart_{run.id}_{view}", on_select="rerun", selection_mode=("box", "lasso")
)

picked = selected_positions(event, len(frame))
st.subheader(f"Selection: {len(picked):,} archs")
if not picked:
    st.caption("Select points with the box or lasso tool to list them here.")
    st.stop()
selection = frame.iloc[picked].sort_values("pred", ascending=False)
st.dataframe(selection, hide_index=True, key="embeddings_table")
components.csv_download_ui(
    "Download selection as CSV",
    selection,
    f"hypernas_run{run.id}_selection.csv",
    "embeddings_download",
)
arch = st.selectbox("Draw the cell of", selection["arch"].tolist(), key="embeddings_pick")
st.plotly_chart(
    figures.cell_figure(resources.space(run.spec.space).cell_graph(arch)), key="embeddings_cell"
)
row = selection.set_index("arch").loc[arch]
st.caption(
    f"true {row['true']:.2f}, predicted {row['pred']:.2f}, true rank {row['true_rank']:,}"
    + (" — a training arch" if row["is_train"] else "")
)
