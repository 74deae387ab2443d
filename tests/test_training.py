import threading

import pytest
import torch

from hypernas_core.aux_data import load_aux_dataset
from hypernas_core.config import TrainConfig, method_config
from hypernas_core.losses import pairwise_ranking_loss
from hypernas_core.model import HyperNASModel
from hypernas_core.training import History, detected_devices, resolve_device, train_model


def tiny_problem(space, n=12, seed=0):
    archs = space.sample(n, seed=seed)
    y = torch.as_tensor(space.labels(archs), dtype=torch.float32)
    return space.encode(archs, "cell"), (y - y.mean()) / y.std()


def test_regression_loss_goes_down_on_a_tiny_overfit(space):
    chain, y = tiny_problem(space)
    torch.manual_seed(0)
    model = HyperNASModel(method_config("np"), space)
    history = train_model(model, chain, y, TrainConfig(epochs=60, batch_size=4, lr=3e-3))
    first, last = history.epochs[0]["loss_regression"], history.epochs[-1]["loss_regression"]
    assert last < 0.3 * first
    assert history.status == "completed" and len(history.epochs) == 60
    assert len(history.steps["loss_regression"]) == 60 * 3


def test_rank_weight_adds_the_ranking_loss_to_the_regression_task(space):
    chain, y = tiny_problem(space)
    losses = {}
    no_dropout = method_config("np", encoder={"dropout": 0.0})
    for weight in (0.0, 1.0):
        torch.manual_seed(0)
        model = HyperNASModel(no_dropout, space)
        config = TrainConfig(epochs=1, batch_size=12, lr=1e-12, rank_weight=weight)
        losses[weight] = train_model(model, chain, y, config).steps["loss_regression"][0]
    # one full batch, same init: the difference is the ranking loss of the initial predictions
    torch.manual_seed(0)
    model = HyperNASModel(no_dropout, space)
    rank = pairwise_ranking_loss(model(chain).score, y).item()
    assert losses[1.0] - losses[0.0] == pytest.approx(rank, rel=1e-4)


def test_unlabelled_archs_join_the_aux_task_only(space):
    chain, y = tiny_problem(space)
    pool = space.encode(space.sample(30, seed=5), "global")
    config = method_config("hypernas", hypernet={"unlabelled_archs": 4, "aux_batch_size": 4})
    model = HyperNASModel(config, space)
    aux = load_aux_dataset("digits")
    global_chain = space.encode(space.sample(12, seed=0), "global")
    with pytest.raises(ValueError, match="needs a non-empty pool of unlabelled archs"):
        train_model(model, global_chain, y, TrainConfig(epochs=1), aux)
    seen = []
    original = model.target_net.forward

    def counting(images, batch, kernels):
        seen.append(len(batch))
        return original(images, batch, kernels)

    model.target_net.forward = counting
    history = train_model(
        model, global_chain, y, TrainConfig(epochs=1, batch_size=6), aux, unlabelled=pool
    )
    assert history.status == "completed"
    assert seen == [6, 4, 6, 4]  # per step: the batch's archs, then 4 unlabelled ones
    assert chain.ops.shape[1] == 1  # the labelled chain of tiny_problem is untouched


def test_on_step_reports_every_epoch_and_cancel_stops(space):
    chain, y = tiny_problem(space)
    model = HyperNASModel(method_config("np"), space)
    cancel = threading.Event()
    seen = []

    def on_step(epoch, total, metrics):
        seen.append((epoch, total, metrics["loss_regression"]))
        if epoch == 3:
            cancel.set()

    history = train_model(model, chain, y, TrainConfig(epochs=50), on_step=on_step, cancel=cancel)
    assert history.status == "cancelled"
    assert [s[0] for s in seen] == [1, 2, 3] and seen[0][1] == 50
    assert len(history.epochs) == 3


def test_hypernas_history_records_weights_every_step(space):
    archs = space.sample(4, seed=0)
    chain = space.encode(archs, "global")
    y = torch.randn(4)
    config = method_config("hypernas", hypernet={"target_width": 2, "aux_batch_size": 4})
    model = HyperNASModel(config, space)
    from hypernas_core.aux_data import load_aux_dataset

    history = train_model(
        model, chain, y, TrainConfig(epochs=2, batch_size=2), load_aux_dataset("digits")
    )
    for name in ("loss_aux", "u_regression", "u_aux", "weight_regression", "weight_aux", "aux_acc"):
        assert len(history.steps[name]) == 4, name
    # each step records the u_t its loss used: the initial 1 first, then the moved values
    assert history.steps["u_aux"][0] == 1.0 and history.steps["u_aux"][-1] != 1.0
    assert History.from_dict(history.to_dict()) == history


def test_bad_inputs(space):
    chain, y = tiny_problem(space)
    model = HyperNASModel(method_config("np"), space)
    with pytest.raises(ValueError, match="targets must have shape \\(12,\\)"):
        train_model(model, chain, y[:5], TrainConfig(epochs=1))
    hyper = HyperNASModel(method_config("hypernas"), space)
    with pytest.raises(ValueError, match="needs aux images"):
        train_model(
            hyper, space.encode(space.sample(3, 0), "global"), torch.zeros(3), TrainConfig(epochs=1)
        )


def test_devices():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in {"cpu", "cuda", "mps"}
    assert detected_devices()["cpu"] is True
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            resolve_device("cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_training_runs(space):
    chain, y = tiny_problem(space)
    model = HyperNASModel(method_config("np"), space)
    history = train_model(model, chain, y, TrainConfig(epochs=2, device="cuda"))
    assert history.device.startswith("cuda")


def test_divergence_stops_keeps_the_records_and_the_last_finite_weights(space):
    chain, y = tiny_problem(space)
    model = HyperNASModel(method_config("np"), space)
    seen = {}

    def blow_up_after_epoch_2(epoch, total, metrics):
        seen[epoch] = {k: v.clone() for k, v in model.state_dict().items()}
        if epoch == 2:  # a weight overflows, as a too-large step would make it
            with torch.no_grad():
                next(model.parameters()).fill_(float("inf"))

    history = train_model(model, chain, y, TrainConfig(epochs=10), on_step=blow_up_after_epoch_2)
    assert history.status == "diverged" and len(history.epochs) == 3
    assert "loss_regression became NaN/inf at step 1 of epoch 3" in history.message
    assert "kept the 2 finite epoch(s)" in history.message
    assert not torch.isfinite(torch.tensor(history.epochs[-1]["loss_regression"]))
    for name, value in model.state_dict().items():  # back to the end of epoch 2
        assert torch.equal(value, seen[2][name]), name


def test_divergence_in_the_first_epoch_restores_the_initial_weights(space):
    chain, y = tiny_problem(space)
    model = HyperNASModel(method_config("np"), space)
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    history = train_model(model, chain, y, TrainConfig(epochs=5, lr=1e30))
    assert history.status == "diverged" and "the initial weights" in history.message
    assert all(torch.equal(v, initial[k]) for k, v in model.state_dict().items())
