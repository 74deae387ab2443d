"""Session limits, the process-wide training slots, and the hardened server config."""

import threading
from pathlib import Path

import pytest
import tomllib
from hypothesis import given, settings
from hypothesis import strategies as st

from app.limits import SessionLimits, TrainingSlots

CONFIG = Path(__file__).resolve().parents[2] / ".streamlit" / "config.toml"


def test_env_variables_override_the_defaults_and_bad_ones_are_named():
    limits = SessionLimits.from_env({"HYPERNAS_MAX_EPOCHS": "50", "UNRELATED": "x"})
    assert limits.max_epochs == 50 and limits.max_budget == SessionLimits().max_budget
    with pytest.raises(
        ValueError, match="HYPERNAS_MAX_BUDGET must be a positive integer \\(got 'lots'\\)"
    ):
        SessionLimits.from_env({"HYPERNAS_MAX_BUDGET": "lots"})
    with pytest.raises(ValueError, match="limit max_scan must be an integer >= 1 \\(got 0\\)"):
        SessionLimits.from_env({"HYPERNAS_MAX_SCAN": "0"})


@settings(max_examples=200, deadline=None)
@given(
    env=st.dictionaries(
        st.sampled_from(["HYPERNAS_MAX_EPOCHS", "HYPERNAS_MAX_SCAN"]), st.text(max_size=8)
    )
)
def test_any_environment_gives_limits_or_a_clear_error(env):
    try:
        limits = SessionLimits.from_env(env)
    except ValueError as err:
        assert "HYPERNAS_MAX_" in str(err) or "limit max_" in str(err)
        return
    assert limits.max_epochs >= 1 and limits.max_scan >= 1


def test_check_run_names_the_limit_it_breaks():
    limits = SessionLimits(max_epochs=100, max_budget=200, max_arch_epochs=5000, max_scan=3000)
    limits.check_run(budget=50, epochs=100, scan_size=2000, space_size=15625)
    with pytest.raises(ValueError, match="epochs is limited to 100 here \\(got 101\\)"):
        limits.check_run(50, 101, 2000, 15625)
    with pytest.raises(ValueError, match="budget is limited to 200 archs here \\(got 201\\)"):
        limits.check_run(201, 1, 2000, 15625)
    with pytest.raises(
        ValueError, match="budget x epochs is limited to 5,000 here \\(got 60 x 100"
    ):
        limits.check_run(60, 100, 2000, 15625)
    with pytest.raises(ValueError, match="scoring is limited to 3,000 archs here \\(got 15,625\\)"):
        limits.check_run(50, 10, None, 15625)


def test_training_slots_are_shared_and_never_oversubscribed():
    slots = TrainingSlots(3)
    taken, refused = [], []

    def grab():
        try:
            slots.acquire()
            taken.append(1)
        except ValueError as err:
            refused.append(str(err))

    threads = [threading.Thread(target=grab) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(taken) == 3 and slots.used == 3 and len(refused) == 7
    assert "already runs 3 trainings, its limit" in refused[0]
    for _ in taken:
        slots.release()
    with pytest.raises(ValueError, match="release\\(\\) without a matching acquire"):
        slots.release()


def test_server_config_is_hardened_for_production():
    config = tomllib.loads(CONFIG.read_text())
    server = config["server"]
    assert server["enableXsrfProtection"] is True and server["maxUploadSize"] <= 5
    assert server["runOnSave"] is False and server["enableStaticServing"] is False
    assert config["client"]["showErrorDetails"] == "none"  # no tracebacks for users
    assert config["browser"]["gatherUsageStats"] is False
    assert config["global"]["developmentMode"] is False
