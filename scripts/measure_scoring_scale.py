"""Measures chunked scoring of many archs: throughput and peak memory as the count grows.

    PYTHONPATH=. python scripts/measure_scoring_scale.py --method np --counts 50000,200000,1000000

Archs are drawn with replacement from the space (a stand-in for a space too large to enumerate),
streamed from a generator into `score_to_csv`, so only one chunk is in memory at a time. Peak
resident memory is read after each count; it should stay flat as the count grows.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from hypernas_core import Predictor, get_space, method_config
from hypernas_core.space_scan import score_to_csv


def sampled(archs: list[str], n: int, seed: int):
    rng = np.random.default_rng(seed)
    for start in range(0, n, 65536):
        for i in rng.integers(len(archs), size=min(65536, n - start)):
            yield archs[i]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="nb201")
    parser.add_argument("--method", default="np")
    parser.add_argument("--counts", default="50000,200000")
    parser.add_argument("--chunk-size", type=int, default=4096)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    space = get_space(args.space)
    predictor = Predictor(method_config(args.method, space=args.space, train={"epochs": 1}))
    predictor.fit(space.sample(20, seed=0))
    archs = space.sample(min(space.size or 20000, 20000), seed=1)
    print("| archs | chunk | seconds | archs/s | peak RSS MB | CSV MB |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for n in (int(c) for c in args.counts.split(",")):
            out = Path(folder) / f"scores_{n}.csv"
            start = time.perf_counter()
            score_to_csv(predictor, sampled(archs, n, seed=n), out, chunk_size=args.chunk_size)
            seconds = time.perf_counter() - start
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux
            size = out.stat().st_size / 2**20
            print(
                f"| {n:,} | {args.chunk_size} | {seconds:.1f} | {n / seconds:,.0f} | {peak:.0f} | {size:.1f} |"
            )


if __name__ == "__main__":
    main()
