"""Train: choose a method and its settings, train in the background, watch the losses live."""

from pathlib import Path

import pandas as pd
import streamlit as st

from app import components, figures, resources, session
from app.runs import RunSpec
from hypernas_core import METHODS

st.title("Train a predictor")
components.explain_ui(
    "**np** is the Neural Predictor baseline (the cell alone, no hypernetwork). **hypernas-p** adds "
    "the global encoding of the whole macro network. **hypernas** also trains the hypernetwork on "
    "the aux task. The *budget* is the number of archs whose true score the predictor may see. "
    "While it trains you see each task loss, the learnable uncertainties u_t and the effective "
    "weights w_t = (q−1)·L_t^(q−2)/(2u_t²) the adaptive loss gives each task."
)

space_name = components.space_ui("train_space")
space = resources.space(space_name)
devices = resources.devices()
gpus = [name for name in ("cuda", "mps") if devices[name]]
st.caption(f"Devices torch can use here (detected_devices()): {devices}")
if gpus:
    st.caption(f"Accelerators detected: {', '.join(gpus)}; device 'auto' uses {gpus[0]}.")
else:
    st.info("No GPU detected (torch sees no CUDA or MPS device): everything runs on the CPU.")

limits = resources.limits()
with st.form("train_form"):
    c1, c2, c3, c4 = st.columns(4)
    method = c1.selectbox("Method", METHODS, index=METHODS.index("hypernas"), key="train_method")
    budget = c2.number_input(
        "Budget (training archs)",
        2,
        limits.max_budget,
        min(50, limits.max_budget),
        key="train_budget",
    )
    epochs = c3.number_input(
        "Epochs", 1, limits.max_epochs, min(10, limits.max_epochs), key="train_epochs"
    )
    seed = c4.number_input("Seed", 0, 2**31 - 1, 0, key="train_seed")
    c1, c2, c3, c4 = st.columns(4)
    q = c1.number_input(
        "q (preference)",
        1.05,
        3.0,
        1.5,
        0.05,
        key="train_q",
        help="Only used by hypernas. 2 = uncertainty weighting; 1.5 = paper's best.",
    )
    target = c2.selectbox("Label column", space.label_columns, key="train_target")
    aux = c3.selectbox("Aux dataset", ("digits", "cifar10"), key="train_aux")
    device = c4.selectbox("Device", ("auto", "cpu", "cuda", "mps"), key="train_device")
    rank_weight = st.number_input(
        "Ranking-loss weight",
        0.0,
        10.0,
        0.0,
        0.5,
        key="train_rank_weight",
        help="0 trains on the MSE alone (every named method). Above 0 adds this weight times a "
        "pairwise logistic loss on the order of the batch's archs (docs/method.md, section 4).",
    )
    scan_choices = {"every arch of the space": None, "a random 2,000 archs (faster)": 2000}
    scan = st.radio(
        "After training, score and embed", list(scan_choices), horizontal=True, key="train_scan"
    )
    aux_root = st.text_input(
        "CIFAR-10 folder (only for cifar10)",
        key="train_aux_root",
        placeholder="/data/cifar-10-batches-py",
    )
    submitted = st.form_submit_button("Train", type="primary")

if submitted:
    if aux == "cifar10" and not (aux_root and Path(aux_root).expanduser().is_dir()):
        st.error(f"CIFAR-10 needs an existing local folder (got {aux_root!r}); or choose digits.")
        st.stop()
    spec = RunSpec(
        space=space_name,
        method=method,
        budget=int(budget),
        seed=int(seed),
        q=float(q),
        rank_weight=float(rank_weight),
        epochs=int(epochs),
        target=target,
        aux_dataset=aux,
        aux_root=aux_root or None,
        device=device,
        scan_size=scan_choices[scan],
    )
    if method != "hypernas" and (aux != "digits" or q != 1.5):
        st.caption("q and the aux dataset only matter for hypernas; they are ignored here.")
    if method == "hypernas" and int(budget) * int(epochs) > 2000 and not gpus:
        st.warning("This run may take many minutes on a CPU; you can cancel it at any time.")
    try:
        session.start_run(spec)
    except ValueError as err:
        st.error(f"Cannot start the run: {err}")
        st.stop()


def live_curves(run) -> None:
    frame = pd.DataFrame(run.epoch_records())
    if frame.empty:
        st.caption("The first curves appear after the first epoch.")
        return
    loss_plot(frame, key_suffix="live")


def loss_plot(frame: pd.DataFrame, key_suffix: str) -> None:
    left, right = st.columns(2)
    losses = [c for c in frame if c.startswith("loss_")]
    left.plotly_chart(
        figures.curves_figure(frame, "epoch", losses, "Task losses"),
        key=f"train_losses_{key_suffix}",
    )
    weights = [c for c in frame if c.startswith(("u_", "weight_"))]
    if weights:
        right.plotly_chart(
            figures.curves_figure(frame, "epoch", weights, "u_t and effective weights"),
            key=f"train_weights_{key_suffix}",
        )
    else:
        right.caption("This method has a single task, so there are no loss weights to show.")


active = session.active_run()
if active is not None:
    components.live_run_ui(active, key="train_live", extra=live_curves)

runs = list(session.runs().values())
if runs:
    st.subheader("Runs of this session")
    st.dataframe(pd.DataFrame([r.summary() for r in runs]), hide_index=True, key="train_table")
    finished = [r for r in runs if not r.is_active]
    if finished:
        latest = finished[-1]
        if components.run_outcome_ui(latest):
            st.success(f"Latest run {latest.name}: {latest.message}.")
        # a new key per finished run, so the picker jumps to the newest run when one ends
        run = components.run_ui("Show the curves of", f"train_show_{len(finished)}", finished)
        if run.epochs:
            loss_plot(pd.DataFrame(run.epoch_records()), key_suffix=f"run{run.id}")
