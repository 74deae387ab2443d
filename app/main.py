"""HyperNAS Explorer: `streamlit run app/main.py`. Sets up the pages and the UMAP warm-up."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # streamlit puts app/ on the path, the library lives beside it
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from app import resources  # noqa: E402

st.set_page_config(page_title="HyperNAS Explorer", page_icon=":material/hub:", layout="wide")
resources.umap_warmup()

pages = [
    st.Page("pages/overview.py", title="Overview", icon=":material/home:", default=True),
    st.Page("pages/architectures.py", title="Architectures", icon=":material/account_tree:"),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/embeddings.py", title="Embeddings", icon=":material/scatter_plot:"),
    st.Page("pages/hypernetwork.py", title="Hypernetwork", icon=":material/grid_on:"),
    st.Page("pages/rankings.py", title="Rankings", icon=":material/leaderboard:"),
    st.Page("pages/loss_weights.py", title="Loss weights", icon=":material/balance:"),
    st.Page("pages/leaderboard.py", title="Leaderboard", icon=":material/emoji_events:"),
    st.Page("pages/score.py", title="Score archs", icon=":material/upload_file:"),
    st.Page("pages/search.py", title="Search", icon=":material/travel_explore:"),
    st.Page("pages/label.py", title="Label by training", icon=":material/science:"),
    st.Page("pages/runs.py", title="Stored runs", icon=":material/history:"),
]
st.navigation(pages).run()
