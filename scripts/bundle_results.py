"""Merges `bench ranking` CSVs into the results the app bundles in assets/results/.

Rows made with their method's default protocol go to `<space>_ranking.csv` (the Leaderboard's main
table), every other completed row (another q, encoding or ranking-loss weight) to
`<space>_ablations.csv`. A run measured twice (same key columns) keeps its last row; runs that did
not complete are dropped.

    python scripts/bundle_results.py runs/nb201/runs.csv runs/ablations/runs.csv
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pandas as pd

from hypernas_core.benchmark import KEY_COLUMNS, with_key_defaults
from hypernas_core.leaderboard import BUNDLED_ABLATIONS, BUNDLED_RESULTS, protocol_rows

logger = logging.getLogger("bundle_results")
METHOD_ORDER = {"np": 0, "hypernas-p": 1, "hypernas": 2}


def bundle(paths: list[Path], space: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(main rows, ablation rows) of `space` from the given result CSVs."""
    frame = with_key_defaults(pd.concat([pd.read_csv(p) for p in paths], ignore_index=True))
    frame = frame[(frame["space"] == space) & (frame["status"] == "completed")]
    frame = frame.drop_duplicates(subset=list(KEY_COLUMNS), keep="last")
    frame = frame.sort_values(
        ["encoding", "q", "budget", "method", "seed"],
        key=lambda c: c.map(METHOD_ORDER) if c.name == "method" else c,
    )
    main = protocol_rows(frame)
    return main, frame.drop(index=main.index)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csvs", nargs="+", type=Path, help="runs.csv files of bench ranking")
    parser.add_argument("--space", default="nb201", choices=sorted(BUNDLED_RESULTS))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    missing = [str(p) for p in args.csvs if not p.is_file()]
    if missing:
        parser.error(f"no such results file: {', '.join(missing)}")
    main_rows, ablations = bundle(args.csvs, args.space)
    for rows, path in (
        (main_rows, BUNDLED_RESULTS[args.space]),
        (ablations, BUNDLED_ABLATIONS[args.space]),
    ):
        rows.to_csv(path, index=False)
        logger.info("%s: %d runs", path, len(rows))


if __name__ == "__main__":
    main()
