"""2-D projections of arch embeddings: PCA (instant) and UMAP (slow, JIT-compiled on first use).

umap-learn compiles its numba kernels on the first call in a process (about 20 s); `warm_umap` runs
a tiny projection so that a later real one starts at once.

Shapes:
    A archs, D embedding width.
"""

from __future__ import annotations

import logging
import time

import numpy as np

logger = logging.getLogger(__name__)


def _check_points(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2 or x.shape[0] < 3:
        raise ValueError(
            f"embeddings must be an (A, D) array with A >= 3 (got shape {tuple(x.shape)})"
        )
    if not np.isfinite(x).all():
        raise ValueError(f"embeddings must be finite (got {int((~np.isfinite(x)).sum())} NaN/inf)")
    return x


def pca_2d(x: np.ndarray) -> np.ndarray:
    """The first two principal components of the embeddings.

    Shapes:
        x (A, D) -> (A, 2).
    """
    from sklearn.decomposition import PCA

    x = _check_points(x)
    if x.shape[1] < 2:
        raise ValueError(f"PCA to 2-D needs D >= 2 (got shape {tuple(x.shape)})")
    return PCA(n_components=2, random_state=0).fit_transform(x).astype(np.float32)


def umap_2d(
    x: np.ndarray, seed: int = 0, n_neighbors: int = 15, min_dist: float = 0.1
) -> np.ndarray:
    """UMAP of the embeddings (seeded, so reruns give the same picture).

    Shapes:
        x (A, D) -> (A, 2).
    """
    import umap

    x = _check_points(x)
    if not 2 <= n_neighbors < x.shape[0]:
        raise ValueError(f"n_neighbors must be in 2..{x.shape[0] - 1} (got {n_neighbors!r})")
    start = time.perf_counter()
    reducer = umap.UMAP(
        n_components=2, n_neighbors=n_neighbors, min_dist=min_dist, random_state=seed, n_jobs=1
    )
    out = reducer.fit_transform(x).astype(np.float32)
    logger.info("UMAP of %d points took %.1f s", x.shape[0], time.perf_counter() - start)
    return out


def warm_umap() -> float:
    """Compiles umap-learn's kernels with a tiny projection; returns the seconds it took."""
    start = time.perf_counter()
    rng = np.random.default_rng(0)
    umap_2d(rng.normal(size=(64, 8)).astype(np.float32), n_neighbors=5)
    return time.perf_counter() - start
