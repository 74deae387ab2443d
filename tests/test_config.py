import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hypernas_core.config import (
    EncoderConfig,
    HyperNetConfig,
    PredictorConfig,
    TrainConfig,
    method_config,
)


def test_methods_set_encoding_and_hypernetwork():
    assert method_config("np").encoder.encoding == "cell"
    assert not method_config("np").hypernet.enabled
    assert method_config("hypernas-p").encoder.encoding == "global"
    assert not method_config("hypernas-p").hypernet.enabled
    assert method_config("hypernas").hypernet.enabled


def test_defaults_follow_the_neural_predictor_protocol():
    train, enc = TrainConfig(), EncoderConfig()
    assert (train.epochs, train.batch_size, train.q) == (300, 10, 1.5)
    assert (enc.hidden_dim, enc.num_layers, enc.dropout, enc.head_dim) == (144, 3, 0.1, 128)


def test_overrides_by_dict_and_round_trip():
    config = method_config("hypernas", target="val_acc_cifar100", train={"q": 2.0, "epochs": 7})
    assert config.train.q == 2.0 and config.train.epochs == 7 and config.train.batch_size == 10
    assert PredictorConfig.from_dict(config.to_dict()) == config


def test_configs_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        TrainConfig().lr = 1.0


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: TrainConfig(q=1.0), "q must be > 1"),
        (lambda: TrainConfig(epochs=0), "epochs must be > 0 \\(got 0\\)"),
        (lambda: TrainConfig(rank_weight=-1.0), "rank_weight must be a finite number >= 0"),
        (lambda: TrainConfig(rank_weight=float("inf")), "rank_weight must be .* \\(got inf\\)"),
        (
            lambda: TrainConfig(device="tpu"),
            "device must be one of auto, cpu, cuda, mps \\(got 'tpu'\\)",
        ),
        (lambda: EncoderConfig(encoding="flat"), "encoding must be one of cell, global, global-pe"),
        (lambda: EncoderConfig(dropout=1.0), "dropout must be in \\[0, 1\\)"),
        (lambda: HyperNetConfig(aux_dataset="mnist"), "aux_dataset must be one of digits, cifar10"),
        (lambda: HyperNetConfig(unlabelled_archs=-1), "unlabelled_archs must be >= 0 \\(got -1\\)"),
        (lambda: HyperNetConfig(unlabelled_pool=0), "unlabelled_pool must be > 0 \\(got 0\\)"),
        (lambda: method_config("nas"), "method must be one of np, hypernas-p, hypernas"),
        (
            lambda: method_config("hypernas", encoder={"encoding": "cell"}),
            "hypernetwork needs one embedding per cell",
        ),
    ],
)
def test_invalid_values_are_named(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_from_dict_rejects_unknown_fields():
    data = method_config("np").to_dict()
    data["train"]["learning_rate"] = 1
    with pytest.raises(ValueError, match="unknown or missing fields"):
        PredictorConfig.from_dict(data)


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=10,
)
field_names = st.sampled_from(
    ["space", "target", "method", "encoder", "hypernet", "train", "epochs", "lr", "q", "x"]
)


@settings(max_examples=300, deadline=None)
@given(data=st.dictionaries(field_names, json_values | st.dictionaries(field_names, json_values)))
def test_from_dict_raises_only_clear_value_errors_on_hostile_dicts(data):
    try:
        config = PredictorConfig.from_dict(data)
    except ValueError as err:
        assert str(err)
        return
    assert PredictorConfig.from_dict(config.to_dict()) == config


def test_from_dict_names_the_field_and_the_value():
    with pytest.raises(ValueError, match="config field train.epochs must be int \\(got True\\)"):
        PredictorConfig.from_dict({"train": {"epochs": True}})
    with pytest.raises(ValueError, match="encoder has \\['width'\\]; valid: \\['dropout'"):
        PredictorConfig.from_dict({"encoder": {"width": 3}})
    with pytest.raises(ValueError, match="config must be a dict \\(got list\\)"):
        PredictorConfig.from_dict([])


def test_every_config_field_has_a_checked_json_type():
    from hypernas_core.config import _FIELD_TYPES

    for cls in (EncoderConfig, HyperNetConfig, TrainConfig, PredictorConfig):
        for f in dataclasses.fields(cls):
            if f.name not in ("encoder", "hypernet", "train"):
                assert str(f.type) in _FIELD_TYPES, f"add {f.type!r} ({cls.__name__}.{f.name})"
