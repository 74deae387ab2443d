"""Rankings: how well each run orders the held-out archs of the benchmark."""

import pandas as pd
import streamlit as st

from app import components, figures, session
from hypernas_core.rankings import top_k_table

st.title("Rankings")
components.explain_ui(
    "A predictor is judged by how well it **orders** archs, not by its exact numbers. **Kendall τ** "
    "is the fraction of concordant minus discordant arch pairs (1 = perfect order, 0 = random); "
    "**Spearman ρ** is the correlation of ranks; **precision@K** is the share of the predicted "
    "top K that is truly in the top K. All metrics use only the **held-out** archs (those not in "
    "the run's training set). The top-K table lists the archs a search would pick, with their true "
    "rank among all archs of the benchmark (1 = best)."
)

if not session.ready_runs():
    components.require_run("Run", "rankings_run")  # shows the hint and stops
chosen = components.runs_ui("Runs to compare", "rankings_runs")
if not chosen:
    st.info("Pick at least one run.")
    st.stop()
k = st.slider("K (for precision@K and the top-K table)", 5, 200, 50, key="rankings_k")

frames = {r.name: r.rank_frame() for r in chosen}
reports = []
for run in chosen:
    report = run.report(top_k=int(k))
    reports.append(
        {
            "run": run.name,
            "method": run.spec.method,
            "q": run.spec.q,
            "budget": run.spec.budget,
            "target": run.predictor.target,
            **report,
        }
    )
st.dataframe(pd.DataFrame(reports).round(4), hide_index=True, key="rankings_metrics")
targets = {r.predictor.target for r in chosen}
if len(targets) > 1:
    st.warning(
        f"These runs predict different labels ({', '.join(sorted(targets))}); "
        "compare their metrics with care."
    )

axes = st.radio("Axes", ("scores", "ranks"), horizontal=True, key="rankings_axes")
st.plotly_chart(
    figures.pred_vs_true_figure(frames, use_ranks=axes == "ranks"), key="rankings_scatter"
)
st.caption("Held-out archs only (a random subset of 4,000 per run is drawn for speed).")

st.subheader("Top-K by predicted score")
run = components.run_ui("Run", "rankings_top_run", chosen)
include_train = st.checkbox("Include training archs", False, key="rankings_include_train")
top = top_k_table(frames[run.name], k=int(k), include_train=include_train)
st.dataframe(top, hide_index=True, key="rankings_top")
name = f"hypernas_run{run.id}"
components.csv_download_ui(
    "Download top-K as CSV", top, f"{name}_top{k}.csv", "rankings_download_top"
)
components.csv_download_ui(
    "Download all predictions as CSV", frames[run.name], f"{name}_predictions.csv", "rankings_all"
)
