"""Label import: bring (arch, score) pairs for any space in from a CSV or JSON file.

Schema (documented in docs/spaces.md):

- CSV: a header row with an `arch` column (the arch in the space's own notation) and one or more
  score columns (numbers, e.g. `val_acc`); any other column must be listed in `ignore`.
- JSON: a list of objects `{"arch": ..., "<score>": number, ...}`, or an object
  `{"space": "<name>", "rows": [...]}` (a named space must match the one imported into).

Every row is checked on its own: the arch must be valid in the space (it is stored in canonical
form), every score a finite number, and the arch must not repeat an earlier row (in NB101, the
same graph numbered differently is a repeat). Rows that fail are rejected with the reason; the rest
are accepted. Nothing is averaged or filled in.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hypernas_core.config import PredictorConfig
from hypernas_core.metrics import ranking_report
from hypernas_core.predictor import Predictor
from hypernas_core.search_space import SearchSpace
from hypernas_core.training import StepCallback

logger = logging.getLogger(__name__)

MAX_LABEL_FILE_BYTES = 50 * 1024 * 1024  # label files larger than this are refused
MAX_LABEL_ROWS = 1_000_000


@dataclass
class LabelImport:
    """The outcome of an import.

    Attributes:
        space: name of the space the archs were checked against.
        score_columns: the score columns, in file order.
        accepted: canonical `arch` plus the score columns, one row per accepted row.
        rejected: `row` (1-based data row), `arch` (as given) and `reason`.
    """

    space: str
    score_columns: list[str]
    accepted: pd.DataFrame
    rejected: pd.DataFrame

    def report(self) -> str:
        """A few lines for people: counts and the first rejections."""
        lines = [
            f"{len(self.accepted)} row(s) accepted, {len(self.rejected)} rejected "
            f"(space {self.space}, scores: {', '.join(self.score_columns)})"
        ]
        for rec in self.rejected.head(10).itertuples(index=False):
            lines.append(f"  row {rec.row}: {rec.reason}")
        if len(self.rejected) > 10:
            lines.append(f"  ... and {len(self.rejected) - 10} more")
        return "\n".join(lines)

    def scores(self, column: str | None = None) -> tuple[list[str], np.ndarray]:
        """(archs, scores) of the accepted rows for one score column (default: the first).

        Raises:
            ValueError: for a column the import does not have.
        """
        column = column or self.score_columns[0]
        if column not in self.score_columns:
            raise ValueError(
                f"unknown score column {column!r}; valid: {', '.join(self.score_columns)}"
            )
        return self.accepted["arch"].tolist(), self.accepted[column].to_numpy(dtype=np.float64)


def import_labels(
    space: SearchSpace, rows: pd.DataFrame | Sequence[dict[str, Any]], ignore: Sequence[str] = ()
) -> LabelImport:
    """Checks every row of an in-memory table against `space`.

    Args:
        space: the search space of the archs.
        rows: a table or records with an `arch` column and score columns.
        ignore: extra columns to drop without checking (e.g. notes).

    Returns:
        The accepted and rejected rows.

    Raises:
        ValueError: when the table as a whole is unusable (no `arch` column, no score column,
            no rows).
    """
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    if "arch" not in frame.columns:
        raise ValueError(f"labels need an 'arch' column (got columns {list(frame.columns)})")
    unknown_ignore = [c for c in ignore if c not in frame.columns]
    if unknown_ignore:
        raise ValueError(f"ignored column(s) {unknown_ignore} are not in the file")
    score_columns = [c for c in frame.columns if c != "arch" and c not in ignore]
    if not score_columns:
        raise ValueError("labels need at least one score column besides 'arch' (got none)")
    if frame.empty:
        raise ValueError("the label file has no rows")
    if len(frame) > MAX_LABEL_ROWS:
        raise ValueError(f"the label file has {len(frame)} rows; the limit is {MAX_LABEL_ROWS}")

    accepted: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    seen: dict[str, int] = {}  # identity key -> first data row
    for row, rec in enumerate(frame.to_dict("records"), start=1):
        raw_arch = rec["arch"]
        try:
            arch = space.validate(raw_arch)
            values = {c: _score(c, rec[c]) for c in score_columns}
        except ValueError as err:
            rejected.append({"row": row, "arch": raw_arch, "reason": str(err)})
            continue
        key = _identity(space, arch)
        if key in seen:
            reason = f"arch {arch!r} repeats row {seen[key]}"
            rejected.append({"row": row, "arch": raw_arch, "reason": reason})
            continue
        seen[key] = row
        accepted.append({"arch": arch, **values})

    result = LabelImport(
        space.name,
        score_columns,
        pd.DataFrame(accepted, columns=["arch", *score_columns]),
        pd.DataFrame(rejected, columns=["row", "arch", "reason"]),
    )
    logger.info(result.report())
    return result


def read_label_file(
    space: SearchSpace, path: str | Path, ignore: Sequence[str] = ()
) -> LabelImport:
    """Reads a CSV or JSON label file (schema in the module docstring) and checks every row.

    Raises:
        FileNotFoundError: when the file does not exist.
        ValueError: for an oversized, unreadable or malformed file, or a space mismatch.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"label file {str(path)!r} does not exist")
    if path.stat().st_size > MAX_LABEL_FILE_BYTES:
        raise ValueError(f"label file {str(path)!r} is larger than {MAX_LABEL_FILE_BYTES} bytes")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        try:
            # archs stay strings (NAS-Bench-Macro archs have leading zeros)
            frame = pd.read_csv(path, dtype={"arch": str}, keep_default_na=False, na_values=[""])
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
            raise ValueError(f"CSV label file {str(path)!r} could not be read: {err}") from err
        return import_labels(space, frame, ignore)
    if suffix == ".json":
        try:
            data = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ValueError(f"JSON label file {str(path)!r} is not valid JSON: {err}") from err
        if isinstance(data, dict):
            named = data.get("space")
            if named is not None and named != space.name:
                raise ValueError(
                    f"label file {str(path)!r} is for space {named!r}, not {space.name!r}"
                )
            data = data.get("rows")
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise ValueError(
                f"JSON label file {str(path)!r} must be a list of objects with 'arch' and score "
                "keys, or {'space': ..., 'rows': [...]}"
            )
        return import_labels(space, data, ignore)
    raise ValueError(f"label file must end in .csv or .json (got {str(path)!r})")


