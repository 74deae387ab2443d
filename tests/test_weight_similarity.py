import math

import numpy as np
import pandas as pd
import pytest
import torch

from hypernas_core import GeneratedWeights, NodeWeights
from hypernas_core.weight_similarity import kernel_image, weight_similarity


def _weights(nodes: list[tuple[int, int, str, torch.Tensor]]) -> GeneratedWeights:
    return GeneratedWeights(
        "arch", [NodeWeights(g, "cell", n, op, w) for g, n, op, w in nodes], 0.5, "digits"
    )


def test_kernel_image_puts_each_channel_pair_in_its_block():
    w = torch.arange(2 * 3 * 2 * 2, dtype=torch.float32).view(2, 3, 2, 2)
    image = kernel_image(w)
    assert image.shape == (4, 6)
    # block (o=1, i=2) is rows 2..3, columns 4..5
    assert np.array_equal(image[2:4, 4:6], w[1, 2].numpy())


def test_kernel_image_rejects_non_kernels():
    with pytest.raises(ValueError, match=r"\(out, in, k, k\)"):
        kernel_image(torch.zeros(3, 3))


def test_weight_similarity_hand_computed():
    ones = torch.ones(1, 1, 1, 2)
    a = _weights([(0, 1, "nor_conv_1x1", ones), (0, 2, "nor_conv_3x3", torch.ones(1, 1, 3, 3))])
    b = _weights(
        [
            (0, 1, "nor_conv_1x1", torch.tensor([[[[1.0, 0.0]]]])),  # 45 degrees from ones
            (0, 3, "nor_conv_1x1", ones),  # only in b
        ]
    )
    table = weight_similarity(a, b).set_index("node")
    assert table.loc[1, "shared"] and table.loc[1, "cosine"] == pytest.approx(1 / math.sqrt(2))
    assert not table.loc[2, "shared"] and math.isnan(table.loc[2, "cosine"])
    assert pd.isna(table.loc[3, "op_a"]) and table.loc[3, "op_b"] == "nor_conv_1x1"


def test_weight_similarity_of_different_ops_is_not_shared():
    a = _weights([(0, 1, "nor_conv_3x3", torch.ones(1, 1, 3, 3))])
    b = _weights([(0, 1, "nor_conv_1x1", torch.ones(1, 1, 1, 1))])
    assert not weight_similarity(a, b)["shared"].any()
