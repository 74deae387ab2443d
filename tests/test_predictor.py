import json

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file, save_file

from hypernas_core import Predictor, kendall_tau, method_config
from tests.conftest import ALL_CONV, MIXED, RESNET_LIKE, write_cifar_folder


def quick(method, **train):
    return Predictor(method_config(method, train={"epochs": 3, **train}))


def test_fit_predict_embed_shapes(space):
    predictor = quick("hypernas-p")
    predictor.fit(space.sample(12, seed=0))
    archs = space.sample(30, seed=1)
    scores, emb = predictor.predict(archs), predictor.embed(archs)
    assert scores.shape == (30,) and emb.shape == (30, 144)
    assert torch.isfinite(scores).all()
    assert "trained on 12 archs" in repr(predictor)


def test_same_seed_same_predictions(space):
    archs, probe = space.sample(12, seed=0), space.sample(20, seed=9)
    a = quick("np", seed=4)
    a.fit(archs)
    b = quick("np", seed=4)
    b.fit(archs)
    c = quick("np", seed=5)
    c.fit(archs)
    assert torch.equal(a.predict(probe), b.predict(probe))
    assert not torch.equal(a.predict(probe), c.predict(probe))


def test_save_load_round_trip(space, tmp_path):
    predictor = Predictor(
        method_config("hypernas", train={"epochs": 1}, hypernet={"target_width": 2})
    )
    predictor.fit([ALL_CONV, MIXED, *space.sample(4, seed=0)])
    folder = predictor.save(tmp_path / "ckpt")
    assert sorted(p.name for p in folder.iterdir()) == ["model.safetensors", "predictor.json"]
    loaded = Predictor.load(folder)
    probe = space.sample(25, seed=3)
    assert torch.allclose(loaded.predict(probe), predictor.predict(probe))
    assert loaded.train_archs == predictor.train_archs
    assert loaded.history.epochs == predictor.history.epochs
    assert loaded.config == predictor.config


def test_load_refuses_mismatched_or_foreign_checkpoints(space, tmp_path):
    predictor = quick("np", epochs=1)
    predictor.fit(space.sample(5, seed=0))
    folder = predictor.save(tmp_path / "ckpt")
    state = {"head.0.weight": torch.zeros(3, 3)}
    save_file(state, str(folder / "model.safetensors"))
    with pytest.raises(ValueError, match="does not match the model"):
        Predictor.load(folder)
    (folder / "model.safetensors").write_bytes(b"\x80\x04 not safetensors")
    with pytest.raises(ValueError, match="not a valid safetensors file"):
        Predictor.load(folder)
    (folder / "predictor.json").write_text("{")
    with pytest.raises(ValueError, match="not valid JSON"):
        Predictor.load(folder)
    (folder / "predictor.json").write_text(json.dumps({"format_version": 99}))
    with pytest.raises(ValueError, match="not a version-1 HyperNAS checkpoint"):
        Predictor.load(folder)
    with pytest.raises(FileNotFoundError, match="has no predictor.json"):
        Predictor.load(tmp_path / "missing")


def test_bad_fit_inputs(space):
    predictor = quick("np")
    with pytest.raises(ValueError, match="at least 2 scored archs"):
        predictor.fit(space.sample(1, seed=0))
    with pytest.raises(ValueError, match="one number per arch"):
        predictor.fit(space.sample(3, seed=0), scores=[1.0, 2.0])
    with pytest.raises(ValueError, match="must be finite"):
        predictor.fit(space.sample(3, seed=0), scores=[1.0, np.nan, 2.0])
    with pytest.raises(ValueError, match="unknown NB201 op"):
        predictor.fit(["|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", MIXED])
    with pytest.raises(ValueError, match="not trained yet"):
        quick("np").predict([MIXED])
    with pytest.raises(ValueError, match="unknown label 'top1'"):
        Predictor(method_config("np", target="top1"))


