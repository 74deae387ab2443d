import pytest
import torch

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
