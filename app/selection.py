"""Pure helpers that turn a plotly selection event (from st.plotly_chart on_select) into archs.

Kept free of streamlit so they can be unit-tested: AppTest cannot simulate a plotly selection.
Every scatter point carries its position in the run's arch list as `customdata`, so selections
stay correct when the points are split over several traces (e.g. training archs drawn on top).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _points(event: Any) -> list[Mapping[str, Any]]:
    if event is None:
        return []
    selection = (
        event.get("selection") if isinstance(event, Mapping) else getattr(event, "selection", None)
    )
    if selection is None:
        return []
    points = (
        selection.get("points")
        if isinstance(selection, Mapping)
        else getattr(selection, "points", None)
    )
    return list(points or [])


def selected_positions(event: Any, n_points: int) -> list[int]:
    """Positions (into the plotted arch list) of the selected points, sorted and unique.

    Args:
        event: the value st.plotly_chart returns with on_select="rerun" (a dict-like with
            selection.points), or None.
        n_points: number of plotted archs; positions outside 0..n_points-1 are dropped.

    Raises:
        ValueError: for a point without customdata (the chart was not built by app.figures).
    """
    positions = set()
    for point in _points(event):
        data = point.get("customdata")
        if data is None:
            raise ValueError(f"selected point has no customdata with its arch position: {point!r}")
        value = data[0] if isinstance(data, list | tuple) else data
        position = int(value)
        if 0 <= position < n_points:
            positions.add(position)
    return sorted(positions)