def test_generate_weights_needs_a_hypernetwork(space):
    predictor = quick("np", epochs=1)
    predictor.fit(space.sample(4, seed=0))
    with pytest.raises(ValueError, match="has no hypernetwork"):
        predictor.generate_weights(MIXED)


@pytest.mark.slow
def test_short_digits_run_lifts_the_target_net_above_chance(space):
    config = method_config("hypernas", train={"epochs": 50, "batch_size": 2, "lr": 3e-3, "seed": 0})
    predictor = Predictor(config)
    history = predictor.fit([RESNET_LIKE, MIXED], scores=[90.0, 80.0])
    weights = predictor.generate_weights(RESNET_LIKE)
    # 10 classes: chance is 0.1 on the 360 held-out digits
    assert weights.aux_accuracy > 0.25, weights.aux_accuracy
    assert history.epochs[-1]["loss_aux"] < history.epochs[0]["loss_aux"]
    # one generated kernel per conv node: 15 cells x 3 convs + 2 reductions x 3
    assert len(weights.nodes) == 15 * 3 + 2 * 3
    assert weights.nodes[0].weight.shape == (4, 4, 3, 3)
    assert {row["graph_kind"] for row in weights.summary()} == {"cell", "reduction"}


@pytest.mark.slow
def test_short_nb201_run_ranks_better_than_a_random_predictor(space):
    archs = space.enumerate()
    order = np.random.default_rng(0).permutation(len(archs))
    train = [archs[i] for i in order[:100]]
    test = [archs[i] for i in order[100:3100]]
    predictor = Predictor(method_config("np", train={"epochs": 40, "seed": 0}))
    predictor.fit(train)
    true = space.labels(test)
    tau = kendall_tau(true, predictor.predict(test).numpy())
    random_tau = kendall_tau(true, np.random.default_rng(1).normal(size=len(test)))
    assert abs(random_tau) < 0.05
    assert tau > random_tau + 0.3, tau


def test_hypernas_trains_on_a_local_cifar10_copy(space, tmp_path):
    write_cifar_folder(tmp_path / "cifar-10-batches-py")
    config = method_config(
        "hypernas",
        train={"epochs": 1, "batch_size": 2},
        hypernet={"aux_dataset": "cifar10", "aux_root": str(tmp_path), "target_width": 2},
    )
    predictor = Predictor(config)
    history = predictor.fit([RESNET_LIKE, MIXED])
    assert history.status == "completed"
    weights = predictor.generate_weights(MIXED)
    assert weights.aux_dataset == "cifar10" and 0.0 <= weights.aux_accuracy <= 1.0
    assert predictor.model.target_net.stem.in_channels == 3


@pytest.fixture(scope="module")
def saved_np(tmp_path_factory):
    predictor = Predictor(method_config("np", train={"epochs": 1, "device": "cpu"}))
    predictor.fit([ALL_CONV, MIXED, RESNET_LIKE])
    return predictor.save(tmp_path_factory.mktemp("ckpt") / "np")


def _copy(folder, tmp_path):
    target = tmp_path / "copy"
    target.mkdir(exist_ok=True)
    for name in ("model.safetensors", "predictor.json"):
        (target / name).write_bytes((folder / name).read_bytes())
    return target


def test_load_refuses_pickles_and_files(saved_np, tmp_path):
    pickled = tmp_path / "model.pt"
    torch.save({"w": torch.zeros(2)}, pickled)  # a pickle-based torch checkpoint
    with pytest.raises(
        ValueError, match="is a folder holding .*pickled checkpoints .* are refused"
    ):
        Predictor.load(pickled)
    folder = tmp_path / "only_pickle"
    folder.mkdir()
    (folder / "model.pt").write_bytes(pickled.read_bytes())
    with pytest.raises(FileNotFoundError, match="has no predictor.json"):
        Predictor.load(folder)
    copy = _copy(saved_np, tmp_path)
    (copy / "model.safetensors").write_bytes(pickled.read_bytes())  # a pickle under the name
    with pytest.raises(ValueError, match="not a valid safetensors file"):
        Predictor.load(copy)


