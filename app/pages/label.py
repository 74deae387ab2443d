"""Label: measure archs by really training them on the aux images; results are stored."""

import streamlit as st

from app import components, resources
from hypernas_core.label_training import SCORE_COLUMN, LabelStore, LabelTrainingConfig, label_archs
from hypernas_core.run_store import default_store_dir

MAX_ARCHS = 20  # archs per batch on this page
MAX_EPOCHS = 20

st.title("Label archs by real training")
components.explain_ui(
    "Spaces without a benchmark table (ViT), or archs a table does not hold, can be labelled by "
    "**training them**: each arch is built as its reduced-width network (the one the "
    "hypernetwork feeds) with ordinary weights, trained from scratch with SGD on the aux images, "
    "and its **test accuracy** on them is the label (`aux_test_acc`). These are proxy labels: "
    "real, cheap measurements on a small task, not the benchmark's accuracies. Every result is "
    "stored with its settings, so an arch is never trained twice with the same settings."
)

space_name = components.space_ui("label_space")
space = resources.space(space_name)
store = LabelStore(default_store_dir() / "labels")
with st.form("label_form"):
    c1, c2, c3, c4 = st.columns(4)
    n = c1.number_input("Archs to sample", 1, MAX_ARCHS, 5, key="label_n")
    sample_seed = c2.number_input("Sample seed", 0, 2**31 - 1, 0, key="label_sample_seed")
    epochs = c3.number_input("Epochs", 1, MAX_EPOCHS, 3, key="label_epochs")
    width = c4.number_input("Width", 1, 16, 4, key="label_width")
    c1, c2 = st.columns(2)
    aux = c1.selectbox("Aux dataset", ("digits",), key="label_aux")
    device = c2.selectbox("Device", ("auto", "cpu", "cuda", "mps"), key="label_device")
    submitted = st.form_submit_button("Label")

config = LabelTrainingConfig(epochs=int(epochs), width=int(width), aux_dataset=aux, device=device)
if submitted:
    archs = space.sample(int(n), int(sample_seed))
    progress = st.progress(0.0, text="training the first arch")

    def show(done: int, total: int, row: dict) -> None:
        source = "from the store" if row["cached"] else f"{row['seconds']:.1f} s"
        progress.progress(done / total, text=f"{done}/{total}: {row[SCORE_COLUMN]:.1f}% ({source})")

    try:
        batch = label_archs(space, archs, config, store, on_step=show)
    except ValueError as err:
        st.error(f"Cannot label: {err}")
        st.stop()
    trained = int((~batch["cached"]).sum())
    st.success(
        f"Labelled {len(batch)} archs: {trained} trained ({batch['seconds'][~batch['cached']].sum():.1f} s), "
        f"{len(batch) - trained} from the store."
    )
    st.dataframe(batch, hide_index=True, key="label_batch")

table = store.table(space.name, config)
st.subheader(f"Stored labels of {space.title} with these settings ({len(table)})")
if table.empty:
    st.info("None yet: press **Label**.")
else:
    st.dataframe(table, hide_index=True, key="label_table")
    components.csv_download_ui(
        "Download (arch, aux_test_acc) for the label import",
        table[["arch", SCORE_COLUMN]],
        f"{space.name}_labels.csv",
        "label_download",
    )
st.caption(f"Store: {store.path}")
