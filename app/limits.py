"""Limits that keep one browser session from starving a shared deployment.

Pure Python (no streamlit). Each limit has a default and an environment variable that overrides
it, read once when the app starts:

| variable | default | what it caps |
|---|---|---|
| HYPERNAS_MAX_EPOCHS | 1000 | epochs of one run |
| HYPERNAS_MAX_BUDGET | 5000 | training archs of one run |
| HYPERNAS_MAX_ARCH_EPOCHS | 200000 | budget x epochs of one run (its training cost) |
| HYPERNAS_MAX_SCAN | 20000 | archs scored and embedded after training |
| HYPERNAS_MAX_ARCHS_PER_FILE | 20000 | rows of an uploaded arch or label file |
| HYPERNAS_MAX_SESSION_TRAININGS | 1 | trainings at a time in one browser session |
| HYPERNAS_MAX_TOTAL_TRAININGS | 4 | trainings at a time in the whole app process |
| HYPERNAS_MAX_SESSION_RUNS | 20 | runs kept in one session's memory |
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class SessionLimits:
    """Per-session and per-process caps; see the module docstring for the variables."""

    max_epochs: int = 1000  # epochs of one run
    max_budget: int = 5000  # training archs of one run
    max_arch_epochs: int = 200_000  # budget x epochs of one run
    max_scan: int = 20_000  # archs scanned after training
    max_archs_per_file: int = 20_000  # rows of an uploaded arch or label file
    max_session_trainings: int = 1  # concurrent trainings of one session
    max_total_trainings: int = 4  # concurrent trainings of the app process
    max_session_runs: int = 20  # runs kept in memory per session

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"limit {f.name} must be an integer >= 1 (got {value!r})")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> SessionLimits:
        """Limits with HYPERNAS_<NAME> variables applied.

        Raises:
            ValueError: naming a variable that is not a positive integer.
        """
        environ = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            name = f"HYPERNAS_{f.name.upper()}"
            if name in environ:
                try:
                    values[f.name] = int(environ[name])
                except ValueError:
                    raise ValueError(
                        f"{name} must be a positive integer (got {environ[name]!r})"
                    ) from None
        return cls(**values)

    def check_run(self, budget: int, epochs: int, scan_size: int | None, space_size: int) -> None:
        """Raises ValueError naming the first limit a run of this size would break."""
        scanned = space_size if scan_size is None else scan_size
        if epochs > self.max_epochs:
            raise ValueError(f"epochs is limited to {self.max_epochs} here (got {epochs})")
        if budget > self.max_budget:
            raise ValueError(f"budget is limited to {self.max_budget} archs here (got {budget})")
        if budget * epochs > self.max_arch_epochs:
            raise ValueError(
                f"budget x epochs is limited to {self.max_arch_epochs:,} here "
                f"(got {budget} x {epochs} = {budget * epochs:,}); lower one of them"
            )
        if scanned > self.max_scan:
            raise ValueError(
                f"scoring is limited to {self.max_scan:,} archs here (got {scanned:,}); "
                "choose the random 2,000 archs"
            )


class TrainingSlots:
    """A non-blocking counter of trainings running at once across every session of a process.

    Example:
        >>> slots = TrainingSlots(4)
        >>> slots.acquire()  # raises ValueError when 4 trainings already run
        >>> slots.release()
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1 (got {capacity!r})")
        self.capacity = capacity
        self._used = 0
        self._lock = threading.Lock()

    @property
    def used(self) -> int:
        return self._used

    def acquire(self) -> None:
        """Takes a slot.

        Raises:
            ValueError: when every slot is taken.
        """
        with self._lock:
            if self._used >= self.capacity:
                raise ValueError(
                    f"the server already runs {self._used} trainings, its limit; "
                    "try again when one has finished"
                )
            self._used += 1

    def release(self) -> None:
        with self._lock:
            if self._used <= 0:
                raise ValueError("release() without a matching acquire()")
            self._used -= 1
