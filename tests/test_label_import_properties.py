"""Hostile label files never crash `label_import.read_label_file`: only its clear errors.

(Property tests beside `test_label_import.py`, kept apart so the two can change independently.)
"""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hypernas_core import get_space, list_spaces
from hypernas_core.label_import import LabelImport, read_label_file

values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)
records = st.lists(
    st.dictionaries(st.sampled_from(["arch", "acc", "note"]), values, max_size=3), max_size=4
)
files = st.one_of(
    st.binary(max_size=200),
    values.map(lambda v: json.dumps(v).encode()),
    records.map(lambda v: json.dumps(v).encode()),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(space=st.sampled_from(list_spaces()), fmt=st.sampled_from(["csv", "json"]), data=files)
def test_hostile_label_files_only_raise_clear_errors(tmp_path, space, fmt, data):
    path = tmp_path / f"labels.{fmt}"
    path.write_bytes(data)
    try:
        result = read_label_file(get_space(space), path)
    except ValueError as err:
        assert str(err)
        return
    assert isinstance(result, LabelImport)
    assert set(result.rejected.columns) == {"row", "arch", "reason"}
    assert result.rejected["reason"].map(bool).all()
