"""Overview: what HyperNAS is, the pipeline picture, and the one-click demo."""

import streamlit as st

from app import components, figures, session
from app.runs import DEMO_SPEC

st.title("HyperNAS Explorer")
st.markdown(
    """
**Neural architecture search (NAS)** looks for the best network in a huge *search space*. Training
every candidate is far too expensive, so a **performance predictor** learns from a few dozen or
hundred *(arch, accuracy)* pairs and ranks all the others.

**HyperNAS** is such a predictor. It reads an arch as a **global encoding**: the whole macro network
as a chain of cell graphs, where each cell's node features are offset by the pooled embedding of the
previous cell (*z-chaining*). A shared bidirectional GCN encodes the chain and a regression head
predicts the score.

As an auxiliary task, a shared **hypernetwork** generates the weights of each node's op from its
embedding; the arch then runs *with those weights* on real images and is trained with
cross-entropy. This forces the embeddings to know what each op computes. The two tasks are balanced
by a **dynamic adaptive multi-task loss** Σ L_t^(q−1)/(2u_t²) + ln(1+u_t²), with a learnable u_t
per task and a preference coefficient q (q = 2 is plain uncertainty weighting).
"""
)
st.plotly_chart(figures.pipeline_figure(), key="overview_pipeline")
components.explain_ui(
    "Blue boxes are the main task (predict a score), pink boxes the auxiliary task (generate "
    "weights and classify images with them), the yellow box combines both losses. The encoder is "
    "shared: improving the aux task changes the embeddings the score is predicted from."
)

st.subheader("Demo")
st.caption(
    f"Samples {DEMO_SPEC.budget} NAS-Bench-201 archs (seed {DEMO_SPEC.seed}), trains HyperNAS for "
    f"{DEMO_SPEC.epochs} epochs on their true CIFAR-10 validation accuracies, then scores and embeds "
    "all 15,625 archs: well under a minute on an idle 2-core CPU, a few minutes when the CPU is "
    "busy with other jobs. The results appear on every other page."
)
demos = [r for r in session.runs().values() if r.spec == DEMO_SPEC]
demo = demos[-1] if demos else None
label = "Run the demo" if demo is None or demo.is_active or demo.is_ready else "Run the demo again"
busy = demo is not None and (demo.is_active or demo.is_ready)
if st.button(label, type="primary", key="overview_demo", disabled=busy):
    try:
        demo = session.start_run(DEMO_SPEC)
    except ValueError as err:
        st.error(str(err))
        st.stop()
if demo is not None:
    components.live_run_ui(demo, key="overview_demo")
    if not demo.is_active and components.run_outcome_ui(demo):
        demo.start_umap()  # the Embeddings page shows it when ready
        report = demo.report()
        st.success(f"Demo {demo.message}. Open **Rankings**, **Embeddings** or **Hypernetwork**.")
        cols = st.columns(4)
        cols[0].metric("Kendall τ (held out)", f"{report['kendall_tau']:.3f}")
        cols[1].metric("Spearman ρ", f"{report['spearman']:.3f}")
        cols[2].metric("precision@top-5%", f"{report['precision_at_top5pct']:.2f}")
        cols[3].metric("best true rank in predicted top 10", report["best_true_rank_in_top10"])
