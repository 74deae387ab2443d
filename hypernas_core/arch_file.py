"""Arch files: lists of archs (to score) and label imports (archs with a score), as CSV or JSON.

Whole-file problems (too large, not UTF-8, not CSV or JSON, no arch column, too many rows) raise
`ArchFileError` naming the file, what was found and what is valid. Row problems never stop the
other rows: every rejected row is reported with its row number, its value and the reason (an arch
the space cannot parse or whose graph is invalid, a missing or non-finite label, a duplicate in a
label import, a ragged CSV row).

Accepted layouts:
    CSV: a header with an `arch` column (and the label column for imports); or a single column
        of archs, with or without a header.
    JSON: a list of arch strings; {"archs": [...]}; or a list of {"arch": ..., <label>: ...}
        objects (label imports).
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from hypernas_core.search_space import SearchSpace

MAX_FILE_BYTES = 50 * 1024 * 1024  # files larger than this are refused before reading
MAX_ROWS = 2_000_000  # data rows per file
MAX_ARCH_CHARS = 4096  # an arch string longer than this is rejected without parsing
MAX_FIELD_CHARS = 65_536  # a CSV field longer than this makes the file unreadable
FORMATS = ("csv", "json")


class ArchFileError(ValueError):
    """A whole arch file is unusable (the message names the file and what is valid)."""


@dataclass(frozen=True)
class RejectedRow:
    """One row that was not read: its 1-based data row, its value (shortened) and why."""

    row: int
    value: str
    reason: str


@dataclass
class ArchFile:
    """What an arch file held.

    Attributes:
        archs: the accepted archs, in the space's canonical notation, in file order.
        rows: the 1-based data row of each accepted arch.
        labels: (len(archs),) float64 labels for a label import; None otherwise.
        rejected: every row that was not accepted, with its reason.
    """

    archs: list[str] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    labels: np.ndarray | None = None
    rejected: list[RejectedRow] = field(default_factory=list)

    def rejected_frame(self) -> pd.DataFrame:
        """The rejected rows as a table: row, value, reason."""
        return pd.DataFrame(
            [(r.row, r.value, r.reason) for r in self.rejected], columns=["row", "value", "reason"]
        )

    def rejected_summary(self, limit: int = 5) -> str:
        """One line naming the first `limit` rejected rows and how many more there are."""
        parts = [f"row {r.row} ({r.value}): {r.reason}" for r in self.rejected[:limit]]
        more = len(self.rejected) - limit
        return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def read_arch_file(
    path: str | Path,
    space: SearchSpace,
    label: str | None = None,
    max_bytes: int = MAX_FILE_BYTES,
    max_rows: int = MAX_ROWS,
) -> ArchFile:
    """Reads an arch list (label None) or a label import (label = the score column's name).

    The format follows the suffix: .csv or .json.

    Raises:
        ArchFileError: for a missing, oversized or unreadable file, or an unknown suffix.
    """
    path = Path(path)
    if not path.is_file():
        raise ArchFileError(f"arch file {str(path)!r} does not exist")
    size = path.stat().st_size
    if size > max_bytes:
        raise ArchFileError(
            f"arch file {str(path)!r} has {size:,} bytes; the limit is {max_bytes:,} bytes"
        )
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise ArchFileError(f"arch file must end in .csv or .json (got {str(path)!r})")
    return parse_arch_file(path.read_bytes(), str(path), suffix, space, label, max_bytes, max_rows)


def parse_arch_file(
    data: bytes,
    name: str,
    fmt: str,
    space: SearchSpace,
    label: str | None = None,
    max_bytes: int = MAX_FILE_BYTES,
    max_rows: int = MAX_ROWS,
) -> ArchFile:
    """Parses the bytes of an arch file (e.g. an upload) named `name` in format `fmt`.

    Args:
        data: the file's bytes. name: shown in messages. fmt: "csv" or "json".
        space: the search space the archs must belong to.
        label: the score column of a label import; None reads archs only.
        max_bytes, max_rows: caps on the file's size and its data rows.

    Returns:
        The accepted archs (canonical) with their rows and labels, and every rejected row.

    Raises:
        ArchFileError: when the file as a whole cannot be used.
    """
    if fmt not in FORMATS:
        raise ArchFileError(f"format must be one of {', '.join(FORMATS)} (got {fmt!r})")
    if len(data) > max_bytes:
        raise ArchFileError(
            f"arch file {name!r} has {len(data):,} bytes; the limit is {max_bytes:,} bytes"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ArchFileError(f"arch file {name!r} is not UTF-8 text: {err}") from None
    records = _json_records(text, name, label) if fmt == "json" else _csv_records(text, name, label)
    if not records:
        raise ArchFileError(f"arch file {name!r} holds no archs")
    if len(records) > max_rows:
        raise ArchFileError(
            f"arch file {name!r} has more than {max_rows:,} rows; the limit is {max_rows:,}"
        )
    return _check_rows(records, space, label)


# a record is (row, arch value, label value, reason the row is already known to be bad)
Record = tuple[int, object, object, str | None]


def _json_records(text: str, name: str, label: str | None) -> list[Record]:
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as err:
        raise ArchFileError(f"arch file {name!r} is not valid JSON: {err}") from None
    if isinstance(data, dict) and "archs" in data:
        data = data["archs"]
    if not isinstance(data, list):
        wanted = (
            f"a list of {{'arch': ..., '{label}': ...}} objects"
            if label
            else "a list of arch strings or {'archs': [...]}"
        )
        raise ArchFileError(
            f"JSON arch file {name!r} must be {wanted} (got a {type(data).__name__})"
        )
    records: list[Record] = []
    for row, item in enumerate(data, start=1):
        if label is None:
            records.append((row, item, None, None))
        elif not isinstance(item, dict):
            records.append((row, item, None, f"expected an object with 'arch' and {label!r}"))
        else:
            records.append((row, item.get("arch"), item.get(label), None))
    return records


def _csv_records(text: str, name: str, label: str | None) -> list[Record]:
    if "\x00" in text:
        raise ArchFileError(f"CSV arch file {name!r} contains NUL bytes; it is not a text CSV")
    reader = csv.reader(io.StringIO(text, newline=""))
    previous = csv.field_size_limit(MAX_FIELD_CHARS)
    try:
        lines = [(reader.line_num, line) for line in reader]
    except csv.Error as err:
        raise ArchFileError(f"CSV arch file {name!r} could not be read: {err}") from None
    finally:
        csv.field_size_limit(previous)
    lines = [(n, line) for n, line in lines if any(cell.strip() for cell in line)]
    if not lines:
        return []
    header = [cell.strip() for cell in lines[0][1]]
    needed = ["arch"] + ([label] if label else [])
    if all(column in header for column in needed):
        columns = [header.index(column) for column in needed]
        body = lines[1:]
    elif label is None and len(header) == 1:
        columns = [0]
        body = lines if header[0] != "arch" and "|" in header[0] else lines[1:]
    else:
        wanted = f"the columns 'arch' and {label!r}" if label else "an 'arch' column"
        raise ArchFileError(f"CSV arch file {name!r} needs {wanted} (got {header[:10]})")
    records: list[Record] = []
    for row, (_, line) in enumerate(body, start=1):
        if len(line) <= max(columns):
            records.append(
                (row, ",".join(line), None, f"has {len(line)} field(s), expected {len(header)}")
            )
            continue
        value = line[columns[0]].strip()
        score = line[columns[1]].strip() if label else None
        records.append((row, value, score, None))
    return records


def _check_rows(records: list[Record], space: SearchSpace, label: str | None) -> ArchFile:
    result = ArchFile()
    labels: list[float] = []
    first_row: dict[str, int] = {}
    for row, value, score, reason in records:
        shown = _shorten(value)
        if reason is None:
            arch, reason = _checked_arch(value, space)
        if reason is None and label is not None:
            number, reason = _checked_label(score, label)
        if reason is None and label is not None and arch in first_row:
            reason = f"duplicate of row {first_row[arch]} (the same arch)"
        if reason is not None:
            result.rejected.append(RejectedRow(row, shown, reason))
            continue
        first_row.setdefault(arch, row)
        result.archs.append(arch)
        result.rows.append(row)
        if label is not None:
            labels.append(number)
    if label is not None:
        result.labels = np.asarray(labels, dtype=np.float64)
    return result


def _checked_arch(value: object, space: SearchSpace) -> tuple[str | None, str | None]:
    if not isinstance(value, str):
        return None, f"expected an arch string (got {type(value).__name__})"
    if not value.strip():
        return None, "empty arch"
    if len(value) > MAX_ARCH_CHARS:
        return None, f"arch has {len(value):,} characters; the limit is {MAX_ARCH_CHARS:,}"
    try:
        return space.validate(value.strip()), None
    except ValueError as err:
        return None, str(err)
    except (TypeError, KeyError, IndexError, RecursionError) as err:  # a parser's own bug
        return None, f"not a valid {space.name} arch ({type(err).__name__}: {err})"


def _checked_label(value: object, label: str) -> tuple[float | None, str | None]:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, f"missing {label!r}"
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None, f"{label!r} must be a number (got {type(value).__name__})"
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None, f"{label!r} must be a number (got {_shorten(value)})"
    if not math.isfinite(number):
        return None, f"{label!r} must be finite (got {_shorten(value)})"
    return number, None


def _shorten(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
