"""Cached loaders shared by every page and session. Nothing returned here is ever mutated,
except the run store and the training slots, which are built to be shared by every session.

st.cache_data for tables (each caller gets a copy), st.cache_resource for shared objects.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from app.limits import SessionLimits, TrainingSlots
from hypernas_core import SearchSpace, detected_devices, get_space
from hypernas_core.arch_distance import op_matrix
from hypernas_core.projection import warm_umap
from hypernas_core.run_store import RunStore

logger = logging.getLogger(__name__)

NO_WARMUP_ENV = "HYPERNAS_APP_NO_UMAP_WARMUP"  # set to 1 to skip the UMAP warm-up (tests)


@st.cache_resource
def space(name: str) -> SearchSpace:
    return get_space(name)


@st.cache_data(show_spinner="Loading the benchmark table...")
def label_table(name: str) -> pd.DataFrame:
    return get_space(name).label_table()


@st.cache_data(show_spinner=False)
def all_archs(name: str) -> list[str]:
    return get_space(name).enumerate()


@st.cache_data(show_spinner="Indexing the ops of every arch...")
def space_op_matrix(name: str) -> np.ndarray:
    """(A, N) op indices of every arch of the space, for nearest-arch search."""
    return op_matrix(get_space(name), all_archs(name))


@st.cache_resource
def devices() -> dict[str, bool]:
    return detected_devices()


@st.cache_resource
def limits() -> SessionLimits:
    """The session limits, from HYPERNAS_MAX_* variables (read once per process)."""
    return SessionLimits.from_env()


@st.cache_resource
def training_slots() -> TrainingSlots:
    """Trainings running at once in this process, shared by every session."""
    return TrainingSlots(limits().max_total_trainings)


@dataclass
class StoreHandle:
    """The run store of this process, or why it could not be opened (the app runs without)."""

    store: RunStore | None
    error: str | None = None


@st.cache_resource
def run_store() -> StoreHandle:
    """Opens the run store ($HYPERNAS_STORE or the user's data directory) once per process."""
    try:
        return StoreHandle(RunStore())
    except (OSError, ValueError) as err:  # e.g. a read-only data directory
        logger.exception("the run store could not be opened")
        return StoreHandle(None, f"{type(err).__name__}: {err}")


@dataclass
class UmapWarmup:
    """State of the one background UMAP compilation of this process."""

    done: threading.Event
    seconds: float = 0.0
    error: str | None = None


@st.cache_resource
def umap_warmup() -> UmapWarmup | None:
    """Compiles umap-learn's kernels once per process in a daemon thread (skipped in tests)."""
    if os.environ.get(NO_WARMUP_ENV) == "1":
        return None
    state = UmapWarmup(threading.Event())

    def work() -> None:
        start = time.perf_counter()
        try:
            warm_umap()
        except Exception as err:  # the UMAP view reports it; PCA still works
            logger.exception("UMAP warm-up failed")
            state.error = f"{type(err).__name__}: {err}"
        state.seconds = time.perf_counter() - start
        state.done.set()

    threading.Thread(target=work, name="umap-warmup", daemon=True).start()
    return state
