import threading

import numpy as np
import pytest

from hypernas_core import Predictor, get_space, method_config
from hypernas_core.space_scan import scan_space

SPACE = get_space("nb201")


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    p = Predictor(method_config("np", train={"epochs": 2, "seed": 0}))
    p.fit(SPACE.sample(12, seed=0))
    return p


def test_scan_matches_predict_and_embed(predictor):
    archs = SPACE.sample(50, seed=1)
    done = []
    scan = scan_space(predictor, archs, chunk_size=16, on_chunk=lambda d, t: done.append((d, t)))
    assert done == [(16, 50), (32, 50), (48, 50), (50, 50)]
    assert scan.scores.shape == (50,) and scan.embeddings.shape == (50, 144)
    assert np.allclose(scan.scores, predictor.predict(archs).numpy(), atol=1e-4)
    assert np.allclose(scan.embeddings, predictor.embed(archs).numpy(), atol=1e-5)


def test_scan_stops_when_cancelled(predictor):
    cancel = threading.Event()
    cancel.set()
    assert scan_space(predictor, SPACE.sample(5, seed=0), cancel=cancel) is None


def test_scan_rejects_untrained_predictor_and_bad_chunk(predictor):
    with pytest.raises(ValueError, match="not trained"):
        scan_space(Predictor(method_config("np")), ["x"])
    with pytest.raises(ValueError, match="chunk_size must be >= 1"):
        scan_space(predictor, SPACE.sample(2, seed=0), chunk_size=0)
