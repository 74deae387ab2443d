"""The training loop: regression on standardised scores (MSE, plus an optional pairwise ranking
loss), plus the hypernetwork's aux task.

A step reads: batch to device, forward, losses, backward, step, zero grads, metrics. Per-step
values (task losses, u_t, effective weights) stay on the device and are copied to the host once
per epoch, so the loop has no per-step host sync apart from the hypernetwork's node selection.

Shapes:
    B archs per batch, M aux images per step, K aux classes, T = 2 tasks.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from hypernas_core.aux_data import AuxDataset
from hypernas_core.config import TrainConfig
from hypernas_core.losses import pairwise_ranking_loss
from hypernas_core.model import TASKS, HyperNASModel, ModelOutput
from hypernas_core.search_space import ChainBatch

logger = logging.getLogger(__name__)

StepCallback = Callable[[int, int, dict[str, float]], None]


def resolve_device(device: str) -> torch.device:
    """Turns "auto", "cpu", "cuda" or "mps" into an available torch device.

    Raises:
        ValueError: for an unknown name or a device this machine does not have.
    """
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if device == "cpu":
        return torch.device("cpu")
    if device == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                "device 'cuda' was asked for but torch sees no CUDA GPU; use 'auto' or 'cpu'"
            )
        return torch.device("cuda")
    if device == "mps":
        if not torch.backends.mps.is_available():
            raise ValueError(
                "device 'mps' was asked for but this machine has no Apple MPS; use 'auto' or 'cpu'"
            )
        return torch.device("mps")
    raise ValueError(f"device must be one of auto, cpu, cuda, mps (got {device!r})")


def detected_devices() -> dict[str, bool]:
    """Which accelerators torch can use here, e.g. {"cuda": False, "mps": False, "cpu": True}."""
    return {
        "cuda": torch.cuda.is_available(),
        "mps": torch.backends.mps.is_available(),
        "cpu": True,
    }


@dataclass
class History:
    """What a training run recorded.

    Attributes:
        task_names: the tasks of the loss ("regression", and "aux" with the hypernetwork).
        epochs: one dict per epoch: epoch, seconds (since start), lr, loss_<task> (epoch mean),
            u_<task> and weight_<task> (end of epoch), aux_acc (train batches).
        steps: per-step series: loss_<task>, u_<task>, weight_<task>.
        status: "completed", "cancelled" or "diverged".
        device: the device it ran on.
        train_seconds: wall time of the loop.
        message: how training ended, in words (e.g. where and why it diverged).
    """

    task_names: tuple[str, ...]
    epochs: list[dict[str, float]] = field(default_factory=list)
    steps: dict[str, list[float]] = field(default_factory=dict)
    status: str = "completed"
    device: str = "cpu"
    train_seconds: float = 0.0
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "task_names": list(self.task_names),
            "epochs": self.epochs,
            "steps": self.steps,
            "status": self.status,
            "device": self.device,
            "train_seconds": self.train_seconds,
            "message": self.message,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        return cls(
            task_names=tuple(data["task_names"]),
            epochs=list(data["epochs"]),
            steps={k: list(v) for k, v in data["steps"].items()},
            status=data["status"],
            device=data["device"],
            train_seconds=float(data["train_seconds"]),
            message=str(data.get("message", "")),
        )

    def epoch_frame(self):
        """The per-epoch records as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame(self.epochs)


def _step_series_names(task_names: tuple[str, ...]) -> list[str]:
    names = [f"loss_{t}" for t in task_names]
    if len(task_names) > 1:
        names += [f"u_{t}" for t in task_names] + [f"weight_{t}" for t in task_names]
    return names + ["aux_acc"] if "aux" in task_names else names


