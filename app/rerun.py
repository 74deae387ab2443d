"""A leaderboard cell rerun: one `run_ranking` on the benchmark's own split, in a background thread.

Unlike a Train-page run (which samples its training archs), a rerun trains on exactly the archs of
`split_archs(space, budget, seed)` and is tested on all the others, like `bench ranking`, so its
Kendall tau is directly comparable with the table's stored row for the same cell.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from app.limits import SessionLimits, TrainingSlots
from hypernas_core.benchmark import run_ranking
from hypernas_core.config import METHODS, method_config

logger = logging.getLogger(__name__)


@dataclass(eq=False)
class CellRerun:
    """One rerun of a (method, budget, seed) cell of the leaderboard.

    Attributes:
        status: "training", "done", "cancelled", "diverged" or "failed".
        progress: 0..1 of training. result: `run_ranking`'s result dict once done.
    """

    space: str
    method: str
    budget: int
    seed: int
    epochs: int
    target: str | None = None
    status: str = "training"
    progress: float = 0.0
    message: str = "starting"
    result: dict[str, Any] | None = None
    error: str | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    @property
    def is_active(self) -> bool:
        return self.status == "training"

    def start(self, limits: SessionLimits, slots: TrainingSlots) -> CellRerun:
        """Checks the session limits, takes a training slot and starts the thread.

        Raises:
            ValueError: for an unknown method, a run beyond the limits, or a full server.
        """
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; valid: {', '.join(METHODS)}")
        limits.check_run(self.budget, self.epochs, scan_size=0, space_size=0)
        config = method_config(
            self.method,
            space=self.space,
            target=self.target,
            train={"epochs": self.epochs, "seed": self.seed},
        )
        slots.acquire()
        self._thread = threading.Thread(
            target=self._work, args=(config, slots), name=f"rerun-{self.method}", daemon=True
        )
        self._thread.start()
        return self

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _work(self, config, slots: TrainingSlots) -> None:
        def on_step(epoch: int, total: int, metrics: dict[str, float]) -> None:
            self.progress = epoch / total
            self.message = f"epoch {epoch}/{total}"

        try:
            run = run_ranking(config, self.budget, on_step=on_step, cancel=self.cancel)
            self.result = run.result
            self.status = {"completed": "done"}.get(run.result["status"], run.result["status"])
            self.message = (
                f"Kendall tau {run.result['kendall_tau']:.4f} on {run.result['n_test']:,} archs"
            )
        except Exception as err:  # the thread must always leave a readable status
            logger.exception("leaderboard rerun failed")
            self.status, self.error = "failed", f"{type(err).__name__}: {err}"
            self.message = self.error
        finally:
            slots.release()
