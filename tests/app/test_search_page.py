"""AppTest of the Search page, and the Architectures page on every registered space."""

import pytest

from hypernas_core import get_space, list_spaces
from tests.app.conftest import frame_with, no_exceptions, open_page


def test_search_page_explains_how_to_get_a_run():
    at = open_page("search")
    no_exceptions(at)
    assert at.title[0].value == "Search"
    assert any("Train" in i.value for i in at.info)


def test_search_page_runs_both_strategies(np_run):
    at = open_page("search", [np_run])
    no_exceptions(at)
    at.number_input(key="search_budget").set_value(30)
    at.button[0].click().run()
    no_exceptions(at)
    summary = frame_with(at, "strategy")
    assert list(summary["strategy"]) == ["evolution", "random"]
    assert (summary["queries"] == 30).all() and (summary["known_true_scores"] == 30).all()
    assert len(frame_with(at, "true_rank")) == 10


@pytest.mark.parametrize("name", [n for n in list_spaces() if n != "nb201"])
def test_architectures_page_works_on_every_space(name):
    at = open_page("architectures")
    at.selectbox(key="architectures_space").set_value(name).run()
    no_exceptions(at)
    assert not at.error, [e.value for e in at.error]


def test_label_page_trains_a_batch_then_finds_it_in_the_store():
    at = open_page("label")
    no_exceptions(at)
    at.selectbox(key="label_space").set_value("nasbench_macro")
    at.number_input(key="label_n").set_value(1)
    at.number_input(key="label_epochs").set_value(1)
    at.number_input(key="label_width").set_value(2)
    at.selectbox(key="label_device").set_value("cpu")
    at.button[0].click().run()
    no_exceptions(at)
    assert "1 trained" in at.success[0].value
    at.button[0].click().run()
    assert "0 trained" in at.success[0].value and "1 from the store" in at.success[0].value
    assert len(frame_with(at, "aux_test_acc")) >= 1


@pytest.mark.parametrize("name", ["nb101", "darts"])
def test_runs_of_partly_labelled_spaces_train_and_scan_labelled_archs(name):
    from app.runs import Run, RunSpec

    run = Run(RunSpec(space=name, method="np", budget=12, epochs=1, seed=0, scan_size=300)).start()
    run.join(timeout=300)
    assert run.status == "done", run.error
    labelled = get_space(name).labelled_archs()
    assert set(run.train_archs) <= set(labelled) and run.archs == labelled
    assert run.true_scores is not None and len(run.true_scores) == len(labelled)


def test_a_run_on_a_space_without_labels_says_how_to_get_them():
    from app.runs import Run, RunSpec

    run = Run(RunSpec(space="vit", method="np", budget=12, epochs=1, scan_size=300)).start()
    run.join(timeout=300)
    assert run.status == "failed" and "no bundled labels" in run.error


LABELLED = [n for n in list_spaces() if n != "nb201" and get_space(n).labelled_archs()]
VIEWS = ("embeddings", "hypernetwork", "rankings", "loss_weights", "search", "score")


@pytest.mark.parametrize("name", LABELLED)
def test_a_hypernas_run_of_every_labelled_space_opens_on_every_view(name):
    from app.runs import RunSpec
    from tests.app.conftest import finished_run

    run = finished_run(
        RunSpec(space=name, method="hypernas", budget=6, epochs=1, seed=0, scan_size=200)
    )
    for page in VIEWS:
        at = open_page(page, [run])
        no_exceptions(at)
        assert not at.error, (page, [e.value for e in at.error])
    at = open_page("rankings", [run])
    assert frame_with(at, "kendall_tau").loc[0, "run"] == run.name
