import math

import pytest
import torch

from hypernas_core.losses import AdaptiveMultiTaskLoss, pairwise_ranking_loss


def test_q2_equals_uncertainty_weighting():
    loss = AdaptiveMultiTaskLoss(("a", "b"), q=2.0)
    with torch.no_grad():
        loss.u.copy_(torch.tensor([0.5, 2.0]))
    L = torch.tensor([0.3, 1.7])
    expected = sum(
        loss_t / (2 * u**2) + math.log(1 + u**2)
        for loss_t, u in zip([0.3, 1.7], [0.5, 2.0], strict=True)
    )
    out = loss(L)
    assert out.total.item() == pytest.approx(expected, rel=1e-6)
    assert out.weights.tolist() == pytest.approx([1 / (2 * 0.25), 1 / (2 * 4.0)])


def test_general_q_matches_the_formula_and_effective_weights_are_derivatives():
    loss = AdaptiveMultiTaskLoss(("a", "b"), q=1.5)
    L = torch.tensor([0.4, 2.5], requires_grad=True)
    out = loss(L)
    expected = sum(loss_t**0.5 / 2 + math.log(2) for loss_t in [0.4, 2.5])  # u_t = 1 at init
    assert out.total.item() == pytest.approx(expected, rel=1e-6)
    (grad,) = torch.autograd.grad(out.total, L)
    assert out.weights.tolist() == pytest.approx(grad.tolist(), rel=1e-5)
    assert out.u.tolist() == [1.0, 1.0]


def test_q_below_two_gives_the_larger_loss_a_smaller_weight():
    out = AdaptiveMultiTaskLoss(("a", "b"), q=1.5)(torch.tensor([0.1, 10.0]))
    assert out.weights[0] > out.weights[1]


def test_u_is_learned():
    loss = AdaptiveMultiTaskLoss(("a",), q=1.5)
    loss(torch.tensor([4.0])).total.backward()
    assert loss.u.grad is not None and loss.u.grad.item() != 0


def test_zero_loss_stays_finite():
    out = AdaptiveMultiTaskLoss(("a", "b"), q=1.25)(torch.tensor([0.0, 1.0]))
    assert torch.isfinite(out.total) and torch.isfinite(out.weights).all()


def test_bad_inputs():
    with pytest.raises(ValueError, match="q must be > 1 \\(got 1.0\\)"):
        AdaptiveMultiTaskLoss(("a",), q=1.0)
    with pytest.raises(ValueError, match="expected 2 task losses"):
        AdaptiveMultiTaskLoss(("a", "b"))(torch.tensor([1.0]))
    with pytest.raises(ValueError, match="at least one task"):
        AdaptiveMultiTaskLoss(())


def test_ranking_loss_is_the_mean_logistic_loss_over_ordered_pairs():
    pred = torch.tensor([0.5, -1.0, 2.0])
    target = torch.tensor([1.0, 0.0, 0.0])  # pairs (0 above 1) and (0 above 2); 1 and 2 tie
    expected = (math.log1p(math.exp(-1.5)) + math.log1p(math.exp(1.5))) / 2
    assert pairwise_ranking_loss(pred, target).item() == pytest.approx(expected, rel=1e-6)


def test_ranking_loss_depends_only_on_the_order_of_the_targets():
    pred = torch.randn(8, generator=torch.Generator().manual_seed(0))
    target = torch.arange(8.0)
    squashed = torch.exp(target)  # same order, different values
    assert pairwise_ranking_loss(pred, target) == pytest.approx(
        pairwise_ranking_loss(pred, squashed).item()
    )
    right = pairwise_ranking_loss(10 * target, target)
    wrong = pairwise_ranking_loss(-10 * target, target)
    assert right < 1e-3 < 1.0 < wrong


def test_ranking_loss_of_equal_targets_is_zero_and_gradients_flow():
    pred = torch.tensor([0.3, -0.2, 0.1], requires_grad=True)
    assert pairwise_ranking_loss(pred, torch.ones(3)).item() == 0.0
    pairwise_ranking_loss(pred, torch.tensor([3.0, 2.0, 1.0])).backward()
    assert pred.grad[0] < 0 < pred.grad[2]  # raise the best, lower the worst


def test_ranking_loss_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"shape \(B,\) \(got \(3,\) and \(4,\)\)"):
        pairwise_ranking_loss(torch.zeros(3), torch.zeros(4))
