"""Training runs of the app: a spec, a background thread, live progress and cached results.

Pure Python (no streamlit): the pages keep `Run` objects in their browser session and poll them.
A run samples its training archs, fits a predictor, then scans the whole space once (predicted
scores and global embeddings of every arch) and projects the embeddings with PCA. UMAP, being
slow, is a separate background job started on demand.

With a `RunStore`, a run records itself as it goes: its spec and config when it starts, every
epoch, then its status, metrics, weights and the scores and embeddings of its scan when it ends.
`Run.from_store` rebuilds a finished run from the store (after an app restart, or in another
session) without training or scanning again.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from hypernas_core import (
    GeneratedWeights,
    History,
    Predictor,
    PredictorConfig,
    get_space,
    method_config,
)
from hypernas_core.arch_distance import op_counts
from hypernas_core.benchmark import split_archs
from hypernas_core.projection import pca_2d, umap_2d
from hypernas_core.rankings import held_out_report, rank_frame
from hypernas_core.run_store import RunStore
from hypernas_core.space_scan import SpaceScan, scan_space

if TYPE_CHECKING:
    from app.limits import TrainingSlots

logger = logging.getLogger(__name__)

SCAN_SAMPLE = 5000  # archs scanned in a space that cannot be enumerated
_run_ids = itertools.count(1)


@dataclass(frozen=True)
class RunSpec:
    """What the user chose on the Train page."""

    space: str = "nb201"  # search space name
    method: str = "hypernas"  # np, hypernas-p or hypernas
    budget: int = 50  # number of scored training archs
    seed: int = 0  # seeds the arch sample and training
    q: float = 1.5  # preference coefficient of the adaptive loss
    rank_weight: float = 0.0  # weight of the pairwise ranking loss beside the MSE (0: MSE only)
    epochs: int = 10  # passes over the training archs
    target: str | None = None  # label column (None: the space's default)
    aux_dataset: str = "digits"  # aux images of the hypernetwork
    aux_root: str | None = None  # local CIFAR-10 folder when aux_dataset is cifar10
    device: str = "auto"  # auto, cpu, cuda or mps
    scan_size: int | None = None  # archs to score and embed after training (None: the whole space)

    def config(self) -> PredictorConfig:
        """The library config; raises ValueError naming a bad field."""
        space = get_space(self.space)
        size = space.size or SCAN_SAMPLE
        if not 2 <= self.budget <= min(size, 5000):
            raise ValueError(f"budget must be in 2..{min(size, 5000)} archs (got {self.budget!r})")
        if self.scan_size is not None and not self.budget + 2 <= self.scan_size <= size:
            raise ValueError(
                f"scan_size must be in {self.budget + 2}..{size} (2 more than the budget) or None "
                f"(got {self.scan_size!r})"
            )
        return method_config(
            self.method,
            space=self.space,
            target=self.target,
            train={
                "epochs": self.epochs,
                "seed": self.seed,
                "q": self.q,
                "rank_weight": self.rank_weight,
                "device": self.device,
            },
            hypernet={"aux_dataset": self.aux_dataset, "aux_root": self.aux_root},
        )

    def title(self) -> str:
        q = f" q={self.q:g}" if self.method == "hypernas" else ""
        rank = f" rank={self.rank_weight:g}" if self.rank_weight else ""
        scan = f" scan={self.scan_size}" if self.scan_size else ""
        return (
            f"{self.method} budget={self.budget} ep={self.epochs}{q}{rank} seed={self.seed}{scan}"
        )


# The full HyperNAS path at a size a lecture can wait for: 20 hypernas steps (~6 s at 0.3 s/step)
# plus one scan of 15,625 archs (~10-20 s) on an idle 2-core CPU; 160-215 s were measured on a
# 2-core CPU shared with three other training processes.
DEMO_SPEC = RunSpec(method="hypernas", budget=50, epochs=4, seed=0, q=1.5)


@dataclass(eq=False)  # runs are compared by identity; their fields hold arrays
class Run:
    """One training run and everything computed from it; updated by its own thread.

    Attributes:
        status: "queued", "training", "scanning", "done", "cancelled", "diverged", "failed", or
            "interrupted" (loaded from a store whose writer died).
        progress: 0..1 of the current phase. epochs: the per-epoch metrics seen so far.
        store, store_id: where the run records itself, and its id there (None: not stored).
        slots: the process-wide training slots this run holds one of while it trains.
    """

    spec: RunSpec
    id: int = field(default_factory=lambda: next(_run_ids))
    status: str = "queued"
    progress: float = 0.0
    message: str = "waiting to start"
    epochs: list[dict[str, float]] = field(default_factory=list)
    error: str | None = None
    predictor: Predictor | None = None
    history: History | None = None
    train_archs: list[str] = field(default_factory=list)
    archs: list[str] = field(default_factory=list)
    true_scores: np.ndarray | None = None
    scan: SpaceScan | None = None
    pca: np.ndarray | None = None
    umap: np.ndarray | None = None
    umap_status: str = "idle"  # idle, running, done, failed
    umap_seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    weights: dict[str, GeneratedWeights] = field(default_factory=dict)
    cancel: threading.Event = field(default_factory=threading.Event)
    store: RunStore | None = None
    store_id: int | None = None
    store_error: str | None = None
    slots: TrainingSlots | None = None
    _thread: threading.Thread | None = None
    _umap_thread: threading.Thread | None = None
    _positions: dict[str, int] | None = None
    _op_counts: pd.DataFrame | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def name(self) -> str:
        return f"#{self.id} {self.spec.title()}"

    @property
    def is_active(self) -> bool:
        return self.status in ("queued", "training", "scanning")

    @property
    def is_ready(self) -> bool:
        """True when scores and embeddings of the whole space are available."""
        return self.scan is not None and self.status in ("done", "diverged")

    def position(self, arch: str) -> int | None:
        """Index of `arch` in `archs` (the scanned archs), or None when it was not scanned."""
        if self._positions is None or len(self._positions) != len(self.archs):
            self._positions = {a: i for i, a in enumerate(self.archs)}
        return self._positions.get(arch)

    def predicted(self, arch: str) -> float | None:
        """The predicted score of a scanned arch, or None."""
        i = self.position(arch)
        return None if i is None or self.scan is None else float(self.scan.scores[i])

    def op_counts(self) -> pd.DataFrame:
        """Op counts of the cell of every scanned arch (computed once)."""
        if self._op_counts is None or len(self._op_counts) != len(self.archs):
            self._op_counts = op_counts(get_space(self.spec.space), self.archs)
        return self._op_counts

    def epoch_records(self) -> list[dict[str, float]]:
        with self._lock:
            return list(self.epochs)

    # the work

    def start(self) -> Run:
        """Validates the spec, takes a training slot, then trains and scans in a daemon thread.

        Raises:
            ValueError: for a bad spec, or when every training slot of the process is taken.
        """
        config = self.spec.config()  # bad input fails here, in the caller's thread
        if self.slots is not None:
            self.slots.acquire()
        self._thread = threading.Thread(target=self._work, args=(config,), daemon=True)
        self._thread.start()
        return self

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _work(self, config: PredictorConfig) -> None:
        try:
            if self.store is not None:
                self.store_id = self.store.create_run(
                    "app", self.spec.title(), dataclasses.asdict(self.spec), config.to_dict()
                )
            self._train_and_scan(config)
        except Exception as err:  # the thread must always leave a readable status
            logger.exception("run %s failed", self.id)
            self.status, self.error = "failed", f"{type(err).__name__}: {err}"
            self.message = self.error
        finally:
            if self.slots is not None:
                self.slots.release()
        self._record_end()

    def _record_end(self) -> None:
        """Writes the final status, metrics, weights and scan to the store (if any)."""
        if self.store is None or self.store_id is None:
            return
        status = {"done": "completed"}.get(self.status, self.status)
        metrics: dict[str, Any] = {k: round(v, 2) for k, v in self.timings.items()}
        if self.is_ready and self.true_scores is not None:
            try:
                metrics.update(self.report())
            except ValueError as err:  # too few held-out archs: the run is still stored
                logger.info("run %s has no ranking report: %s", self.id, err)
        has_results = self.is_ready and self.predictor is not None
        arrays = (
            {"scores": self.scan.scores, "embeddings": self.scan.embeddings}
            if has_results
            else None
        )
        try:
            self.store.finish_run(
                self.store_id,
                status,
                self.message,
                metrics,
                predictor=self.predictor if has_results else None,
                arrays=arrays,
            )
        except Exception as err:  # the run's results stay in memory; the page says so
            logger.exception("run %s could not be stored", self.id)
            self.store_error = f"{type(err).__name__}: {err}"

    @classmethod
    def from_store(cls, store: RunStore, store_id: int, id: int) -> Run:
        """Rebuilds a run recorded in `store` (weights, scan and history; nothing is retrained).

        Args:
            store: the run store. store_id: the run's id there. id: its number in this session.

        Raises:
            ValueError: when the stored run is not an app run, or its files fail the checks.
        """
        stored = store.get(store_id)
        if stored.kind != "app":
            raise ValueError(f"stored run {store_id} is a {stored.kind!r} run, not an app run")
        try:
            spec = RunSpec(**stored.spec)
        except TypeError as err:
            raise ValueError(f"stored run {store_id} has an unknown spec: {err}") from err
        status = {"completed": "done"}.get(stored.status, stored.status)
        run = cls(spec, id=id, status=status, progress=1.0, store_id=store_id)
        run.epochs = stored.epochs
        run.message = f"{stored.message} (loaded from the run store, run {store_id})"
        run.timings = {
            k: float(stored.metrics[k])
            for k in ("train_s", "scan_s", "total_s")
            if k in stored.metrics
        }
        if not stored.has_artifacts:
            return run

        space = get_space(spec.space)
        run.predictor = store.load_predictor(store_id)
        run.history = run.predictor.history
        run.train_archs = run.predictor.train_archs
        run.archs = _scanned_archs(space, spec.scan_size, run.train_archs)
        arrays = store.load_arrays(store_id)
        scores, embeddings = arrays.get("scores"), arrays.get("embeddings")
        A, D = len(run.archs), run.predictor.config.encoder.hidden_dim
        if scores is None or scores.shape != (A,) or embeddings.shape != (A, D):
            raise ValueError(
                f"stored run {store_id} should have scores ({A},) and embeddings ({A}, {D}) "
                f"(got {None if scores is None else scores.shape})"
            )
        run.scan = SpaceScan(scores, embeddings, run.timings.get("scan_s", 0.0))
        run.true_scores = _true_scores(space, run.archs, run.predictor.target)
        run.pca = pca_2d(embeddings) if np.isfinite(embeddings).all() else None
        return run

    def _train_and_scan(self, config: PredictorConfig) -> None:
        space = get_space(self.spec.space)
        start = time.perf_counter()
        self.train_archs = _training_archs(space, self.spec.budget, self.spec.seed)
        self.predictor = Predictor(config)
        self.status, self.message = "training", "training"

        def on_step(epoch: int, epochs: int, metrics: dict[str, float]) -> None:
            with self._lock:
                self.epochs.append(dict(metrics))
            self.progress = epoch / epochs
            self.message = f"epoch {epoch}/{epochs}"
            if self.store is not None:
                self.store.append_epoch(self.store_id, metrics)

        self.history = self.predictor.fit(self.train_archs, on_step=on_step, cancel=self.cancel)
        self.timings["train_s"] = time.perf_counter() - start
        if self.history.status == "cancelled":
            self.status, self.message = "cancelled", "cancelled during training"
            return
        diverged = self.history.status == "diverged"
        if diverged:
            # the non-finite epoch is kept too, as the record of where training blew up
            on_step(len(self.history.epochs), self.spec.epochs, self.history.epochs[-1])
            if len(self.history.epochs) == 1:
                self.status, self.message = "diverged", self.history.message
                return  # nothing finite was learnt: no scan

        # one pass over the whole space: scores and embeddings
        self.archs = _scanned_archs(space, self.spec.scan_size, self.train_archs)
        self.status, self.progress, self.message = "scanning", 0.0, "scoring every arch"

        def on_chunk(done: int, total: int) -> None:
            self.progress = done / total
            self.message = f"scored {done:,}/{total:,} archs"

        scan = scan_space(
            self.predictor, self.archs, chunk_size=4096, on_chunk=on_chunk, cancel=self.cancel
        )
        if scan is None:
            self.status, self.message = "cancelled", "cancelled while scoring the space"
            return
        self.true_scores = _true_scores(space, self.archs, self.predictor.target)
        self.pca = pca_2d(scan.embeddings) if np.isfinite(scan.embeddings).all() else None
        self.scan = scan
        self.timings["scan_s"] = scan.seconds
        self.timings["total_s"] = time.perf_counter() - start
        if diverged:
            self.status, self.progress, self.message = "diverged", 1.0, self.history.message
            return
        self.status = "done"
        self.progress, self.message = 1.0, f"{self.status} in {self.timings['total_s']:.0f} s"

    # UMAP on demand

    def start_umap(self) -> None:
        """Computes the UMAP of the embeddings in a daemon thread (once)."""
        if self.scan is None or self.umap_status in ("running", "done"):
            return
        self.umap_status = "running"
        self._umap_thread = threading.Thread(target=self._umap_work, daemon=True)
        self._umap_thread.start()

    def _umap_work(self) -> None:
        start = time.perf_counter()
        try:
            self.umap = umap_2d(self.scan.embeddings, seed=self.spec.seed)
            self.umap_status = "done"
        except Exception:  # shown on the page; the PCA view keeps working
            logger.exception("UMAP of run %s failed", self.id)
            self.umap_status = "failed"
        self.umap_seconds = time.perf_counter() - start

    # derived tables

    def rank_frame(self) -> pd.DataFrame:
        """Per-arch true/predicted scores and ranks (see `hypernas_core.rankings.rank_frame`)."""
        if self.scan is None:
            raise ValueError(f"run {self.name} has no predictions yet (status {self.status})")
        if self.true_scores is None:
            raise ValueError(f"space {self.spec.space!r} has no true scores to rank against")
        return rank_frame(self.archs, self.true_scores, self.scan.scores, self.train_archs)

    def report(self, top_k: int = 50) -> dict[str, float]:
        """Held-out ranking metrics; precision@K uses at most as many archs as are held out.

        Raises:
            ValueError: when fewer than 2 scanned archs are held out.
        """
        frame = self.rank_frame()
        held = int((~frame["is_train"]).sum())
        return held_out_report(frame, top_k=max(1, min(top_k, held)))

    def summary(self) -> dict[str, Any]:
        """One flat row for run tables."""
        row: dict[str, Any] = {"run": self.name, "status": self.status}
        row.update(dataclasses.asdict(self.spec))
        row.update({k: round(v, 1) for k, v in self.timings.items()})
        return row


def _partly_labelled(space) -> bool:
    """True when the bundled table holds only some archs of the space (NB101, DARTS, ViT)."""
    return space.size is None or len(space.labelled_archs()) < space.size


def _training_archs(space, budget: int, seed: int) -> list[str]:
    """`budget` archs drawn with `seed`; from the labelled archs where the table is partial."""
    if not _partly_labelled(space):
        return space.sample(budget, seed=seed)
    if not space.labelled_archs():
        raise ValueError(
            f"{space.name} has no bundled labels to train on; label archs on the Label page or "
            "with `python -m hypernas_core label`, then train with `python -m hypernas_core labels`"
        )
    return split_archs(space.name, budget, seed)[0]  # the benchmark's split of the labelled archs


def _scanned_archs(space, scan_size: int | None, train_archs: list[str]) -> list[str]:
    """Every arch of a finite space; the labelled archs of a partly labelled one (so every
    scanned arch has a true score); else a fixed sample that contains the training archs."""
    if scan_size is None and space.size:
        return space.enumerate()
    if _partly_labelled(space) and space.labelled_archs():
        return space.labelled_archs()
    size = scan_size or SCAN_SAMPLE
    train = set(train_archs)
    others = [a for a in space.sample(size, seed=0) if a not in train]
    return sorted(train) + others[: size - len(train)]


def _true_scores(space, archs: list[str], target: str) -> np.ndarray | None:
    """The benchmark scores of `archs`, or None when the space has no table for them."""
    try:
        return space.labels(archs, target)
    except ValueError as err:
        logger.info("no true scores for the scanned archs: %s", err)
        return None