def train_model(
    model: HyperNASModel,
    chain: ChainBatch,
    targets: torch.Tensor,
    config: TrainConfig,
    aux: AuxDataset | None = None,
    on_step: StepCallback | None = None,
    cancel: threading.Event | None = None,
    unlabelled: ChainBatch | None = None,
) -> History:
    """Trains `model` in place on labelled archs.

    Args:
        model: the network; its hypernetwork branch trains when it has one.
        chain: (B_train, C, N) encoded training archs.
        targets: (B_train,) standardised scores.
        config: optimisation settings.
        aux: aux images; required when the model has a hypernetwork.
        on_step: called after every epoch as on_step(epoch, epochs, metrics).
        cancel: when set, training stops after the current step with status "cancelled".
        unlabelled: (B_pool, C, N) encoded archs without labels; with
            `config.hypernet.unlabelled_archs` = U > 0, every step also runs U of them, drawn from
            this pool, through the hypernetwork's aux task (their scores are never used).

    Returns:
        The history. The model keeps the weights of the last step; when the loss becomes NaN or
        inf, training stops at the end of that epoch (status "diverged", the epoch's non-finite
        record kept in the history) and the model gets back the weights of the last finite epoch.

    Raises:
        ValueError: when shapes disagree or the aux data is missing.
    """
    n = len(chain)
    if targets.shape != (n,):
        raise ValueError(
            f"targets must have shape ({n},) to match the archs (got {tuple(targets.shape)})"
        )
    if model.has_hypernet and aux is None:
        raise ValueError(
            "the model has a hypernetwork, so train_model needs aux images (got aux=None)"
        )
    extra_per_step = model.config.hypernet.unlabelled_archs if model.has_hypernet else 0
    if extra_per_step and (unlabelled is None or len(unlabelled) == 0):
        raise ValueError(
            f"hypernet.unlabelled_archs is {extra_per_step}, so train_model needs a non-empty pool "
            "of unlabelled archs (got none)"
        )
    device = resolve_device(config.device)
    model.to(device).train()
    chain, targets = chain.to(device), targets.to(device, torch.float32)
    pool = unlabelled.to(device) if extra_per_step else None
    task_names = TASKS if model.has_hypernet else TASKS[:1]
    history = History(task_names, device=str(device))

    # optimiser: the loss weights u_t are not decayed (decay would push them to 0)
    loss_params = list(model.task_loss.parameters()) if model.task_loss is not None else []
    loss_ids = {id(p) for p in loss_params}
    net_params = [p for p in model.parameters() if id(p) not in loss_ids]
    groups = [{"params": net_params, "weight_decay": config.weight_decay}]
    if loss_params:
        groups.append({"params": loss_params, "weight_decay": 0.0})
    optimizer = torch.optim.Adam(groups, lr=config.lr)
    steps_per_epoch = math.ceil(n / config.batch_size)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=config.epochs * steps_per_epoch
    )

    generator = torch.Generator().manual_seed(config.seed)
    if aux is not None:
        aux_images = aux.train_images.to(device)
        aux_labels = aux.train_labels.to(device)
    series = _step_series_names(task_names)
    history.steps = {name: [] for name in series}
    last_finite = _snapshot(model)  # restored if training diverges
    start = time.perf_counter()

    for epoch in range(1, config.epochs + 1):
        order = torch.randperm(n, generator=generator)
        records: list[torch.Tensor] = []
        for first in range(0, n, config.batch_size):
            if cancel is not None and cancel.is_set():
                history.status = "cancelled"
                break

            # batch to device (the chain is already there)
            idx = order[first : first + config.batch_size].to(device)
            batch = chain.index(idx)

            # forward and losses
            out = model(batch)
            regression = F.mse_loss(out.score, targets[idx])
            if config.rank_weight > 0:
                regression = regression + config.rank_weight * pairwise_ranking_loss(
                    out.score, targets[idx]
                )
            if model.has_hypernet:
                extra = None
                if pool is not None:
                    pick = torch.randint(len(pool), (extra_per_step,), generator=generator)
                    extra = pool.index(pick.to(device))
                total, record = _aux_step(
                    model, batch, out, regression, aux_images, aux_labels, generator, extra
                )
            else:
                total, record = regression, regression.detach().view(1)

            # backward, step, zero grads
            total.backward()
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            records.append(record)

        if not records:
            break
        values = torch.stack(records).cpu().numpy()  # (steps, series): one host copy per epoch
        for j, name in enumerate(series):
            history.steps[name].extend(values[:, j].tolist())
        metrics = _epoch_metrics(epoch, values, series, time.perf_counter() - start)
        metrics["lr"] = scheduler.get_last_lr()[0]
        history.epochs.append(metrics)
        if not np.isfinite(values).all():
            history.status = "diverged"
            history.message = _divergence_message(epoch, values, series)
            model.load_state_dict(last_finite)
            logger.warning("%s", history.message)
            break
        last_finite = _snapshot(model)
        if on_step is not None:
            on_step(epoch, config.epochs, metrics)
        if history.status == "cancelled":
            break

    history.train_seconds = time.perf_counter() - start
    if history.status == "completed":
        history.message = f"completed {len(history.epochs)} epoch(s)"
    elif history.status == "cancelled":
        history.message = f"cancelled after {len(history.epochs)} epoch(s)"
    model.eval()
    return history


