"""Score archs: upload or paste archs (CSV or JSON) and score them with a finished run."""

from pathlib import Path

import pandas as pd
import streamlit as st

from app import components, resources
from hypernas_core.arch_file import ArchFileError, parse_arch_file

st.title("Score your archs")
components.explain_ui(
    "Bring your own archs: upload a CSV with an `arch` column (or a single column of archs) or a "
    "JSON list, or paste one arch per line. Every arch is checked against the run's search space; "
    "rows that cannot be read are listed with the reason, the others are scored by the run's "
    "predictor. Files are capped in size and rows so a shared server stays responsive."
)

run = components.require_run("Score with run", "score_run")
space = run.predictor.space
limits = resources.limits()
upload = st.file_uploader(
    f"Arch file (CSV or JSON, up to {limits.max_archs_per_file:,} rows)",
    type=["csv", "json"],
    key="score_upload",
)
pasted = st.text_area(
    "…or paste archs, one per line", key="score_text", placeholder=space.sample(1, seed=0)[0]
)
if upload is not None:
    data, name, fmt = upload.getvalue(), upload.name, Path(upload.name).suffix.lower().lstrip(".")
elif pasted.strip():
    data, name, fmt = pasted.encode(), "the pasted text", "csv"
else:
    st.info("Upload a file or paste archs to score them.")
    st.stop()

try:
    parsed = parse_arch_file(data, name, fmt, space, max_rows=limits.max_archs_per_file)
except ArchFileError as err:
    st.error(f"Cannot read {name}: {err}")
    st.stop()
if parsed.rejected:
    st.warning(f"{len(parsed.rejected)} row(s) of {name} were not read; each is listed with why.")
    st.dataframe(parsed.rejected_frame(), hide_index=True, key="score_rejected")
if not parsed.archs:
    st.stop()

with st.spinner(f"Scoring {len(parsed.archs):,} archs…"):
    scores = run.predictor.predict(parsed.archs).numpy()
frame = pd.DataFrame({"row": parsed.rows, "arch": parsed.archs, "predicted": scores})
if run.true_scores is not None:  # benchmark scores of archs the run scanned
    positions = [run.position(a) for a in parsed.archs]
    frame["true"] = [None if i is None else float(run.true_scores[i]) for i in positions]
frame["rank"] = frame["predicted"].rank(ascending=False, method="min").astype(int)
st.success(f"Scored {len(frame):,} archs with {run.name}.")
st.dataframe(frame.sort_values("rank"), hide_index=True, key="score_table")
components.csv_download_ui("Download the scores as CSV", frame, "scores.csv", "score_download")
