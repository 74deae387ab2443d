"""Labels from real training: the trainable arch network, training, the store and the command."""

import threading

import pytest
import torch

from hypernas_core import get_space
from hypernas_core.aux_data import load_aux_dataset
from hypernas_core.cli import main
from hypernas_core.label_training import (
    ArchNetwork,
    LabelStore,
    LabelTrainingConfig,
    label_archs,
    train_arch,
)
from tests.conftest import ALL_NONE, RESNET_LIKE

FAST = {"epochs": 1, "width": 2, "batch_size": 256, "device": "cpu"}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"epochs": 0}, "epochs must be >= 1"),
        ({"lr": 0.0}, "lr must be > 0"),
        ({"momentum": 1.0}, "momentum must be in \\[0, 1\\)"),
        ({"aux_dataset": "mnist"}, "aux_dataset must be one of digits, cifar10"),
        ({"device": "tpu"}, "device must be one of"),
    ],
)
def test_config_rejects_bad_values(fields, message):
    with pytest.raises(ValueError, match=message):
        LabelTrainingConfig(**fields)


def test_arch_network_learns_only_the_kernels_its_ops_use(space):
    torch.manual_seed(0)
    net = ArchNetwork(space, RESNET_LIKE, 2, 1, 10)
    logits = net(torch.randn(4, 1, 8, 8))
    assert logits.shape == (4, 10)
    logits.sum().backward()
    grad3 = net.kernels["3"].grad[0]  # (C, N, P_3)
    used = net.chain.kernel[0] == 3  # (C, N)
    assert grad3[~used].abs().sum() == 0 and grad3[used].abs().sum(dim=-1).gt(0).all()


def test_training_beats_chance_and_a_cell_of_none_does_not():
    space = get_space("nb201")
    aux = load_aux_dataset("digits")
    config = LabelTrainingConfig(epochs=3, width=4, batch_size=128, device="cpu")
    good = train_arch(space, RESNET_LIKE, config, aux)
    assert good.aux_test_acc > 30 and good.seconds > 0 and good.device == "cpu"
    empty = train_arch(space, ALL_NONE, config, aux)  # no path from input to output
    assert empty.aux_test_acc < 20


def test_store_reuses_results_and_keys_them_by_settings(tmp_path):
    space = get_space("nasbench_macro")
    store = LabelStore(tmp_path / "store")
    config = LabelTrainingConfig(**FAST)
    archs = ["12012012", "22222222"]
    steps = []
    first = label_archs(space, archs, config, store, on_step=lambda d, t, r: steps.append((d, t)))
    assert steps == [(1, 2), (2, 2)] and not first["cached"].any()
    again = label_archs(space, [*archs, " 12012012"], config, store)
    assert again["cached"].all() and len(again) == 2
    assert again["aux_test_acc"].tolist() == first["aux_test_acc"].tolist()
    assert len(store.records()) == 2
    other = LabelTrainingConfig(**{**FAST, "seed": 1})
    assert not label_archs(space, archs[:1], other, store)["cached"].any()
    assert len(store.table(space.name, config)) == 2 and len(store.table(space.name)) == 2
    (store.path).open("a").write("{not json\n")
    assert len(store.records()) == 3  # the broken line is skipped


def test_cancel_stops_before_training(tmp_path):
    cancel = threading.Event()
    cancel.set()
    store = LabelStore(tmp_path)
    out = label_archs(
        get_space("nasbench_macro"), ["00000001"], LabelTrainingConfig(**FAST), store, cancel=cancel
    )
    assert out.empty and store.records() == []


def test_label_command_trains_then_reuses_and_exports(tmp_path, capsys):
    store, export = tmp_path / "store", tmp_path / "labels.csv"
    argv = ["label", "--space", "nasbench_macro", "--n", "2", "--store", str(store)]
    fast = ["--epochs", "1", "--width", "2", "--batch-size", "256", "--device", "cpu"]
    assert main([*argv, *fast, "--export", str(export)]) == 0
    assert "labelled 2 archs (2 trained, 0 from the store)" in capsys.readouterr().out
    assert main([*argv, *fast]) == 0
    assert "(0 trained, 2 from the store)" in capsys.readouterr().out
    assert export.read_text().startswith("arch,aux_test_acc\n")
    assert main(["label", "--space", "nb201", "--store", str(store)]) == 2
    assert "give either --n" in capsys.readouterr().err
