"""Ranking benchmarks: train on `budget` archs drawn with a seed, evaluate on every other arch.

The split depends on the space, budget and seed only, so every method of a sweep trains and is
tested on identical archs. A sweep appends one row per run to a CSV and can be resumed: runs whose
(method, budget, seed, config) already have a row are skipped.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import logging
import multiprocessing
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from hypernas_core.config import PredictorConfig, method_config
from hypernas_core.ensemble import PredictorEnsemble, check_ensemble_size
from hypernas_core.metrics import ranking_report
from hypernas_core.predictor import Predictor
from hypernas_core.run_store import RunStore
from hypernas_core.search_space import get_space
from hypernas_core.training import StepCallback, resolve_device

logger = logging.getLogger(__name__)

BACKENDS = ("local", "ray")
MAX_RANGE = 100_000  # values one "lo-hi" range of parse_int_list may expand to
KEY_COLUMNS = (
    "space",
    "method",
    "budget",
    "seed",
    "target",
    "epochs",
    "q",
    "encoding",
    "rank_weight",
    "ensemble",
    "unlabelled_archs",
)
# key columns that results CSVs of older versions lack, with the value their runs had
KEY_DEFAULTS = {"rank_weight": 0.0, "ensemble": 1, "unlabelled_archs": 0}
NUMERIC_KEYS = ("q", "rank_weight", "ensemble", "unlabelled_archs")  # compared with a tolerance


def split_archs(space_name: str, budget: int, seed: int) -> tuple[list[str], list[str]]:
    """The training archs (`budget` of them) and the test archs (all others) of a seeded split.

    Raises:
        ValueError: when the space is not enumerable or the budget leaves no test arch.
    """
    space = get_space(space_name)
    archs = space.labelled_archs()
    if not 2 <= budget < len(archs):
        raise ValueError(f"budget must be in 2..{len(archs) - 1} for {space.name} (got {budget})")
    order = np.random.default_rng(seed).permutation(len(archs))
    return [archs[i] for i in order[:budget]], [archs[i] for i in order[budget:]]


@dataclass
class RankingRun:
    """One trained predictor and its evaluation on the test archs of its split."""

    result: dict[str, Any]
    predictor: Predictor | PredictorEnsemble
    test_archs: list[str]
    true: np.ndarray
    predicted: np.ndarray


def run_ranking(
    config: PredictorConfig,
    budget: int,
    on_step: StepCallback | None = None,
    cancel: threading.Event | None = None,
    ensemble: int = 1,
) -> RankingRun:
    """Trains `config` on the split of (space, budget, config.train.seed) and scores the rest.

    Args:
        ensemble: members of a `PredictorEnsemble` (1: a single `Predictor`); every member trains
            on the same split, and the ensemble's mean prediction is scored.
        on_step: progress callback, once per epoch (see `Predictor.fit`).
        cancel: set it to stop training early; the run is then scored as trained so far and its
            result's status says "cancelled".

    Returns:
        The run; `result` holds space, method, budget, seed, target, n_train, n_test, Kendall tau,
        Spearman, precision@top-5%, the best true rank among the predicted top 10, train seconds
        and the device.
    """
    seed = config.train.seed
    train_archs, test_archs = split_archs(config.space, budget, seed)
    predictor = Predictor(config) if ensemble == 1 else PredictorEnsemble(config, ensemble)
    start = time.perf_counter()
    predictor.fit(train_archs, on_step=on_step, cancel=cancel)
    history = predictor.history
    train_seconds = time.perf_counter() - start

    predicted = predictor.predict(test_archs).numpy()
    true = predictor.space.labels(test_archs, predictor.target)
    result = {
        "space": config.space,
        "method": config.method,
        "budget": budget,
        "seed": seed,
        "target": predictor.target,
        "epochs": config.train.epochs,
        "q": config.train.q,
        "encoding": config.encoder.encoding,
        "rank_weight": config.train.rank_weight,
        "ensemble": ensemble,
        "unlabelled_archs": config.hypernet.unlabelled_archs,
        "n_train": len(train_archs),
        "n_test": len(test_archs),
        **ranking_report(true, predicted),
        "train_seconds": round(train_seconds, 2),
        "device": str(resolve_device(config.train.device)),
        "status": history.status,
    }
    # every result has the same columns, so rows of different methods can share one CSV; None
    # (JSON null, an empty CSV field) where a method has no aux task
    last = history.epochs[-1] if history.epochs else {}
    result["aux_train_acc_last_epoch"] = round(last["aux_acc"], 4) if "aux_acc" in last else None
    return RankingRun(result, predictor, test_archs, true, predicted)


def parse_int_list(text: str) -> list[int]:
    """Parses "0-4" or "39,78,156" (or a mix, "0-2,7") into integers.

    Raises:
        ValueError: naming the part that is not an integer or a range.
    """
    values: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        try:
            if "-" in part[1:]:
                lo, hi = part.split("-", 1)
                if int(hi) - int(lo) >= MAX_RANGE:
                    raise OverflowError
                values.extend(range(int(lo), int(hi) + 1))
            else:
                values.append(int(part))
        except ValueError:
            raise ValueError(
                f"expected integers or ranges like '0-4,7' (got {part!r} in {text!r})"
            ) from None
        except OverflowError:
            raise ValueError(
                f"a range may span at most {MAX_RANGE:,} values (got {part!r} in {text!r})"
            ) from None
    return values


def _sweep_job(job: dict[str, Any]) -> dict[str, Any]:
    """Runs one sweep job in a worker process."""
    torch.set_num_threads(job["threads"])
    config = method_config(job["method"], **job["overrides"])
    return run_ranking(config, job["budget"], ensemble=job.get("ensemble", 1)).result


def run_sweep(
    space: str,
    methods: Sequence[str],
    budgets: Sequence[int],
    seeds: Sequence[int],
    out_csv: str | Path,
    overrides: dict[str, Any] | None = None,
    workers: int = 1,
    threads: int = 1,
    on_result: Callable[[dict[str, Any]], None] | None = None,
    backend: str = "local",
    address: str | None = None,
    store: RunStore | None = None,
    ensemble: int = 1,
) -> pd.DataFrame:
    """Runs every (method, budget, seed), appending each result to `out_csv` as it finishes.

    Args:
        overrides: config overrides for every run, e.g. {"train": {"epochs": 100}}.
        workers: runs at a time, each in its own process.
        threads: torch CPU threads per run.
        on_result: called with each new result row.
        backend: "local" (this machine, `workers` processes) or "ray" (Ray tasks, see
            `hypernas_core.ray_backend`); results are recorded here, whatever the backend.
        address: with backend "ray", the cluster to join (None: a local Ray instance with
            `workers` CPUs).
        store: a run store that gets one "sweep" run per result, besides the CSV.
        ensemble: members per run (see `run_ranking`).

    Returns:
        Every row of `out_csv` (earlier ones included).
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)} (got {backend!r})")
    check_ensemble_size(ensemble, "ensemble")
    out_csv = Path(out_csv)
    overrides = overrides or {}
    # older CSVs lack some key columns; their runs had the defaults (read once, not per job)
    done = with_key_defaults(
        pd.read_csv(out_csv) if out_csv.exists() else pd.DataFrame(columns=list(KEY_COLUMNS))
    )
    jobs = []
    for method, budget, seed in itertools.product(methods, budgets, seeds):
        train = {**overrides.get("train", {}), "seed": seed}
        config = method_config(method, **{**overrides, "space": space, "train": train})
        key = (
            space,
            method,
            budget,
            seed,
            config.target or get_space(space).default_label,
            config.train.epochs,
            config.train.q,
            config.encoder.encoding,
            config.train.rank_weight,
            ensemble,
            config.hypernet.unlabelled_archs,
        )
        if _has_row(done, key):
            logger.info(
                "skipping %s budget=%d seed=%d: already in %s", method, budget, seed, out_csv
            )
            continue
        jobs.append(
            {
                "method": method,
                "budget": budget,
                "ensemble": ensemble,
                "threads": threads,
                "overrides": {**overrides, "space": space, "train": train},
            }
        )

    def record(result: dict[str, Any]) -> None:
        append_result(out_csv, result)
        if store is not None:
            _store_result(store, result, overrides)
        if on_result is not None:
            on_result(result)

    if backend == "ray":
        from hypernas_core.ray_backend import run_on_ray  # optional extra, imported on demand

        num_cpus = max(workers, 1) * threads
        results = run_on_ray(_sweep_job, jobs, address, num_cpus, threads) if jobs else []
        for result in results:
            record(result)
    elif workers <= 1:
        for job in jobs:
            record(_sweep_job(job))
    else:
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
            for future in concurrent.futures.as_completed(
                [pool.submit(_sweep_job, j) for j in jobs]
            ):
                record(future.result())
    return pd.read_csv(out_csv) if out_csv.exists() else pd.DataFrame()


