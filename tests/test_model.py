import torch
import torch.nn.functional as F

from hypernas_core.config import method_config
from hypernas_core.model import HyperNASModel
from tests.conftest import ALL_CONV, MIXED


def test_hypernetwork_loss_alone_reaches_the_encoder(space):
    torch.manual_seed(0)
    model = HyperNASModel(method_config("hypernas", hypernet={"target_width": 2}), space)
    chain = space.encode([ALL_CONV, MIXED], "global")
    out = model(chain)
    logits = model.aux_logits(torch.randn(4, 1, 8, 8), chain, out.encoded)
    assert logits.shape == (4, 2, 10)
    F.cross_entropy(logits.reshape(8, 10), torch.arange(8) % 10).backward()
    for name, p in model.encoder.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    for name, p in model.hypernet.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert all(p.grad is None for p in model.head.parameters())  # no regression gradient


def test_methods_build_the_right_parts(space):
    assert HyperNASModel(method_config("np"), space).hypernet is None
    model = HyperNASModel(method_config("hypernas"), space)
    assert model.has_hypernet and model.task_loss.q == 1.5
    assert "NB201TargetNet" in repr(model) and "encoding='global'" in repr(model)


def test_score_shape(space):
    model = HyperNASModel(method_config("np"), space)
    assert model(space.encode([MIXED] * 3, "cell")).score.shape == (3,)
