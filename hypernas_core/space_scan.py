"""Scores and embeddings of many archs in one pass, in chunks, with progress and cancel.

`Predictor.predict` and `Predictor.embed` each run the encoder; scanning a whole space with both
would encode it twice. `scan_space` runs the encoder once per chunk and applies the regression head
to the same global embeddings. `score_to_csv` scores any number of archs (e.g. millions sampled
from a space too large to enumerate) chunk by chunk, writing each chunk out before the next, so its
memory does not grow with the number of archs.

Shapes:
    A archs, D embedding width.
"""

from __future__ import annotations

import csv
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hypernas_core.predictor import Predictor

logger = logging.getLogger(__name__)

ChunkCallback = Callable[[int, int], None]  # (archs done, archs total)


@dataclass
class SpaceScan:
    """Attributes: scores (A,) predicted scores in label units; embeddings (A, D); seconds."""

    scores: np.ndarray
    embeddings: np.ndarray
    seconds: float


@torch.inference_mode()
def scan_space(
    predictor: Predictor,
    archs: Sequence[str],
    chunk_size: int = 1024,
    on_chunk: ChunkCallback | None = None,
    cancel: threading.Event | None = None,
) -> SpaceScan | None:
    """Predicted scores and global embeddings of `archs`.

    Args:
        predictor: a trained predictor.
        archs: archs of the predictor's space.
        chunk_size: archs per forward pass (and per progress report), >= 1.
        on_chunk: called after each chunk as on_chunk(done, total).
        cancel: when set, the scan stops after the current chunk and returns None.

    Returns:
        The scan, or None when cancelled.

    Raises:
        ValueError: for an untrained predictor, chunk_size < 1 or an invalid arch.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1 (got {chunk_size!r})")
    if predictor.model is None:
        raise ValueError("the predictor is not trained yet; call fit() or Predictor.load() first")
    model = predictor.model.eval()
    device = predictor.device
    encoding = predictor.config.encoder.encoding
    start = time.perf_counter()

    scores, embeddings = [], []
    for first in range(0, len(archs), chunk_size):
        if cancel is not None and cancel.is_set():
            return None
        chain = predictor.space.encode(list(archs[first : first + chunk_size]), encoding)
        emb = model.encoder(chain.to(device)).global_embedding  # (chunk, D)
        score = model.head(emb).squeeze(-1)  # (chunk,): the same head as Predictor.predict
        scores.append(score.float().cpu().numpy())
        embeddings.append(emb.float().cpu().numpy())
        if on_chunk is not None:
            on_chunk(min(first + chunk_size, len(archs)), len(archs))

    dim = predictor.config.encoder.hidden_dim
    raw = np.concatenate(scores) if scores else np.zeros(0, dtype=np.float32)
    seconds = time.perf_counter() - start
    logger.info("scanned %d archs in %.1f s", len(archs), seconds)
    return SpaceScan(
        scores=raw * predictor.target_std + predictor.target_mean,
        embeddings=np.concatenate(embeddings) if embeddings else np.zeros((0, dim), np.float32),
        seconds=seconds,
    )


def score_to_csv(
    predictor: Predictor,
    archs: Iterable[str],
    path: str | Path,
    chunk_size: int = 4096,
    on_chunk: Callable[[int], None] | None = None,
) -> int:
    """Scores `archs` chunk by chunk into a CSV with columns arch and predicted_<target>.

    Memory holds one chunk of archs, graphs and scores at a time, so `archs` may be a generator
    over millions of archs. The CSV is written under a temporary name and renamed at the end: a
    crash leaves no partial file at `path`.

    Args:
        predictor: a trained predictor. archs: archs of its space (any iterable).
        path: the CSV to write. chunk_size: archs per chunk (>= 1).
        on_chunk: called after each chunk with the number of archs written so far.

    Returns:
        The number of archs written.

    Raises:
        ValueError: for chunk_size < 1, an untrained predictor or an invalid arch.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1 (got {chunk_size!r})")
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    written = 0
    iterator = iter(archs)
    try:
        with tmp.open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["arch", f"predicted_{predictor.target}"])
            while chunk := list(itertools.islice(iterator, chunk_size)):
                scores = predictor.predict(chunk, batch_size=chunk_size).tolist()
                writer.writerows(zip(chunk, scores, strict=True))
                written += len(chunk)
                if on_chunk is not None:
                    on_chunk(written)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    logger.info("wrote %d scores to %s", written, path)
    return written
