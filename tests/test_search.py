"""Predictor-guided search: strategies, bookkeeping, mutations and the `search` command."""

import json

import numpy as np
import pytest

from hypernas_core import get_space
from hypernas_core.cli import main
from hypernas_core.search import SearchConfig, run_search


def count_mb6(archs):
    """A score with a known optimum in NAS-Bench-Macro: the number of MB6_K5 layers."""
    return np.array([a.count("2") for a in archs], dtype=float)


@pytest.fixture(scope="module")
def macro():
    return get_space("nasbench_macro")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"strategy": "bayes"}, "strategy must be one of evolution, random \\(got 'bayes'\\)"),
        ({"budget": 0}, "budget must be >= 1"),
        ({"population": 1}, "population must be >= 2"),
        ({"population": 4, "sample_size": 5}, "sample_size must be in 1..population=4"),
        ({"top_k": 0}, "top_k must be >= 1"),
    ],
)
def test_config_rejects_bad_values(fields, message):
    with pytest.raises(ValueError, match=message):
        SearchConfig(**fields)


def test_evolution_finds_the_known_optimum_and_random_search_does_not(macro):
    evo = run_search(macro, count_mb6, SearchConfig(budget=150, seed=0))
    rnd = run_search(macro, count_mb6, SearchConfig(strategy="random", budget=150, seed=0))
    assert evo.top["arch"][0] == "22222222" and evo.top["predicted"][0] == 8
    assert rnd.top["predicted"][0] < 8
    assert evo.summary()["queries"] == rnd.summary()["queries"] == 150


def test_history_records_each_query_once_with_true_scores(macro):
    result = run_search(macro, count_mb6, SearchConfig(budget=60, seed=1, top_k=5))
    h = result.history
    assert h["query"].tolist() == list(range(1, 61)) and h["arch"].is_unique
    assert (np.diff(h["best_predicted"]) >= 0).all()
    np.testing.assert_allclose(h["true"], macro.labels(h["arch"].tolist()))
    best = h["predicted"].idxmax()
    assert h["true_of_best_predicted"].iloc[-1] == h["true"][best]
    assert len(result.top) == 5 and (result.top["true_rank"] >= 1).all()
    table = macro.label_table().sort_values("test_acc_mean", ascending=False)
    top_true = table["test_acc_mean"].iloc[0]
    first = result.top.iloc[0]
    assert first["true_rank"] == 1 + (table["test_acc_mean"] > first["true"]).sum()
    assert top_true >= first["true"]


def test_unknown_true_scores_are_nan_in_a_partially_labelled_space():
    nb101 = get_space("nb101")

    def size(archs):  # bigger cells score higher
        return np.array([len(a) for a in archs], dtype=float)

    result = run_search(nb101, size, SearchConfig(budget=40))
    known = result.history["true"].notna()
    assert 0 < known.sum() < 40  # random NB101 cells are sometimes in the 292-cell table
    archs = result.history["arch"][known].tolist()
    np.testing.assert_allclose(result.history["true"][known], nb101.labels(archs))


def test_budget_beyond_a_finite_space_is_refused(macro):
    with pytest.raises(ValueError, match="budget 7000 exceeds the 6561 archs"):
        run_search(macro, count_mb6, SearchConfig(budget=7000))


def test_a_score_function_of_the_wrong_length_is_reported(macro):
    with pytest.raises(ValueError, match="returned \\(1,\\) values for 20 archs"):
        run_search(macro, lambda a: np.zeros(1), SearchConfig(budget=20))


@pytest.mark.parametrize("name", ["nb201", "nb101", "nasbench_macro"])
def test_mutations_are_valid_one_step_changes(name):
    space = get_space(name)
    rng = np.random.default_rng(0)
    for arch in space.sample(10, seed=3):
        child = space.mutate(arch, rng)
        assert space.validate(child) == child
        if name == "nb101":
            assert space.arch_hash(child) != space.arch_hash(arch)
        else:
            assert (
                sum(a != b for a, b in zip(space.parse(arch), space.parse(child), strict=True)) == 1
            )


def test_search_command_writes_history_and_summary(tmp_path, capsys):
    ckpt = tmp_path / "ck"
    args = ["train", "--space", "nasbench_macro", "--method", "np", "--budget", "20"]
    assert main([*args, "--epochs", "2", "--device", "cpu", "--out", str(ckpt), "--json"]) == 0
    capsys.readouterr()
    out = tmp_path / "search"
    argv = ["search", "--space", "nasbench_macro", "--checkpoint", str(ckpt), "--budget", "30"]
    assert main([*argv, "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["queries"] == 30 and summary["space"] == "nasbench_macro"
    assert summary["known_true_scores"] == 30
    assert len((out / "history.csv").read_text().splitlines()) == 31
    assert main(["search", "--space", "nb201", "--checkpoint", str(ckpt), "--budget", "5"]) == 2
    assert "does not match the checkpoint's space 'nasbench_macro'" in capsys.readouterr().err
