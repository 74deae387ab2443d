import threading

import numpy as np
import pandas as pd
import pytest

from hypernas_core import Predictor, get_space, method_config
from hypernas_core.space_scan import scan_space, score_to_csv

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


def test_score_to_csv_streams_chunks_and_matches_predict(predictor, tmp_path):
    archs = SPACE.sample(20, seed=2)
    seen = []
    out = tmp_path / "scores.csv"
    written = score_to_csv(predictor, iter(archs), out, chunk_size=7, on_chunk=seen.append)
    assert written == 20 and seen == [7, 14, 20]
    frame = pd.read_csv(out)
    assert list(frame["arch"]) == archs
    assert np.allclose(
        frame["predicted_val_acc_cifar10_valid"], predictor.predict(archs), atol=1e-4
    )
    assert not (tmp_path / "scores.csv.tmp").exists()


def test_score_to_csv_leaves_no_partial_file_on_a_bad_arch(predictor, tmp_path):
    archs = [*SPACE.sample(5, seed=3), "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|"]
    with pytest.raises(ValueError, match="unknown NB201 op 'conv'"):
        score_to_csv(predictor, archs, tmp_path / "s.csv", chunk_size=2)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="chunk_size must be >= 1 \\(got 0\\)"):
        score_to_csv(predictor, archs, tmp_path / "s.csv", chunk_size=0)
