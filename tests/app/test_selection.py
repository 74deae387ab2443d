import pytest

from app.selection import selected_positions


def _event(points):
    # the shape st.plotly_chart(on_select="rerun") returns
    return {"selection": {"points": points, "box": [], "lasso": [], "point_indices": []}}


def test_positions_come_from_customdata_across_traces():
    points = [
        {"curve_number": 0, "point_index": 0, "customdata": 7},
        {"curve_number": 1, "point_index": 0, "customdata": [3]},  # training-arch trace
        {"curve_number": 0, "point_index": 5, "customdata": 7},  # duplicate
    ]
    assert selected_positions(_event(points), n_points=10) == [3, 7]


def test_empty_or_missing_selection_gives_nothing():
    assert selected_positions(None, 10) == []
    assert selected_positions({}, 10) == []
    assert selected_positions(_event([]), 10) == []


def test_out_of_range_positions_are_dropped():
    points = [{"customdata": 12}, {"customdata": -1}, {"customdata": 2}]
    assert selected_positions(_event(points), n_points=10) == [2]


def test_point_without_customdata_is_an_error():
    with pytest.raises(ValueError, match="no customdata"):
        selected_positions(_event([{"point_index": 1}]), 10)


def test_attribute_style_event_is_read():
    class Selection:
        points = [{"customdata": 4}]

    class Event:
        selection = Selection()

    assert selected_positions(Event(), 10) == [4]
