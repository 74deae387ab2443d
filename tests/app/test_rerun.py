import pytest

from app.limits import SessionLimits, TrainingSlots
from app.rerun import CellRerun
from hypernas_core.benchmark import split_archs


def test_rerun_trains_on_the_benchmark_split_and_frees_its_slot():
    slots = TrainingSlots(1)
    rerun = CellRerun("nb201", "np", budget=20, seed=3, epochs=2).start(SessionLimits(), slots)
    assert slots.used == 1
    rerun.join(timeout=300)
    assert rerun.status == "done", rerun.error
    assert slots.used == 0
    _, test = split_archs("nb201", 20, 3)
    assert rerun.result["n_test"] == len(test) and rerun.result["seed"] == 3
    assert -1 <= rerun.result["kendall_tau"] <= 1 and rerun.progress == 1.0


def test_rerun_refuses_limits_and_a_full_server():
    with pytest.raises(ValueError, match="epochs is limited to 5"):
        CellRerun("nb201", "np", 20, 0, epochs=6).start(
            SessionLimits(max_epochs=5), TrainingSlots(1)
        )
    full = TrainingSlots(1)
    full.acquire()
    with pytest.raises(ValueError, match="already runs 1 trainings"):
        CellRerun("nb201", "np", 20, 0, epochs=1).start(SessionLimits(), full)
    with pytest.raises(ValueError, match="unknown method 'fast'"):
        CellRerun("nb201", "fast", 20, 0, epochs=1).start(SessionLimits(), TrainingSlots(1))
