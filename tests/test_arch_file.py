"""Arch files and label imports: caps, schema checks, per-row reasons, hostile input."""

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hypernas_core import get_space, list_spaces
from hypernas_core.arch_file import (
    ArchFile,
    ArchFileError,
    parse_arch_file,
    read_arch_file,
)
from tests.conftest import ALL_CONV, MIXED

BAD_OP = "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|"
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parse(text, fmt="csv", label=None, **caps):
    return parse_arch_file(text.encode(), "upload", fmt, get_space("nb201"), label, **caps)


def test_csv_archs_are_canonical_and_every_bad_row_has_its_reason():
    text = f"arch,note\n{MIXED},a\n{BAD_OP},b\n,c\n{ALL_CONV},d\nshort\n"
    result = parse(text)
    assert result.archs == [MIXED, ALL_CONV] and result.rows == [1, 4]
    reasons = {r.row: r.reason for r in result.rejected}
    assert "unknown NB201 op 'conv'" in reasons[2]
    assert reasons[3] == "empty arch"
    assert "must have 3 '+'-separated node groups" in reasons[5] and "(got 'short')" in reasons[5]
    assert list(result.rejected_frame().columns) == ["row", "value", "reason"]
    assert result.rejected_summary(limit=1).endswith("; and 2 more")


def test_single_column_csv_with_or_without_header():
    assert parse(f"{MIXED}\n{ALL_CONV}\n").archs == [MIXED, ALL_CONV]
    assert parse(f"archs\n{MIXED}\n").archs == [MIXED]


def test_label_import_checks_numbers_and_duplicates():
    text = (
        f"arch,acc\n{MIXED},91.5\n{ALL_CONV},nan\n{ALL_CONV},x\n{ALL_CONV},\n{MIXED},90\n{MIXED}\n"
    )
    result = parse(text, label="acc")
    assert result.archs == [MIXED] and np.array_equal(result.labels, [91.5])
    reasons = [r.reason for r in result.rejected]
    assert reasons == [
        "'acc' must be finite (got 'nan')",
        "'acc' must be a number (got 'x')",
        "missing 'acc'",
        "duplicate of row 1 (the same arch)",
        "has 1 field(s), expected 2",
    ]


def test_json_layouts():
    assert parse(json.dumps([MIXED]), "json").archs == [MIXED]
    assert parse(json.dumps({"archs": [MIXED, 5]}), "json").rejected[0].reason == (
        "expected an arch string (got int)"
    )
    records = [{"arch": MIXED, "acc": 90}, {"arch": ALL_CONV, "acc": True}, "x"]
    result = parse(json.dumps(records), "json", label="acc")
    assert result.archs == [MIXED]
    assert [r.reason for r in result.rejected] == [
        "'acc' must be a number (got bool)",
        "expected an object with 'arch' and 'acc'",
    ]


@pytest.mark.parametrize(
    ("data", "fmt", "caps", "message"),
    [
        (b"{", "json", {}, "is not valid JSON"),
        (b'{"x": 1}', "json", {}, "must be a list of arch strings .*got a dict"),
        (b"\xff\xfe\x00", "csv", {}, "is not UTF-8 text"),
        (b"a,b\n1,2\n", "csv", {}, "needs an 'arch' column \\(got \\['a', 'b'\\]\\)"),
        (b"", "csv", {}, "holds no archs"),
        (b"[]", "json", {}, "holds no archs"),
        (b"arch\n" + b"x\n" * 11, "csv", {"max_rows": 10}, "more than 10 rows; the limit is 10"),
        (b"x" * 101, "csv", {"max_bytes": 100}, "has 101 bytes; the limit is 100 bytes"),
        (b"arch\n" + b"a" * 70_000 + b"\n", "csv", {}, "could not be read: field larger"),
        (b"arch\na\x00b\n", "csv", {}, "contains NUL bytes"),
        (b"[" * 100_000 + b"]" * 100_000, "json", {}, "is not valid JSON"),
        (b"[]", "yaml", {}, "format must be one of csv, json \\(got 'yaml'\\)"),
    ],
)
def test_whole_file_problems_are_one_clear_error(data, fmt, caps, message):
    with pytest.raises(ArchFileError, match=message):
        parse_arch_file(data, "upload", fmt, get_space("nb201"), **caps)


def test_read_from_disk_checks_existence_suffix_and_size(tmp_path):
    space = get_space("nb201")
    with pytest.raises(ArchFileError, match="does not exist"):
        read_arch_file(tmp_path / "none.csv", space)
    (tmp_path / "a.txt").write_text(MIXED)
    with pytest.raises(ArchFileError, match="must end in .csv or .json"):
        read_arch_file(tmp_path / "a.txt", space)
    (tmp_path / "a.json").write_text(json.dumps([MIXED] * 3))
    assert read_arch_file(tmp_path / "a.json", space).archs == [MIXED] * 3
    with pytest.raises(ArchFileError, match="the limit is 10 bytes"):
        read_arch_file(tmp_path / "a.json", space, max_bytes=10)


def _never_crashes(data: bytes, fmt: str, space: str, label) -> None:
    try:
        result = parse_arch_file(data, "upload", fmt, get_space(space), label)
    except ArchFileError as err:
        assert "'upload'" in str(err) or "format" in str(err)
        return
    assert isinstance(result, ArchFile)
    assert len(result.archs) == len(result.rows)
    assert all(r.reason for r in result.rejected)
    if label is not None:
        assert result.labels.shape == (len(result.archs),) and np.isfinite(result.labels).all()


@PROPERTY
@given(
    data=st.binary(max_size=400),
    fmt=st.sampled_from(["csv", "json"]),
    space=st.sampled_from(list_spaces()),
    label=st.sampled_from([None, "acc"]),
)
def test_random_bytes_never_crash_the_parser(data, fmt, space, label):
    _never_crashes(data, fmt, space, label)


cells = st.text(
    alphabet=st.sampled_from(list('|+~0123456789_,"\n\r ,xabconvskipnone')), max_size=60
)
json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | cells,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(cells, children, max_size=4),
    max_leaves=12,
)


@PROPERTY
@given(rows=st.lists(st.lists(cells, max_size=4), max_size=8), label=st.sampled_from([None, "acc"]))
def test_hostile_csv_rows_are_rejected_with_reasons(rows, label):
    header = "arch,acc" if label else "arch"
    text = "\n".join([header] + [",".join(row) for row in rows])
    _never_crashes(text.encode(), "csv", "nb201", label)


@PROPERTY
@given(value=json_values, label=st.sampled_from([None, "acc"]))
def test_hostile_json_values_are_rejected_with_reasons(value, label):
    _never_crashes(json.dumps(value).encode(), "json", "nb201", label)


@PROPERTY
@given(space=st.sampled_from(list_spaces()), data=st.data())
def test_near_miss_archs_are_rejected_with_reasons(space, data):
    real = get_space(space).sample(1, seed=data.draw(st.integers(0, 50)))[0]
    position = data.draw(st.integers(0, len(real)))
    cut = data.draw(st.integers(0, 3))
    insert = data.draw(st.text(max_size=3))
    mutated = real[:position] + insert + real[position + cut :]
    result = parse_arch_file(json.dumps([mutated]).encode(), "upload", "json", get_space(space))
    assert len(result.archs) + len(result.rejected) == 1
