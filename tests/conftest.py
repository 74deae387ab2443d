"""Shared fixtures: the NB201 space, a few fixed archs, and a small torch thread count."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from hypernas_core import get_space

torch.set_num_threads(2)

# archs with known structure: all 3x3 convs, all none, a mix
ALL_CONV = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
MIXED = "|nor_conv_1x1~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|nor_conv_3x3~1|skip_connect~2|"


@pytest.fixture(scope="session")
def space():
    return get_space("nb201")


# ResNet-like: convs with skip connections; trains quickly as a target net
RESNET_LIKE = "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


def write_cifar_folder(folder, per_batch=4):
    """A tiny folder in the official CIFAR-10 python layout (to test the reader only)."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {
            b"data": rng.integers(0, 256, size=(per_batch, 3072), dtype=np.uint8),
            b"labels": list(rng.integers(0, 10, size=per_batch)),
        }
        with (folder / name).open("wb") as f:
            pickle.dump(batch, f)