def _score(column: str, value: Any) -> float:
    """A finite float, or ValueError naming the column and the value."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"score {column!r} must be a finite number (got {value!r})")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"score {column!r} must be a finite number (got {value!r})") from None
    if not math.isfinite(number):
        raise ValueError(f"score {column!r} must be a finite number (got {value!r})")
    return number


def _identity(space: SearchSpace, arch: str) -> str:
    """What makes two archs the same: the graph hash where the space has one, else the string."""
    arch_hash = getattr(space, "arch_hash", None)
    return arch_hash(arch) if callable(arch_hash) else arch


def rank_on_labels(
    config: PredictorConfig,
    imported: LabelImport,
    budget: int,
    column: str | None = None,
    on_step: StepCallback | None = None,
) -> tuple[dict[str, Any], Predictor]:
    """Trains on `budget` imported archs drawn with the config's seed and ranks the others.

    The predictor's checkpoint names the space's default label as its target; the result records
    the imported column as `label_column`.

    Returns:
        The result (as `benchmark.run_ranking` reports it, with `label_source` "import") and the
        trained predictor.

    Raises:
        ValueError: when the budget leaves fewer than 2 training or 1 test arch.
    """
    archs, scores = imported.scores(column)
    if not 2 <= budget < len(archs):
        raise ValueError(
            f"budget must be in 2..{len(archs) - 1} for {len(archs)} imported archs (got {budget})"
        )
    order = np.random.default_rng(config.train.seed).permutation(len(archs))
    train, test = order[:budget], order[budget:]
    predictor = Predictor(config)
    start = time.perf_counter()
    history = predictor.fit([archs[i] for i in train], scores[train], on_step=on_step)
    seconds = time.perf_counter() - start
    predicted = predictor.predict([archs[i] for i in test]).numpy()
    result = {
        "space": config.space,
        "method": config.method,
        "budget": budget,
        "seed": config.train.seed,
        "label_source": "import",
        "label_column": column or imported.score_columns[0],
        "epochs": config.train.epochs,
        "n_train": len(train),
        "n_test": len(test),
        **ranking_report(scores[test], predicted),
        "train_seconds": round(seconds, 2),
        "status": history.status,
    }
    return result, predictor
