"""Ensembles: K predictors of one config that differ only in their seed, averaged.

Member j trains with `train.seed + j * MEMBER_SEED_STRIDE` (its parameter init, batch order and aux
images), on the same archs and scores as the others; the ensemble predicts the mean of the
members' predictions and reports their spread. The archs a benchmark trains on are drawn with the
config's own seed (see `benchmark.split_archs`), so an ensemble and a single predictor of the same
seed train on identical archs.

Shapes:
    B archs, K members.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence

import numpy as np
import torch

from hypernas_core.config import PredictorConfig
from hypernas_core.predictor import Predictor
from hypernas_core.training import History, StepCallback

MEMBER_SEED_STRIDE = 10_000  # seeds of members 0, 1, 2, ...: seed, seed + 10,000, seed + 20,000
MAX_MEMBERS = 64


def check_ensemble_size(size: object, name: str = "ensemble size") -> None:
    """Raises ValueError naming `name` unless `size` is an integer in 1..MAX_MEMBERS."""
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_MEMBERS:
        raise ValueError(f"{name} must be an integer in 1..{MAX_MEMBERS} (got {size!r})")


def member_config(config: PredictorConfig, member: int) -> PredictorConfig:
    """The config of member `member`: `config` with its training seed moved by the stride."""
    train = dataclasses.replace(config.train, seed=config.train.seed + member * MEMBER_SEED_STRIDE)
    return dataclasses.replace(config, train=train)


class PredictorEnsemble:
    """`size` predictors of `config`, trained one after the other, predicting their mean.

    Example:
        >>> ensemble = PredictorEnsemble(method_config("np"), size=5)
        >>> histories = ensemble.fit(space.sample(156, seed=0))
        >>> scores, spread = ensemble.predict(archs), ensemble.predict_std(archs)
    """

    def __init__(self, config: PredictorConfig, size: int) -> None:
        check_ensemble_size(size)
        self.config = config
        self.members = [Predictor(member_config(config, j)) for j in range(size)]

    @property
    def size(self) -> int:
        return len(self.members)

    @property
    def space(self):
        return self.members[0].space

    @property
    def target(self) -> str:
        return self.members[0].target

    @property
    def history(self) -> History | None:
        """The history of the last member trained (its status says whether training stopped)."""
        trained = [m.history for m in self.members if m.history is not None]
        return trained[-1] if trained else None

    def fit(
        self,
        archs: Sequence[str],
        scores: Sequence[float] | np.ndarray | None = None,
        on_step: StepCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> list[History]:
        """Trains every member on the same scored archs, one after the other.

        Args:
            on_step: called once per epoch of each member as on_step(done, total, metrics), with
                `done` counting the epochs of all members so far and `total` = size x epochs.
            cancel: set it to stop; the member in training stops after its current step and the
                later members are not trained (predict then averages the members trained).

        Returns:
            The members' histories, in member order (only those trained).
        """
        epochs = self.config.train.epochs
        total = epochs * self.size
        histories = []
        for j, member in enumerate(self.members):
            if cancel is not None and cancel.is_set() and histories:
                break

            def report(epoch: int, _epochs: int, metrics: dict, index: int = j) -> None:
                if on_step is not None:
                    on_step(index * epochs + epoch, total, {**metrics, "member": float(index)})

            histories.append(member.fit(archs, scores, on_step=report, cancel=cancel))
            if histories[-1].status != "completed":
                break
        return histories

    def _trained(self) -> list[Predictor]:
        trained = [m for m in self.members if m.model is not None]
        if not trained:
            raise ValueError("the ensemble is not trained yet; call fit() first")
        return trained

    def member_predictions(self, archs: Sequence[str], batch_size: int = 4096) -> torch.Tensor:
        """(K, B) predicted scores of every trained member, in the label's units."""
        archs = list(archs)
        return torch.stack([m.predict(archs, batch_size) for m in self._trained()])

    def predict(self, archs: Sequence[str], batch_size: int = 4096) -> torch.Tensor:
        """(B,) mean of the members' predicted scores, in the label's units, on the CPU."""
        return self.member_predictions(archs, batch_size).mean(dim=0)

    def predict_std(self, archs: Sequence[str], batch_size: int = 4096) -> torch.Tensor:
        """(B,) standard deviation of the members' predictions (0 for a single member)."""
        predictions = self.member_predictions(archs, batch_size)
        if len(predictions) == 1:
            return torch.zeros(predictions.shape[1])
        return predictions.std(dim=0, unbiased=True)

    def __repr__(self) -> str:
        trained = sum(m.model is not None for m in self.members)
        return f"PredictorEnsemble({self.config.method!r}, {trained}/{self.size} members trained)"
