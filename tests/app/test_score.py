"""Score archs page: pasted or uploaded archs are checked, rejected rows listed, the rest scored."""

import pytest

from tests.app.conftest import frame_with, no_exceptions, open_page
from tests.conftest import ALL_CONV, MIXED


def test_pasted_archs_are_scored_and_bad_rows_listed_with_reasons(np_run):
    at = open_page("score", [np_run])
    at.text_area(key="score_text").set_value(f"{MIXED}\n|conv~0|+|x|\n{ALL_CONV}\n").run()
    no_exceptions(at)
    scored = frame_with(at, "predicted")
    assert list(scored.sort_values("row")["arch"]) == [MIXED, ALL_CONV]
    rejected = frame_with(at, "reason")
    assert list(rejected["row"]) == [2] and "NB201 arch" in rejected.loc[0, "reason"]
    assert any("1 row(s) of the pasted text were not read" in w.value for w in at.warning)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a\x00b", "contains NUL bytes"),
        ("x" * 70_000, "could not be read"),
        ("a,b\n1,2", "needs an 'arch' column"),
    ],
)
def test_hostile_pastes_get_a_clear_error_not_a_traceback(np_run, text, message):
    at = open_page("score", [np_run])
    at.text_area(key="score_text").set_value(text).run()
    no_exceptions(at)
    assert any(message in e.value for e in at.error), [e.value for e in at.error]


def test_too_many_rows_are_refused(np_run):
    at = open_page("score", [np_run])
    at.text_area(key="score_text").set_value("\n".join([MIXED] * 20_001)).run()
    no_exceptions(at)
    assert any("the limit is 20,000" in e.value for e in at.error)