def append_result(out_csv: Path, result: dict[str, Any]) -> None:
    """Appends one result row to `out_csv` under the file's own header.

    A result with a column the file lacks (a CSV of an older version, or of other methods)
    rewrites the file once with the union of the columns, under a temporary name renamed into
    place, so the CSV never holds rows of different widths.
    """
    row = pd.DataFrame([result])
    if not out_csv.exists():
        row.to_csv(out_csv, index=False)
        return
    header = list(pd.read_csv(out_csv, nrows=0).columns)
    new_columns = [c for c in row.columns if c not in header]
    if not new_columns:
        row.reindex(columns=header).to_csv(out_csv, mode="a", header=False, index=False)
        return
    logger.info("widening %s with the columns %s", out_csv, new_columns)
    merged = pd.concat([pd.read_csv(out_csv), row], ignore_index=True)
    temporary = out_csv.with_name(f".{out_csv.name}.tmp")
    merged.to_csv(temporary, index=False)
    temporary.replace(out_csv)


def _store_result(store: RunStore, result: dict[str, Any], overrides: dict[str, Any]) -> None:
    """Records one sweep result as a finished "sweep" run (metrics only, no weights)."""
    train = {**overrides.get("train", {}), "seed": result["seed"]}
    config = method_config(
        result["method"], **{**overrides, "space": result["space"], "train": train}
    )
    title = f"{result['method']} budget={result['budget']} seed={result['seed']}"
    spec = {k: result[k] for k in KEY_COLUMNS}
    run_id = store.create_run("sweep", title, spec, config.to_dict())
    store.finish_run(run_id, result.get("status", "completed"), "", result)


