"""AppTest flows: sampling and editing archs, training (and cancelling) from the Train page."""

from app.session import RUNS_KEY
from tests.app.conftest import frame_with, no_exceptions, open_page

BAD_ARCH = "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|"


def test_sample_size_and_seed_change_the_table():
    at = open_page("architectures")
    no_exceptions(at)
    assert len(at.dataframe[0].value) == 10
    at.number_input(key="architectures_n").set_value(25).run()
    first = at.dataframe[0].value
    assert len(first) == 25
    at.number_input(key="architectures_seed").set_value(7).run()
    assert list(at.dataframe[0].value["arch"]) != list(first["arch"])


def test_editing_an_edge_shows_the_diff_and_neighbours():
    at = open_page("architectures")
    at.selectbox(key="architectures_a_edge0").set_value("none").run()
    at.selectbox(key="architectures_b_edge0").set_value("nor_conv_3x3").run()
    no_exceptions(at)
    diff = frame_with(at, "differs")
    assert "0->1" in set(diff.loc[diff["differs"], "edge"])
    near = frame_with(at, "distance")
    assert (near["distance"] == 1).all()


def test_invalid_pasted_arch_is_named_in_an_error():
    at = open_page("architectures")
    at.text_input(key="architectures_a_text").set_value(BAD_ARCH).run()
    no_exceptions(at)
    assert any(BAD_ARCH in e.value and "unknown NB201 op 'conv'" in e.value for e in at.error)


def test_degenerate_cell_gets_a_warning():
    at = open_page("architectures")
    for e in (3, 4, 5):
        at.selectbox(key=f"architectures_a_edge{e}").set_value("none")
    at.run()
    assert any("outputs zeros" in w.value for w in at.warning)


def test_train_a_short_run_then_see_it_everywhere():
    at = open_page("train")
    at.selectbox(key="train_method").set_value("np")
    at.number_input(key="train_budget").set_value(12)
    at.number_input(key="train_epochs").set_value(2)
    at.number_input(key="train_rank_weight").set_value(1.0)
    at.radio(key="train_scan").set_value("a random 2,000 archs (faster)")
    at.button[0].click().run()  # the form's submit button
    no_exceptions(at)
    (run,) = at.session_state[RUNS_KEY].values()
    assert run.id == 1  # runs are numbered per browser session
    assert run.spec.config().train.rank_weight == 1.0 and "rank=1" in run.spec.title()
    run.join(timeout=120)
    assert run.status == "done", run.error
    at.run()
    summary = frame_with(at, "status")
    assert summary.loc[0, "status"] == "done" and summary.loc[0, "budget"] == 12
    at.switch_page("pages/rankings.py").run()
    no_exceptions(at)
    assert frame_with(at, "kendall_tau").loc[0, "run"] == run.name


def test_cancel_stops_a_training_run_and_says_so_after_an_earlier_run(np_run):
    at = open_page("train", [np_run])  # an earlier finished run must not hide the new outcome
    at.selectbox(key="train_method").set_value("np")
    at.number_input(key="train_epochs").set_value(1000)
    at.button[0].click().run()
    run = list(at.session_state[RUNS_KEY].values())[-1]
    assert run is not np_run
    at.button(key="train_live_cancel").click().run()
    run.join(timeout=60)
    assert run.status == "cancelled"
    at.run()
    assert any(f"Run {run.name} was cancelled" in w.value for w in at.warning)


def test_bad_cifar_folder_is_refused_before_training(tmp_path):
    at = open_page("train")
    at.selectbox(key="train_aux").set_value("cifar10")
    at.text_input(key="train_aux_root").set_value(str(tmp_path / "missing"))
    at.button[0].click().run()
    assert any("CIFAR-10 needs an existing local folder" in e.value for e in at.error)
    assert not at.session_state[RUNS_KEY] if RUNS_KEY in at.session_state else True
