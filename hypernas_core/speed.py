"""Speed and memory benchmark: train time per method, whole-space scoring rate, UMAP time, peak RSS.

All figures of one report come from one process, so ratios between them (hypernas / np train
time) are comparable even on a noisy shared machine; absolute seconds are context only.

What is timed:
    - training: `Predictor.fit` on `budget` archs for `epochs` epochs, per method, same split,
      after an untimed one-epoch warm-up fit;
    - scoring: `Predictor.predict` on every arch of the space (encoding included), after one
      warm-up call, and the model alone on the already encoded space;
    - UMAP: `umap_2d` on the global embeddings of every arch, after `warm_umap` compiled it;
    - peak memory: the process's peak resident set size, and the CUDA allocator's peak on a GPU.
"""

from __future__ import annotations

import logging
import resource
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from hypernas_core.benchmark import split_archs
from hypernas_core.config import METHODS, method_config
from hypernas_core.predictor import Predictor
from hypernas_core.projection import umap_2d, warm_umap
from hypernas_core.search_space import get_space
from hypernas_core.training import resolve_device

logger = logging.getLogger(__name__)

RATIO_GOAL = 3.0  # hypernas train time over np train time, at equal epochs
SCORING_GOAL_SECONDS = 1.0  # whole space on a CPU


@dataclass
class SpeedReport:
    """Figures of one speed benchmark run.

    Attributes:
        setup: space, budget, epochs, seed, device, torch threads, torch version.
        methods: one dict per method: method, train_seconds, seconds_per_epoch, steps,
            ms_per_step, score_seconds (whole space, encoding included), model_seconds (the
            model alone on the encoded space), archs_per_second.
        umap: warm_up_seconds, seconds and points, or empty when skipped.
        peak_rss_mib: peak resident memory of this process.
        peak_cuda_mib: peak CUDA allocation, or None off a GPU.
    """

    setup: dict[str, Any]
    methods: list[dict[str, Any]] = field(default_factory=list)
    umap: dict[str, Any] = field(default_factory=dict)
    peak_rss_mib: float = 0.0
    peak_cuda_mib: float | None = None

    def ratio(self, slow: str = "hypernas", fast: str = "np") -> float | None:
        """Train time of `slow` over `fast`, or None when either was not measured."""
        times = {m["method"]: m["train_seconds"] for m in self.methods}
        if slow not in times or fast not in times or times[fast] <= 0:
            return None
        return times[slow] / times[fast]

    def as_dict(self) -> dict[str, Any]:
        return {
            "setup": self.setup,
            "methods": self.methods,
            "ratio_hypernas_over_np": self.ratio(),
            "umap": self.umap,
            "peak_rss_mib": self.peak_rss_mib,
            "peak_cuda_mib": self.peak_cuda_mib,
        }

    def markdown(self) -> str:
        """The report as markdown: a setup line, a per-method table, then ratio, UMAP, memory."""
        s = self.setup
        lines = [
            f"Space {s['space']}, {s['budget']} training archs, {s['epochs']} epochs, seed "
            f"{s['seed']}, device {s['device']}, {s['threads']} torch thread(s), "
            f"torch {s['torch']}.",
            "",
            "| method | train s | s / epoch | ms / step | score whole space s | model only s "
            "| archs / s |",
            "|---|---|---|---|---|---|---|",
        ]
        for m in self.methods:
            lines.append(
                f"| {m['method']} | {m['train_seconds']:.1f} | {m['seconds_per_epoch']:.2f} "
                f"| {m['ms_per_step']:.1f} | {m['score_seconds']:.2f} | {m['model_seconds']:.2f} "
                f"| {m['archs_per_second']:,.0f} |"
            )
        lines.append("")
        ratio = self.ratio()
        if ratio is not None:
            verdict = "meets" if ratio <= RATIO_GOAL else "misses"
            lines.append(
                f"hypernas / np train time: {ratio:.1f}x ({verdict} the goal of <= {RATIO_GOAL:g}x)."
            )
        for m in self.methods:
            verdict = "meets" if m["score_seconds"] < SCORING_GOAL_SECONDS else "misses"
            lines.append(
                f"{m['method']}: all {s['space_size']:,} archs scored in {m['score_seconds']:.2f} s "
                f"({verdict} the CPU goal of < {SCORING_GOAL_SECONDS:g} s)."
            )
        if self.umap:
            lines.append(
                f"UMAP of {self.umap['points']:,} embeddings: {self.umap['seconds']:.1f} s after a "
                f"{self.umap['warm_up_seconds']:.1f} s warm-up."
            )
        lines.append(f"Peak resident memory: {self.peak_rss_mib:,.0f} MiB.")
        if self.peak_cuda_mib is not None:
            lines.append(f"Peak CUDA allocation: {self.peak_cuda_mib:,.0f} MiB.")
        return "\n".join(lines) + "\n"