def _has_row(done: pd.DataFrame, key: tuple) -> bool:
    if done.empty:
        return False
    match = np.ones(len(done), dtype=bool)
    for column, value in zip(KEY_COLUMNS, key, strict=True):
        if column not in done.columns:
            return False
        col = done[column]
        match &= (
            np.isclose(col.astype(float), float(value))
            if column in NUMERIC_KEYS
            else (col.astype(str) == str(value)).to_numpy()
        )
    return bool(match.any())


def with_key_defaults(results: pd.DataFrame) -> pd.DataFrame:
    """`results` with every key column of `KEY_DEFAULTS` present, missing values filled in.

    Rows of an older results CSV, written before such a column existed, were run with its default.
    """
    results = results.copy()
    for column, default in KEY_DEFAULTS.items():
        results[column] = results[column].fillna(default) if column in results else default
    return results


SUMMARY_METRICS = ("kendall_tau", "spearman", "precision_at_top5pct", "train_seconds")
SETTING_COLUMNS = (
    "space",
    "target",
    "epochs",
    "encoding",
    "q",
    "rank_weight",
    "ensemble",
    "unlabelled_archs",
)


def grouping_columns(results: pd.DataFrame) -> tuple[str, ...]:
    """method and budget, plus every setting column whose value differs between the rows.

    A sweep CSV that holds, say, runs with and without the ranking loss is then summarised per
    setting instead of averaging the two.
    """
    varying = [
        c for c in SETTING_COLUMNS if c in results.columns and results[c].nunique(dropna=False) > 1
    ]
    return ("method", *varying, "budget")


def summarise(results: pd.DataFrame, by: Sequence[str] = ("method", "budget")) -> pd.DataFrame:
    """Mean and standard deviation (over seeds) of the ranking metrics, one row per group.

    Returns:
        Columns: the `by` columns, n_seeds, then <metric>_mean and <metric>_std for each metric.
    """
    missing = [c for c in (*by, *SUMMARY_METRICS) if c not in results.columns]
    if missing:
        raise ValueError(f"results lack the columns {missing} (got {list(results.columns)})")
    grouped = results.groupby(list(by), sort=True)
    summary = grouped.size().rename("n_seeds").to_frame()
    for metric in SUMMARY_METRICS:
        summary[f"{metric}_mean"] = grouped[metric].mean()
        summary[f"{metric}_std"] = grouped[metric].std(ddof=1).fillna(0.0)
    return summary.reset_index()


def markdown_table(summary: pd.DataFrame, by: Sequence[str] = ("method", "budget")) -> str:
    """The summary as a markdown table with mean ± std cells."""
    header = [*by, "seeds", "Kendall tau", "Spearman", "precision@top-5%", "train s"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, row in summary.iterrows():
        cells = [str(row[c]) for c in by] + [str(int(row["n_seeds"]))]
        for metric, digits in zip(SUMMARY_METRICS, (3, 3, 3, 0), strict=True):
            mean, std = row[f"{metric}_mean"], row[f"{metric}_std"]
            cells.append(f"{mean:.{digits}f} ± {std:.{digits}f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