def test_load_checks_declared_shapes_before_reading_tensors(saved_np, tmp_path):
    copy = _copy(saved_np, tmp_path)
    state = load_file(str(copy / "model.safetensors"))
    name = next(iter(state))
    state[name] = torch.zeros(state[name].numel() + 1)  # one value too many
    save_file(state, str(copy / "model.safetensors"))
    with pytest.raises(ValueError, match=f"weight '{name}' is declared as"):
        Predictor.load(copy)
    state[name] = torch.zeros(load_file(str(saved_np / "model.safetensors"))[name].shape).double()
    save_file(state, str(copy / "model.safetensors"))
    with pytest.raises(ValueError, match="F64, expected .* torch.float32"):
        Predictor.load(copy)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("target_mean", "90", "field 'target_mean' must be int or float \\(got str\\)"),
        ("target_std", 0.0, "target_std must be > 0"),
        ("target_std", float("inf"), "target_std must be finite"),
        ("train_archs", [1, 2], "train_archs must be a list of arch strings"),
        ("train_archs", ["|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|"], "unknown NB201 op"),
        ("aux", {"in_channels": 10**9, "num_classes": 10}, "aux in_channels must be an integer"),
        ("history", {"epochs": 3}, "the training history is malformed"),
        ("config", {"encoder": {"hidden_dim": -3}}, "hidden_dim must be > 0"),
        ("config", {"bogus": 1}, "unknown or missing fields"),
        ("target", None, "lacks the field 'target'"),
    ],
)
def test_load_checks_every_metadata_field(saved_np, tmp_path, field, value, message):
    copy = _copy(saved_np, tmp_path)
    meta = json.loads((copy / "predictor.json").read_text())
    if value is None:
        del meta[field]
    else:
        meta[field] = value
    (copy / "predictor.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=message):
        Predictor.load(copy)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_hostile_checkpoint_files_only_raise_clear_errors(saved_np, tmp_path, data):
    copy = _copy(saved_np, tmp_path)
    weights = (saved_np / "model.safetensors").read_bytes()
    meta = json.loads((saved_np / "predictor.json").read_text())
    target = data.draw(st.sampled_from(["weights", "header", "meta"]))
    if target == "weights":  # random bytes, or the real file cut or with bytes flipped
        blob = data.draw(
            st.binary(max_size=64) | st.just(weights[: data.draw(st.integers(0, 400))])
        )
        (copy / "model.safetensors").write_bytes(blob)
    elif target == "header":
        length = int.from_bytes(weights[:8], "little")
        header = json.loads(weights[8 : 8 + length])
        key = data.draw(st.sampled_from(sorted(header)))
        header[key] = data.draw(json_values)
        raw = json.dumps(header).encode()
        (copy / "model.safetensors").write_bytes(
            len(raw).to_bytes(8, "little") + raw + weights[8 + length :]
        )
    else:
        meta[data.draw(st.sampled_from(sorted(meta)))] = data.draw(json_values)
        (copy / "predictor.json").write_text(json.dumps(meta))
    try:
        Predictor.load(copy)
    except (ValueError, FileNotFoundError) as err:
        assert str(err)


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


def test_unlabelled_pool_is_sampled_without_the_training_archs():
    config = method_config(
        "hypernas", train={"seed": 0}, hypernet={"unlabelled_archs": 2, "unlabelled_pool": 50}
    )
    predictor = Predictor(config)
    drawn = predictor.space.sample(60, seed=1)  # the pool's draw: seed + 1, pool + training archs
    train = drawn[:10]
    pool = predictor._unlabelled_pool(train)
    assert len(pool) == 50
    train_cells = {tuple(row) for row in predictor.space.encode(train, "global").ops[:, 0].tolist()}
    assert not train_cells & {tuple(row) for row in pool.ops[:, 0].tolist()}
    assert Predictor(method_config("hypernas"))._unlabelled_pool(train) is None
