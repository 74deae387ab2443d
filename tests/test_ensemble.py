import threading

import pytest
import torch

from hypernas_core.benchmark import run_ranking, split_archs
from hypernas_core.config import method_config
from hypernas_core.ensemble import MEMBER_SEED_STRIDE, PredictorEnsemble, member_config


def _config(epochs=3, seed=0):
    return method_config("np", train={"epochs": epochs, "seed": seed, "device": "cpu"})


def test_members_differ_only_in_their_seed():
    config = _config(seed=7)
    second = member_config(config, 2)
    assert second.train.seed == 7 + 2 * MEMBER_SEED_STRIDE
    assert second.train.epochs == config.train.epochs and second.encoder == config.encoder
    ensemble = PredictorEnsemble(config, 3)
    assert [m.config.train.seed for m in ensemble.members] == [7, 10_007, 20_007]


def test_ensemble_predicts_the_mean_of_its_members_and_their_spread(space):
    archs = space.sample(30, seed=0)
    steps = []
    ensemble = PredictorEnsemble(_config(), 3)
    histories = ensemble.fit(archs[:20], on_step=lambda done, total, m: steps.append((done, total)))
    assert len(histories) == 3 and all(h.status == "completed" for h in histories)
    assert steps == [(i, 9) for i in range(1, 10)]  # epochs counted over all members
    members = ensemble.member_predictions(archs[20:])
    assert members.shape == (3, 10) and not torch.equal(members[0], members[1])
    assert torch.allclose(ensemble.predict(archs[20:]), members.mean(dim=0))
    assert torch.allclose(ensemble.predict_std(archs[20:]), members.std(dim=0))
    single = PredictorEnsemble(_config(), 1)
    single.fit(archs[:20])
    assert torch.equal(single.predict_std(archs[20:]), torch.zeros(10))


def test_cancel_stops_the_ensemble_and_predict_uses_the_members_trained(space):
    archs = space.sample(20, seed=1)
    cancel = threading.Event()
    ensemble = PredictorEnsemble(_config(epochs=50), 3)

    def stop_in_member_two(done, total, metrics):
        if metrics["member"] == 1.0:
            cancel.set()

    histories = ensemble.fit(archs, on_step=stop_in_member_two, cancel=cancel)
    assert [h.status for h in histories] == ["completed", "cancelled"]
    assert ensemble.members[2].model is None
    assert ensemble.member_predictions(archs).shape == (2, 20)
    assert "2/3 members trained" in repr(ensemble)


def test_bad_sizes_and_untrained_use_are_refused():
    for size in (0, 65, 2.0, True):
        with pytest.raises(
            ValueError, match=rf"ensemble size must be an integer in 1..64 \(got {size!r}\)"
        ):
            PredictorEnsemble(_config(), size)
    with pytest.raises(ValueError, match="not trained yet"):
        PredictorEnsemble(_config(), 2).predict(["x"])


def test_run_ranking_scores_the_ensemble_on_the_seeded_split():
    run = run_ranking(_config(epochs=2, seed=3), 12, ensemble=2)
    assert run.result["ensemble"] == 2 and run.result["status"] == "completed"
    train, test = split_archs("nb201", 12, 3)
    assert run.predictor.members[0].train_archs == train and run.test_archs == test
    assert run.predicted == pytest.approx(run.predictor.predict(test).numpy())
