"""Loss weights: how the adaptive multi-task loss balanced the regression and aux tasks."""

import pandas as pd
import streamlit as st

from app import components, figures, session

st.title("Loss weights")
components.explain_ui(
    "HyperNAS trains two tasks at once and learns how much each counts. The loss is "
    "Σ_t L_t^(q−1)/(2u_t²) + ln(1+u_t²): a large **u_t** (uncertainty) lowers the weight of task "
    "t, and the ln term stops u_t from growing without limit. The **effective weight** "
    "w_t = (q−1)·L_t^(q−2)/(2u_t²) is how strongly a change of L_t moves the total loss. With "
    "**q = 2** this is plain uncertainty weighting; with q < 2 the power compresses large losses, so "
    "a task with a large loss (here the aux cross-entropy) does not swamp the other."
)

runs = [
    r
    for r in session.runs().values()
    if r.history is not None and "u_regression" in r.history.steps
]
hint = (
    "No run with the adaptive loss yet: only **hypernas** runs have two tasks. Train one on the "
    "Train page or run the demo on the Overview page."
)
run = components.require_run("Run", "loss_weights_run", runs, hint)
steps = pd.DataFrame(run.history.steps)
steps.insert(0, "step", range(1, len(steps) + 1))
left, right = st.columns(2)
left.plotly_chart(
    figures.curves_figure(steps, "step", ["u_regression", "u_aux"], "u_t per step"),
    key="loss_weights_u",
)
right.plotly_chart(
    figures.curves_figure(
        steps, "step", ["weight_regression", "weight_aux"], "Effective weights w_t per step"
    ),
    key="loss_weights_w",
)
st.plotly_chart(
    figures.curves_figure(
        steps, "step", ["loss_regression", "loss_aux"], "Task losses L_t per step"
    ),
    key="loss_weights_losses",
)

st.subheader("Comparing q")
qs = sorted({r.spec.q for r in runs})
if len(qs) < 2:
    st.caption(
        f"All runs so far use q = {qs[0]:g}. Train hypernas runs with other q values (e.g. "
        "1.5 and 2, same seed and budget) to compare them here."
    )
    st.stop()
frames = []
for r in runs:
    part = pd.DataFrame(r.history.steps)
    part.insert(0, "step", range(1, len(part) + 1))
    part["ratio_aux_to_regression"] = part["weight_aux"] / part["weight_regression"]
    frames.append(part.assign(run=f"{r.name}"))
every = pd.concat(frames, ignore_index=True)
st.plotly_chart(
    figures.curves_figure(
        every,
        "step",
        ["ratio_aux_to_regression"],
        "Effective weight of aux relative to regression, by run",
    ),
    key="loss_weights_ratio",
)
rows = []
for r in runs:
    row = {"run": r.name, "q": r.spec.q, "status": r.status}
    if r.is_ready:
        report = r.report()
        row.update(kendall_tau=report["kendall_tau"], spearman=report["spearman"])
    last = r.history.epochs[-1] if r.history.epochs else {}
    row.update(
        {k: last.get(k) for k in ("u_regression", "u_aux", "weight_regression", "weight_aux")}
    )
    rows.append(row)
st.dataframe(pd.DataFrame(rows).sort_values("q").round(4), hide_index=True, key="loss_weights_q")
st.caption(
    "Runs differ in more than q when their seeds, budgets or epochs differ; keep those equal."
)