def peak_rss_mib() -> float:
    """Peak resident set size of this process in MiB (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure_speed(
    space: str = "nb201",
    methods: Sequence[str] = ("np", "hypernas-p", "hypernas"),
    budget: int = 78,
    epochs: int = 5,
    seed: int = 0,
    device: str = "auto",
    with_umap: bool = True,
    on_progress: Callable[[str], None] | None = None,
) -> SpeedReport:
    """Times training, whole-space scoring and UMAP for `methods` on one split.

    Args:
        budget: training archs (the split of `split_archs(space, budget, seed)`).
        epochs: epochs per method (equal for all, so train times compare).
        with_umap: also time UMAP on the embeddings of the whole space (about a minute on CPU).
        on_progress: called with a short message before each stage.

    Raises:
        ValueError: for an unknown method, a non-positive epoch count, or an unavailable device.
    """
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise ValueError(f"methods must be a non-empty subset of {METHODS} (got {list(methods)})")
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1 (got {epochs})")
    torch_device = resolve_device(device)
    if torch_device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(torch_device)
    search_space = get_space(space)
    all_archs = search_space.enumerate()
    train_archs, _ = split_archs(space, budget, seed)
    progress = on_progress or (lambda message: logger.info("%s", message))
    report = SpeedReport(
        setup={
            "space": space,
            "space_size": len(all_archs),
            "budget": budget,
            "epochs": epochs,
            "seed": seed,
            "device": str(torch_device),
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
        }
    )
    embedder: Predictor | None = None
    for method in methods:
        train = {"seed": seed, "device": device}
        config = method_config(method, space=space, train={**train, "epochs": epochs})
        # warm-up, untimed: loads tables and aux data, fills caches, lets torch pick kernels
        warm_up = method_config(method, space=space, train={**train, "epochs": 1})
        Predictor(warm_up).fit(train_archs)
        predictor = Predictor(config)
        progress(f"training {method} for {epochs} epochs on {budget} archs")
        start = time.perf_counter()
        predictor.fit(train_archs)
        _sync(torch_device)
        train_seconds = time.perf_counter() - start
        steps = epochs * -(-budget // config.train.batch_size)

        progress(f"scoring all {len(all_archs):,} archs with {method}")
        predictor.predict(all_archs[:256])  # warm-up: allocator, kernels, caches
        start = time.perf_counter()
        predictor.predict(all_archs)
        _sync(torch_device)
        score_seconds = time.perf_counter() - start
        model_seconds = _time_model_only(predictor, all_archs, torch_device)
        report.methods.append(
            {
                "method": method,
                "train_seconds": round(train_seconds, 3),
                "seconds_per_epoch": round(train_seconds / epochs, 4),
                "steps": steps,
                "ms_per_step": round(1000 * train_seconds / steps, 2),
                "score_seconds": round(score_seconds, 3),
                "model_seconds": round(model_seconds, 3),
                "archs_per_second": round(len(all_archs) / score_seconds, 1),
            }
        )
        logger.info("speed %s: %s", method, report.methods[-1])
        embedder = predictor

    if with_umap and embedder is not None:
        progress("warming UMAP up")
        warm = warm_umap()
        embeddings = embedder.embed(all_archs).numpy()
        progress(f"UMAP of {len(all_archs):,} embeddings")
        start = time.perf_counter()
        umap_2d(embeddings, seed=seed)
        report.umap = {
            "warm_up_seconds": round(warm, 2),
            "seconds": round(time.perf_counter() - start, 2),
            "points": len(all_archs),
            "embeddings_of": embedder.config.method,
        }

    report.peak_rss_mib = round(peak_rss_mib(), 1)
    if torch_device.type == "cuda":
        report.peak_cuda_mib = round(torch.cuda.max_memory_allocated(torch_device) / 2**20, 1)
    return report


@torch.inference_mode()
def _time_model_only(predictor: Predictor, archs: Sequence[str], device: torch.device) -> float:
    """Seconds for the model's forward pass over already encoded, on-device `archs`."""
    model = predictor.model.eval()
    chain = predictor.space.encode(list(archs), predictor.config.encoder.encoding).to(device)
    start = time.perf_counter()
    for i in range(0, len(chain), 4096):
        model(chain.index(slice(i, i + 4096)))
    _sync(device)
    return time.perf_counter() - start
