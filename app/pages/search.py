"""Search: regularised evolution or random search driven by a run's predictor."""

import pandas as pd
import streamlit as st

from app import components, figures
from hypernas_core.search import STRATEGIES, SearchConfig, run_search

st.title("Search")
components.explain_ui(
    "A trained predictor is only useful if it **finds** good archs. Here it drives a search over "
    "its run's space: **regularised evolution** keeps a population, mutates the best of a random "
    "tournament and drops the oldest member; **random search** is the baseline. Each *query* is "
    "the predicted score of one new arch. The plot shows the best predicted score so far against "
    "queries and, where the benchmark table knows the arch, its true score; the table lists the "
    "best predicted archs with their true score and true rank in the table (1 = best)."
)

run = components.require_run("Run whose predictor searches", "search_run")
space = run.predictor.space
st.caption(f"Space: {space.title} ({space.name}); label: {run.predictor.target}")
with st.form("search_form"):
    c1, c2, c3, c4 = st.columns(4)
    budget = c1.number_input("Budget (queries)", 10, 5000, 200, key="search_budget")
    seed = c2.number_input("Seed", 0, 2**31 - 1, 0, key="search_seed")
    population = c3.number_input("Population", 2, 500, 20, key="search_population")
    sample_size = c4.number_input("Tournament size", 1, 500, 5, key="search_sample_size")
    strategies = st.multiselect(
        "Strategies", STRATEGIES, default=list(STRATEGIES), key="search_strategies"
    )
    submitted = st.form_submit_button("Search")

if submitted:
    try:
        configs = [
            SearchConfig(
                strategy=s,
                budget=int(budget),
                population=int(population),
                sample_size=int(sample_size),
                seed=int(seed),
            )
            for s in strategies
        ]
        progress = st.progress(0.0, text="searching")
        results = {}
        for config in configs:

            def show(q: int, total: int, m: dict, name: str = config.strategy) -> None:
                progress.progress(q / total, text=f"{name}: {q}/{total} queries")

            results[config.strategy] = run_search(
                space,
                lambda archs: run.predictor.predict(archs).numpy(),
                config,
                target=run.predictor.target,
                on_step=show,
            )
        progress.empty()
        st.session_state["search_results"] = (run.name, results)
    except ValueError as err:
        st.error(f"Cannot search: {err}")
        st.stop()

saved = st.session_state.get("search_results")
if not saved or saved[0] != run.name or not saved[1]:
    st.info("Choose the settings and press **Search**.")
    st.stop()
results = saved[1]
history = pd.concat([r.history.assign(run=name) for name, r in results.items()])
st.plotly_chart(
    figures.curves_figure(
        history,
        "query",
        ["best_predicted", "true_of_best_predicted"],
        "Best so far against queries",
        run.predictor.target,
    ),
    key="search_curves",
)
st.dataframe(
    pd.DataFrame([r.summary() for r in results.values()]), hide_index=True, key="search_summary"
)
for name, result in results.items():
    st.subheader(f"Best predicted archs: {name}")
    st.dataframe(result.top, hide_index=True, key=f"search_top_{name}")
    components.csv_download_ui(
        "Download the query history (CSV)",
        result.history,
        f"search_{name}.csv",
        f"search_dl_{name}",
    )
