from hypernas_core import get_space
from hypernas_core.cell_checks import cell_warnings, has_data_path

SPACE = get_space("nb201")


def test_cell_with_all_paths_through_none_outputs_zeros():
    # edges into node 3 are all none: nothing reaches the output
    arch = SPACE.from_ops(["nor_conv_3x3", "nor_conv_3x3", "skip_connect", "none", "none", "none"])
    assert not has_data_path(SPACE.cell_graph(arch))
    assert any("outputs zeros" in w for w in cell_warnings(SPACE, arch))


def test_cell_with_one_path_has_data_path_and_no_warning():
    # only 0 -> 1 -> 3 carries data
    arch = SPACE.from_ops(["nor_conv_3x3", "none", "none", "none", "nor_conv_1x1", "none"])
    assert has_data_path(SPACE.cell_graph(arch))
    assert cell_warnings(SPACE, arch) == []


def test_cell_without_convolutions_is_flagged():
    arch = SPACE.from_ops(["skip_connect", "avg_pool_3x3", "none", "skip_connect", "none", "none"])
    warnings = cell_warnings(SPACE, arch)
    assert len(warnings) == 1 and "no convolution" in warnings[0]