def _snapshot(model: HyperNASModel) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _divergence_message(epoch: int, values: np.ndarray, series: list[str]) -> str:
    """Names the epoch, the step and the series that first became NaN or inf."""
    bad = ~np.isfinite(values)  # (steps, series)
    step = int(np.argmax(bad.any(axis=1)))
    names = [name for j, name in enumerate(series) if bad[step, j]]
    weights = f"the weights at the end of epoch {epoch - 1}" if epoch > 1 else "the initial weights"
    return (
        f"training diverged: {', '.join(names)} became NaN/inf at step {step + 1} of epoch "
        f"{epoch}; stopped there and kept the {epoch - 1} finite epoch(s) recorded before it and "
        f"{weights} (try a smaller learning rate)"
    )


def _aux_step(
    model: HyperNASModel,
    batch: ChainBatch,
    out: ModelOutput,
    regression: torch.Tensor,
    images: torch.Tensor,
    labels: torch.Tensor,
    generator: torch.Generator,
    extra: ChainBatch | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The hypernetwork branch of a step: aux cross-entropy and the adaptive combination.

    `extra` holds unlabelled archs that run through the aux task beside the batch's own archs;
    the aux loss and accuracy are means over all of them.

    Returns:
        The total loss and the step's record (loss_*, u_*, weight_*, aux_acc) as one tensor.
    """
    cfg = model.config.hypernet
    pick = torch.randint(len(labels), (cfg.aux_batch_size,), generator=generator).to(images.device)
    x, y = images[pick], labels[pick]  # (M, Ch, H, W), (M,)
    k = cfg.aux_archs_per_step or len(batch)
    sub = batch.index(slice(0, k))
    logits = model.aux_logits(x, sub, out.encoded.head(k))  # (M, k, K)
    if extra is not None:
        extra_logits = model.aux_logits(x, extra, model.encoder(extra))  # (M, U, K)
        logits = torch.cat([logits, extra_logits], dim=1)  # (M, k + U, K)
    M, B, K = logits.shape
    y_rep = y.unsqueeze(1).expand(M, B)  # (M, k): every arch sees the same images
    aux = F.cross_entropy(logits.reshape(M * B, K), y_rep.reshape(M * B))
    accuracy = (logits.detach().argmax(-1) == y_rep).float().mean()

    combined = model.task_loss(torch.stack([regression, aux]))
    record = torch.cat(
        [
            torch.stack([regression.detach(), aux.detach()]),
            combined.u,
            combined.weights,
            accuracy.view(1),
        ]
    )
    return combined.total, record


def _epoch_metrics(
    epoch: int, values: np.ndarray, series: list[str], seconds: float
) -> dict[str, float]:
    """Epoch means of the losses and accuracy; end-of-epoch u_t and weights."""
    metrics: dict[str, float] = {"epoch": float(epoch), "seconds": seconds}
    for j, name in enumerate(series):
        column = values[:, j]
        metrics[name] = float(column[-1] if name.startswith(("u_", "weight_")) else column.mean())
    return metrics
