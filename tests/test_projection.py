import numpy as np
import pytest

from hypernas_core.projection import pca_2d, umap_2d


def test_pca_recovers_the_plane_of_planar_data():
    rng = np.random.default_rng(0)
    plane = rng.normal(size=(200, 2)) * np.array([5.0, 2.0])
    x = (
        np.concatenate([plane, np.zeros((200, 6))], axis=1)
        @ np.linalg.qr(rng.normal(size=(8, 8)))[0]
    )
    xy = pca_2d(x)
    assert xy.shape == (200, 2) and xy.dtype == np.float32
    # a rotation of the centred plane: pairwise distances are kept
    d_in = np.linalg.norm(plane[:, None] - plane[None], axis=-1)
    d_out = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    assert np.allclose(d_in, d_out, atol=1e-3)


def test_projection_rejects_bad_input():
    with pytest.raises(ValueError, match=r"\(A, D\) array with A >= 3"):
        pca_2d(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="finite"):
        pca_2d(np.full((5, 4), np.nan))
    with pytest.raises(ValueError, match="n_neighbors"):
        umap_2d(np.zeros((5, 4)), n_neighbors=10)


@pytest.mark.slow
def test_umap_separates_two_clusters_and_is_seeded():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, (60, 5)), rng.normal(20, 1, (60, 5))]).astype(np.float32)
    xy = umap_2d(x, seed=3, n_neighbors=10)
    assert xy.shape == (120, 2) and np.isfinite(xy).all()
    centre_a, centre_b = xy[:60].mean(0), xy[60:].mean(0)
    spread = max(xy[:60].std(0).max(), xy[60:].std(0).max())
    assert np.linalg.norm(centre_a - centre_b) > 3 * spread
    assert np.allclose(xy, umap_2d(x, seed=3, n_neighbors=10))
