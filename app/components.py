"""Reusable widgets. Each `*_ui()` function draws its widgets and returns plain values."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from app import resources, session
from app.runs import Run
from hypernas_core import SearchSpace, list_spaces
from hypernas_core.cell_checks import cell_warnings

DEFAULT_SPACE = "nb201"  # the space every page supports; others are listed after it


def space_ui(key: str) -> str:
    """Search-space picker; returns the space name."""
    names = list_spaces()
    return st.selectbox(
        "Search space",
        names,
        index=names.index(DEFAULT_SPACE) if DEFAULT_SPACE in names else 0,
        key=key,
        format_func=lambda n: f"{resources.space(n).title} ({n})",
        help="Every space registered in hypernas_core (list_spaces()).",
    )


def arch_editor_ui(space: SearchSpace, key: str, default: str) -> str | None:
    """A rule-checked cell editor: one op per edge, or a pasted arch string.

    Shows validity errors and cell warnings at once. Returns the canonical arch, or None when the
    input is invalid (the error is already on the page).
    """
    edges, ops = getattr(space, "edges", None), getattr(space, "cell_ops", None)
    if edges is None or ops is None:
        # one key per space: the NB201 editor's paste box shares `{key}_text` and is often empty
        text = st.text_input("Arch string", value=default, key=f"{key}_{space.name}_text")
        return _checked(space, text.strip() or default)

    defaults = space.parse(default)
    cols = st.columns(len(edges))
    chosen = []
    for e, ((i, j), col) in enumerate(zip(edges, cols, strict=True)):
        with col:
            # a value already in the session (e.g. set by "load") wins over the default
            widget_key = f"{key}_edge{e}"
            index = None if widget_key in st.session_state else ops.index(defaults[e])
            kwargs = {} if index is None else {"index": index}
            chosen.append(st.selectbox(f"edge {i}→{j}", ops, key=widget_key, **kwargs))
    arch = space.from_ops(chosen)
    pasted = st.text_input(
        "…or paste an arch string (overrides the edges above)",
        value="",
        key=f"{key}_text",
        placeholder=arch,
    )
    return _checked(space, pasted.strip() or arch)


def _checked(space: SearchSpace, text: str) -> str | None:
    try:
        arch = space.validate(text)
    except ValueError as err:
        st.error(f"Invalid arch {text!r}: {err}")
        return None
    for warning in cell_warnings(space, arch):
        st.warning(warning)
    return arch


def run_ui(label: str, key: str, runs: list[Run] | None = None) -> Run | None:
    """Picks one finished run of this session (the newest by default); None when there is none."""
    runs = session.ready_runs() if runs is None else runs
    if not runs:
        return None
    by_name = {r.name: r for r in reversed(runs)}
    return by_name[st.selectbox(label, list(by_name), key=key)]


def runs_ui(label: str, key: str) -> list[Run]:
    """Picks several finished runs of this session (all by default)."""
    by_name = {r.name: r for r in session.ready_runs()}
    chosen = st.multiselect(label, list(by_name), default=list(by_name), key=key)
    return [by_name[n] for n in chosen]


def require_run(
    label: str, key: str, runs: list[Run] | None = None, hint: str | None = None
) -> Run:
    """Like `run_ui`, but stops the page with `hint` when there is no run to pick."""
    run = run_ui(label, key, runs)
    if run is None:
        st.info(
            hint
            or "No finished run in this session yet. Train one on the **Train** page, or press "
            "**Run the demo** on the **Overview** page."
        )
        st.stop()
    return run


def csv_download_ui(label: str, frame: pd.DataFrame, file_name: str, key: str) -> None:
    """A button that downloads `frame` as a CSV file (without the index)."""
    st.download_button(
        label, frame.to_csv(index=False).encode(), file_name=file_name, mime="text/csv", key=key
    )


def explain_ui(text: str) -> None:
    """The short "what am I looking at" box every page starts with."""
    with st.expander("What am I looking at?"):
        st.markdown(text)


def live_run_ui(run: Run, key: str, extra: Callable[[Run], None] | None = None) -> None:
    """While `run` trains: a Cancel button, a progress bar and `extra(run)` (e.g. live curves),
    refreshed every second without freezing the page; reruns the whole app when the run ends."""
    if not run.is_active:
        return
    # NOTE: the button sits outside the fragment, which redraws every second: a click on an
    # element that is being redrawn can be lost
    if st.button("Cancel", key=f"{key}_cancel", help="Stops after the current step"):
        run.cancel.set()
        st.toast(f"Cancelling {run.name}…")

    @st.fragment(run_every=1.0)
    def poll() -> None:
        if not run.is_active:
            st.rerun()
        phase = "Training" if run.status in ("queued", "training") else "Scoring the space"
        st.progress(min(run.progress, 1.0), text=f"{phase} — {run.name}: {run.message}")
        if extra is not None:
            extra(run)

    poll()


def run_outcome_ui(run: Run) -> bool:
    """Says how a finished run ended; returns True when its results can be shown."""
    if run.status == "failed":
        st.error(f"Run {run.name} failed: {run.error}")
    elif run.status == "cancelled":
        st.warning(f"Run {run.name} was cancelled ({run.message}); it has no results.")
    elif run.status == "diverged":
        st.warning(f"Run {run.name} diverged: {run.message}.")
    if run.store_error:
        st.warning(f"Run {run.name} could not be saved to the run store: {run.store_error}")
    return run.is_ready
