"""Runs: every run recorded in the run store (from any session, the CLI or sweeps), kept across
app restarts; open finished ones in this session to compare them on the other pages."""

import pandas as pd
import streamlit as st

from app import components, figures, resources, session

st.title("Stored runs")
components.explain_ui(
    "Every run the app trains is recorded in the **run store** as it goes: its settings, each "
    "epoch, how it ended, its metrics and its weights. Runs survive an app restart. A run whose "
    "process died is shown as **interrupted** with the epochs it recorded. **Open** a finished run "
    "to see it on the Embeddings, Hypernetwork, Rankings and Loss weights pages, next to this "
    "session's runs. Runs from the command line (`train --store`) and sweeps are listed too."
)

handle = resources.run_store()
if handle.store is None:
    st.error(f"The run store could not be opened ({handle.error}); runs are kept in memory only.")
    st.stop()
store = handle.store
store.recover()  # runs whose writer died since the last look become "interrupted"
st.caption(f"Store: `{store.root}` (set HYPERNAS_STORE to move it)")

table = store.runs()
if table.empty:
    st.info("No run is stored yet. Train one on the **Train** page.")
    st.stop()
kinds = sorted(table["kind"].unique())
shown = st.multiselect("Made by", kinds, default=kinds, key="runs_kinds")
table = table[table["kind"].isin(shown)]
st.dataframe(table, hide_index=True, key="runs_table")

openable = table[(table["kind"] == "app") & table["has_artifacts"]]
if openable.empty:
    st.caption("No finished app run with saved weights to open.")
    st.stop()
labels = {f"{row.id}: {row.title} ({row.status})": int(row.id) for row in openable.itertuples()}
chosen = st.multiselect("Open in this session", list(labels), key="runs_open_choice")
if st.button("Open", key="runs_open", disabled=not chosen):
    opened, failed = [], []
    for label in chosen:
        try:
            opened.append(session.open_stored_run(labels[label]).name)
        except ValueError as err:  # damaged or foreign files: say which and why
            failed.append(f"run {labels[label]}: {err}")
    for message in failed:
        st.error(f"Cannot open {message}")
    if opened:
        st.success(f"Opened {', '.join(opened)}; see the Rankings and Embeddings pages.")

run_id = st.selectbox("Show the history of run", list(table["id"]), key="runs_history")
stored = store.get(int(run_id))
st.write(f"**{stored.title}** — {stored.status}: {stored.message or 'no message'}")
if stored.epochs:
    frame = pd.DataFrame(stored.epochs)
    losses = [c for c in frame if c.startswith("loss_")]
    st.plotly_chart(
        figures.curves_figure(frame, "epoch", losses, "Task losses"), key="runs_history_plot"
    )
