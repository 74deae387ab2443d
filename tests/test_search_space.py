import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from hypernas_core import get_space, list_spaces


def test_registry_lists_and_returns_spaces():
    assert "nb201" in list_spaces()
    assert get_space("nb201") is get_space("nb201")
    assert "NB201Space(name='nb201'" in repr(get_space("nb201"))


def test_unknown_space_names_the_valid_ones():
    with pytest.raises(ValueError, match="unknown search space 'nb999'; valid: .*nb201"):
        get_space("nb999")


def test_chain_batch_index_and_to(space):
    archs = space.sample(4, seed=0)
    chain = space.encode(archs, "global")
    sub = chain.index([2, 0])
    assert len(sub) == 2
    assert torch.equal(sub.ops[0], chain.ops[2])
    moved = sub.to("cpu")
    assert moved.adj.dtype == torch.float32 and moved.ops.dtype == torch.long


def test_validate_canonicalises_whitespace(space):
    arch = space.sample(1, seed=1)[0]
    assert space.validate(f"  {arch}\n") == arch


@settings(max_examples=300, deadline=None)
@given(
    name=st.sampled_from(list_spaces()),
    text=st.text(max_size=80) | st.text(alphabet="|+~0123456789_nonecvkipsl3x1a,", max_size=120),
)
def test_validate_raises_only_clear_value_errors_on_hostile_strings(name, text):
    space = get_space(name)
    try:
        canonical = space.validate(text)
    except ValueError as err:
        assert str(err)  # a message naming the problem
        return
    assert space.validate(canonical) == canonical  # accepted strings are canonical and stable


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(list_spaces()), data=st.data())
def test_validate_on_near_miss_archs_raises_only_value_errors(name, data):
    space = get_space(name)
    real = space.sample(1, seed=data.draw(st.integers(0, 1000)))[0]
    position = data.draw(st.integers(0, len(real)))
    mutated = (
        real[:position]
        + data.draw(st.text(max_size=3))
        + real[position + data.draw(st.integers(0, 4)) :]
    )
    try:
        space.validate(mutated)
    except ValueError as err:
        assert str(err)
