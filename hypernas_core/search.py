"""Predictor-guided search: regularised evolution and random search over any search space.

Both strategies spend a budget of *queries*, each the predicted score of one new arch (an arch
scored before costs nothing again). Every query is recorded with the best predicted score so far
and, where the space's bundled table knows it, the arch's true score, so a run shows how quickly a
strategy finds archs the predictor likes and whether they are really good.

Regularised evolution (Real et al., 2019): a population of `population` archs starts at random;
each cycle draws `sample_size` of them, mutates the best predicted one (`SearchSpace.mutate`), adds
the child and drops the oldest member.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hypernas_core.search_space import SearchSpace

logger = logging.getLogger(__name__)

STRATEGIES = ("evolution", "random")
ScoreFn = Callable[[Sequence[str]], np.ndarray]  # archs -> predicted scores, (B,)
SearchCallback = Callable[[int, int, dict[str, float]], None]


@dataclass(frozen=True)
class SearchConfig:
    """A search run."""

    strategy: str = "evolution"  # "evolution" (regularised evolution) or "random"
    budget: int = 200  # queries: distinct archs scored by the predictor
    population: int = 20  # evolution: archs kept alive
    sample_size: int = 5  # evolution: tournament size, at most `population`
    seed: int = 0  # seeds sampling, tournaments and mutations
    top_k: int = 10  # best predicted archs reported

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(
                f"strategy must be one of {', '.join(STRATEGIES)} (got {self.strategy!r})"
            )
        if self.budget < 1:
            raise ValueError(f"budget must be >= 1 query (got {self.budget!r})")
        if self.population < 2:
            raise ValueError(f"population must be >= 2 (got {self.population!r})")
        if not 1 <= self.sample_size <= self.population:
            raise ValueError(
                f"sample_size must be in 1..population={self.population} (got {self.sample_size!r})"
            )
        if self.top_k < 1:
            raise ValueError(f"top_k must be >= 1 (got {self.top_k!r})")


@dataclass
class SearchResult:
    """What a search found.

    Attributes:
        history: one row per query: query (1-based), arch, predicted, true (NaN where unknown),
            best_predicted (best predicted so far), true_of_best_predicted (true score of that
            arch, NaN where unknown) and best_true_so_far (best known true score among queries).
        top: the `top_k` best predicted archs with their true scores and true ranks in the
            bundled table (NaN where unknown).
        config: the run's settings.
    """

    history: pd.DataFrame
    top: pd.DataFrame
    config: SearchConfig

    def summary(self) -> dict[str, object]:
        """Plain values for a JSON line."""
        best = self.top.iloc[0]
        return {
            "strategy": self.config.strategy,
            "queries": len(self.history),
            "seed": self.config.seed,
            "best_arch": best["arch"],
            "best_predicted": float(best["predicted"]),
            "best_true": None if np.isnan(best["true"]) else float(best["true"]),
            "best_true_among_queries": _nan_to_none(self.history["true"].max()),
            "known_true_scores": int(self.history["true"].notna().sum()),
        }


def _nan_to_none(value: float) -> float | None:
    return None if value is None or np.isnan(value) else float(value)


def run_search(
    space: SearchSpace,
    score: ScoreFn,
    config: SearchConfig,
    target: str | None = None,
    on_step: SearchCallback | None = None,
) -> SearchResult:
    """Searches `space` for the archs `score` rates best.

    Args:
        space: the search space.
        score: predicted scores of a list of archs (e.g. `Predictor.predict`), higher is better.
        config: strategy, budget and seed.
        target: label column for the true scores (None: the space's default).
        on_step: progress callback, on_step(queries, budget, {"best_predicted": ...}).

    Returns:
        The history of queries and the best predicted archs.

    Raises:
        ValueError: when the budget exceeds a finite space or the space cannot mutate archs.
    """
    if space.size is not None and config.budget > space.size:
        raise ValueError(
            f"budget {config.budget} exceeds the {space.size} archs of space {space.name!r}"
        )
    rng = np.random.default_rng(config.seed)
    oracle = _Oracle(score)
    if config.strategy == "random":
        _random_search(space, oracle, config, rng, on_step)
    else:
        _evolution(space, oracle, config, rng, on_step)

    archs, predicted = oracle.archs, np.asarray(oracle.scores)
    true = space.known_labels(archs, target)
    history = pd.DataFrame({"query": np.arange(1, len(archs) + 1), "arch": archs})
    history["predicted"] = predicted
    history["true"] = true
    # index of the best predicted arch after each query (the first one on ties)
    previous = np.concatenate([[-np.inf], np.maximum.accumulate(predicted)[:-1]])
    best_idx = np.maximum.accumulate(np.where(predicted > previous, np.arange(len(archs)), 0))
    history["best_predicted"] = predicted[best_idx]
    history["true_of_best_predicted"] = true[best_idx]
    history["best_true_so_far"] = pd.Series(true).cummax().ffill().to_numpy()

    order = np.argsort(-predicted, kind="stable")[: config.top_k]
    top = history.iloc[order][["query", "arch", "predicted", "true"]].reset_index(drop=True)
    top["true_rank"] = _true_ranks(space, top["true"].to_numpy(), target)
    return SearchResult(history, top, config)


class _Oracle:
    """Scores archs through the predictor once each and records the order of first queries."""

    def __init__(self, score: ScoreFn) -> None:
        self.score = score
        self.cache: dict[str, float] = {}
        self.archs: list[str] = []
        self.scores: list[float] = []

    def __call__(self, archs: Sequence[str]) -> list[float]:
        new = list(dict.fromkeys(a for a in archs if a not in self.cache))
        if new:
            values = np.asarray(self.score(new), dtype=np.float64).reshape(-1)
            if values.shape != (len(new),):
                raise ValueError(
                    f"score function returned {values.shape} values for {len(new)} archs"
                )
            for arch, value in zip(new, values, strict=True):
                self.cache[arch] = float(value)
                self.archs.append(arch)
                self.scores.append(float(value))
        return [self.cache[a] for a in archs]

    @property
    def queries(self) -> int:
        return len(self.archs)

    def best(self) -> float:
        return max(self.scores)


def _random_search(
    space: SearchSpace,
    oracle: _Oracle,
    config: SearchConfig,
    rng: np.random.Generator,
    on_step: SearchCallback | None,
) -> None:
    archs = space.sample(config.budget, int(rng.integers(2**31)))
    for start in range(0, config.budget, 100):  # in chunks, so progress can be reported
        oracle(archs[start : start + 100])
        if on_step is not None:
            on_step(oracle.queries, config.budget, {"best_predicted": oracle.best()})


def _evolution(
    space: SearchSpace,
    oracle: _Oracle,
    config: SearchConfig,
    rng: np.random.Generator,
    on_step: SearchCallback | None,
) -> None:
    first = min(config.population, config.budget)
    population = collections.deque(space.sample(first, int(rng.integers(2**31))))
    scores = collections.deque(oracle(list(population)))
    if on_step is not None:
        on_step(oracle.queries, config.budget, {"best_predicted": oracle.best()})

    # a child already scored costs no query; give up after many cycles without a new arch
    stale, max_stale = 0, 50 * config.population
    while oracle.queries < config.budget and stale < max_stale:
        picks = rng.choice(len(population), size=config.sample_size, replace=False)
        parent = population[max(picks, key=lambda i: scores[i])]
        child = space.mutate(parent, rng)
        before = oracle.queries
        scores.append(oracle([child])[0])
        population.append(child)
        population.popleft()
        scores.popleft()
        stale = 0 if oracle.queries > before else stale + 1
        if on_step is not None and oracle.queries > before and oracle.queries % 10 == 0:
            on_step(oracle.queries, config.budget, {"best_predicted": oracle.best()})
    if oracle.queries < config.budget:
        logger.warning(
            "evolution stopped after %d of %d queries: %d cycles found no new arch",
            oracle.queries,
            config.budget,
            max_stale,
        )


def _true_ranks(space: SearchSpace, true: np.ndarray, target: str | None) -> np.ndarray:
    """Rank (1 = best) of each true score among the space's bundled labels; NaN where unknown."""
    column = target or space.default_label
    known = np.sort(space.label_table()[column].to_numpy(dtype=np.float64))[::-1]
    ranks = np.full(len(true), np.nan)
    ok = ~np.isnan(true)
    ranks[ok] = np.searchsorted(-known, -true[ok], side="left") + 1
    return ranks
