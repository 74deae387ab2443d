"""Leaderboard: our measured Kendall tau beside the published numbers, and a rerun of any cell."""

import pandas as pd
import streamlit as st

from app import components, resources
from app.rerun import CellRerun
from hypernas_core.config import METHODS
from hypernas_core.leaderboard import (
    ablation_table,
    bundled_ablations,
    bundled_results,
    leaderboard_table,
    published_frame,
)

RERUN_KEY = "leaderboard_rerun"

st.title("Leaderboard")
components.explain_ui(
    "How well do predictors **rank** NAS-Bench-201 archs when trained on only N of them? Each "
    "number is Kendall τ between predicted and true CIFAR-10 accuracy over the archs left out of "
    "training. **Ours** are real runs of `python -m hypernas_core bench ranking` (mean ± standard "
    "deviation over seeds, the seed count in brackets); the other columns are the numbers printed "
    "in the cited papers, each with the protocol its source states. A **rerun** trains the same "
    "method on exactly the same training archs (the seeded split of the benchmark) so you can check "
    "a cell yourself."
)

measured = bundled_results("nb201")
if measured.empty:
    st.warning("No measured results are bundled (assets/results/nb201_ranking.csv is missing).")
ours = [m for m in METHODS if m in set(measured["method"])] if len(measured) else []
st.dataframe(leaderboard_table(measured, "nb201", ours), hide_index=True, key="leaderboard_table")

with st.expander("Sources and protocols of the published numbers"):
    st.dataframe(published_frame("nb201"), hide_index=True, key="leaderboard_published")
ablations = bundled_ablations("nb201")
with st.expander("Ablations and variants: q, positional encoding, ranking loss, ensembles"):
    st.caption(
        "Same splits and protocol as the main table, one setting changed: `q` (the preference "
        "coefficient; 1.5 is the default, 2 is plain uncertainty weighting), `encoding` "
        "(`global-pe`: each cell gets a learned position embedding instead of the pooled embedding "
        "of the cell before it), `rank_weight` (a pairwise ranking loss beside the MSE), "
        "`ensemble` (the mean of several predictors whose seeds differ) or `unlabelled_archs` "
        "(archs without labels that train the hypernetwork's aux task). Compare with the main "
        "table's row of the same method and budget; docs/benchmarks.md discusses each."
    )
    st.dataframe(ablation_table(ablations), hide_index=True, key="leaderboard_ablations")
with st.expander("Every measured run"):
    st.dataframe(measured, hide_index=True, key="leaderboard_runs")
    components.csv_download_ui(
        "Download runs as CSV", measured, "nb201_ranking.csv", "leaderboard_download"
    )

st.subheader("Rerun a cell")
st.caption(
    "Same split, same config as the stored run. The defaults (300 epochs) take minutes for np "
    "and tens of minutes for hypernas on a CPU; fewer epochs give a quick but different run."
)
cols = st.columns(4)
method = cols[0].selectbox("Method", METHODS, key="leaderboard_method")
budgets = sorted(set(measured["budget"])) if len(measured) else [78, 156]
budget = cols[1].selectbox("Budget N", budgets, key="leaderboard_budget")
seed = cols[2].number_input("Seed", 0, 10_000, 0, key="leaderboard_seed")
stored = (
    measured[
        (measured["method"] == method) & (measured["budget"] == budget) & (measured["seed"] == seed)
    ]
    if len(measured)
    else pd.DataFrame()
)
default_epochs = int(stored["epochs"].iloc[0]) if len(stored) else 300
epochs = cols[3].number_input("Epochs", 1, 1000, default_epochs, key="leaderboard_epochs")
if len(stored):
    st.caption(
        f"Stored run: Kendall tau {stored['kendall_tau'].iloc[0]:.4f} after "
        f"{int(stored['epochs'].iloc[0])} epochs, {stored['train_seconds'].iloc[0]:.0f} s."
    )
else:
    st.caption("No stored run for this cell yet; a rerun measures it for the first time.")
if epochs != default_epochs:
    st.warning(f"{epochs} epochs instead of the stored {default_epochs}: not the same config.")

rerun: CellRerun | None = st.session_state.get(RERUN_KEY)
busy = rerun is not None and rerun.is_active
if st.button("Rerun this cell", disabled=busy, key="leaderboard_rerun_button"):
    try:
        rerun = CellRerun("nb201", method, int(budget), int(seed), int(epochs)).start(
            resources.limits(), resources.training_slots()
        )
        st.session_state[RERUN_KEY] = rerun
    except ValueError as err:
        st.error(f"Cannot start the rerun: {err}")

if rerun is not None:
    label = f"{rerun.method}, N={rerun.budget}, seed {rerun.seed}, {rerun.epochs} epochs"
    if rerun.is_active:
        if st.button("Cancel the rerun", key="leaderboard_cancel"):
            rerun.cancel.set()

        @st.fragment(run_every=1.0)
        def poll() -> None:
            if not rerun.is_active:
                st.rerun()
            st.progress(min(rerun.progress, 1.0), text=f"Rerun {label}: {rerun.message}")

        poll()
    elif rerun.status == "failed":
        st.error(f"Rerun {label} failed: {rerun.error}")
    else:
        result = rerun.result or {}
        st.success(f"Rerun {label} ({rerun.status}): {rerun.message}.")
        st.dataframe(pd.DataFrame([result]), hide_index=True, key="leaderboard_rerun_result")
