"""The dynamic adaptive multi-task loss of HyperNAS.

    L = sum_t  L_t^(q-1) / (2 u_t^2)  +  ln(1 + u_t^2)

with one learnable u_t per task (initialised to 1) and a preference coefficient q > 1. With q = 2
this is uncertainty weighting in its positive-regulariser form (L_t / (2 u_t^2) + ln(1 + u_t^2)).
With q < 2 the power L_t^(q-1) compresses large losses, so a task whose loss is large does not
swamp the others. The effective weight of task t, the factor by which a change of L_t moves L, is

    w_t = dL / dL_t = (q - 1) L_t^(q-2) / (2 u_t^2).

`pairwise_ranking_loss` is an optional extra term of the regression task: it scores the order of
the predictions inside a batch rather than their values, which is what Kendall tau measures.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

_EPS = 1e-8  # L_t^(q-1) has an infinite slope at 0 for q < 2; losses are clamped away from 0


def pairwise_ranking_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Logistic loss on every pair of the batch whose targets differ.

    For a pair with target_i > target_j the loss is softplus(-(pred_i - pred_j)) = ln(1 + e^-(d)):
    about ln 2 for a tie, towards 0 for a pair predicted in the right order with a wide margin,
    and linear in the margin for a pair predicted in the wrong order.

    Args:
        pred: (B,) predicted standardised scores.
        target: (B,) true standardised scores.

    Returns:
        The mean over ordered pairs (scalar); 0 when all targets of the batch are equal.
    """
    if pred.shape != target.shape or pred.dim() != 1:
        raise ValueError(
            f"pred and target must both have shape (B,) (got {tuple(pred.shape)} and "
            f"{tuple(target.shape)})"
        )
    diff_pred = pred.unsqueeze(1) - pred.unsqueeze(0)  # (B, B): pred_i - pred_j
    better = (target.unsqueeze(1) > target.unsqueeze(0)).to(pred.dtype)  # (B, B): i above j
    pairs = better.sum()
    return (F.softplus(-diff_pred) * better).sum() / pairs.clamp(min=1.0)


@dataclass
class MultiTaskLossOutput:
    """Attributes: total (scalar), u (T,), weights (T,) effective weights, detached."""

    total: torch.Tensor
    u: torch.Tensor
    weights: torch.Tensor


class AdaptiveMultiTaskLoss(nn.Module):
    """Combines T task losses with learnable uncertainties u_t and preference coefficient q."""

    def __init__(self, task_names: tuple[str, ...], q: float = 1.5) -> None:
        super().__init__()
        if not q > 1.0:
            raise ValueError(f"q must be > 1 (got {q!r})")
        if not task_names:
            raise ValueError("task_names must name at least one task (got an empty tuple)")
        self.task_names = tuple(task_names)
        self.q = float(q)
        self.u = nn.Parameter(torch.empty(len(task_names)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.ones_(self.u)

    def forward(self, losses: torch.Tensor) -> MultiTaskLossOutput:
        """Args: losses (T,) non-negative task losses, in the order of `task_names`."""
        if losses.shape != self.u.shape:
            raise ValueError(
                f"expected {len(self.task_names)} task losses {self.task_names} (got shape {tuple(losses.shape)})"
            )
        L = losses.clamp(min=_EPS)
        u2 = self.u.square()
        total = (L.pow(self.q - 1.0) / (2.0 * u2) + torch.log1p(u2)).sum()
        with torch.no_grad():
            weights = (self.q - 1.0) * L.pow(self.q - 2.0) / (2.0 * u2)
        return MultiTaskLossOutput(total, self.u.detach().clone(), weights)

    def extra_repr(self) -> str:
        return f"tasks={self.task_names}, q={self.q}"
