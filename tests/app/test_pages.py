"""AppTest smoke tests: every page opens, empty and with finished runs in the session."""

import pytest

from tests.app.conftest import PAGES, frame_with, no_exceptions, open_page


@pytest.mark.parametrize("page", PAGES)
def test_page_opens_in_a_fresh_session(page):
    at = open_page(page)
    no_exceptions(at)
    assert at.title[0].value
    assert any(e.label == "What am I looking at?" for e in at.expander)


@pytest.mark.parametrize("page", ["embeddings", "hypernetwork", "rankings", "loss_weights"])
def test_result_pages_explain_how_to_get_a_run(page):
    at = open_page(page)
    assert any("Train" in i.value for i in at.info), [i.value for i in at.info]
    assert not at.error


def test_train_page_says_when_there_is_no_gpu():
    at = open_page("train")
    from hypernas_core import detected_devices

    if detected_devices()["cuda"] or detected_devices()["mps"]:
        pytest.skip("this machine has a GPU")
    assert any("No GPU detected" in i.value for i in at.info)


def test_rankings_page_reports_metrics_of_every_run(np_run, hypernas_run):
    at = open_page("rankings", [np_run, hypernas_run])
    no_exceptions(at)
    metrics = frame_with(at, "kendall_tau")
    assert list(metrics["run"]) == [np_run.name, hypernas_run.name]
    assert metrics["kendall_tau"].between(-1, 1).all()
    top = frame_with(at, "position")
    assert len(top) == 50 and not top["is_train"].any()
    at.radio(key="rankings_axes").set_value("ranks").run()
    no_exceptions(at)


def test_embeddings_page_draws_pca_and_colours_by_op_count(np_run):
    at = open_page("embeddings", [np_run])
    no_exceptions(at)
    assert any("Select points" in c.value for c in at.caption)
    at.selectbox(key="embeddings_colour").set_value("op count").run()
    no_exceptions(at)
    assert at.selectbox(key="embeddings_op").options[0] == "n_none"


def test_loss_weights_page_shows_a_hypernas_run(np_run, hypernas_run):
    at = open_page("loss_weights", [np_run, hypernas_run])
    no_exceptions(at)
    assert at.selectbox(key="loss_weights_run").options == [hypernas_run.name]
    assert any("All runs so far use q = 1.5" in c.value for c in at.caption)


@pytest.mark.slow
def test_hypernetwork_page_shows_generated_weights(hypernas_run):
    at = open_page("hypernetwork", [hypernas_run])
    no_exceptions(at)
    labels = [m.label for m in at.metric]
    assert "Aux accuracy on digits" in labels and "Generated kernels" in labels
    assert frame_with(at, "cosine")["shared"].dtype == bool


def test_leaderboard_shows_published_numbers_and_reruns_a_cell():
    at = open_page("leaderboard")
    no_exceptions(at)
    table = frame_with(at, "HyperNAS (paper)")
    assert 156 in set(table["budget"])
    ablations = [d.value for d in at.dataframe if "seeds" in d.value.columns]
    assert ablations and {"encoding", "q", "rank_weight", "ensemble"} <= set(ablations[0].columns)
    assert len(ablations[0]) > 0
    at.selectbox(key="leaderboard_method").set_value("np")
    at.number_input(key="leaderboard_epochs").set_value(1)
    at.button(key="leaderboard_rerun_button").click().run()
    no_exceptions(at)
    assert any("not the same config" in w.value for w in at.warning)
    rerun = at.session_state["leaderboard_rerun"]
    rerun.join(timeout=300)
    at.run()
    no_exceptions(at)
    assert rerun.status == "done", rerun.error
    assert any("Kendall tau" in s.value for s in at.success)
