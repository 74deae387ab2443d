import pytest

from hypernas_core.aux_data import load_aux_dataset, load_cifar10_dataset
from tests.conftest import write_cifar_folder


def test_digits_is_bundled_split_and_standardised():
    data = load_aux_dataset("digits")
    assert data.train_images.shape[1:] == (1, 8, 8) and data.num_classes == 10
    assert len(data.train_labels) + len(data.test_labels) == 1797
    assert abs(float(data.train_images.mean())) < 1e-4
    assert set(data.test_labels.tolist()) == set(range(10))
    assert "digits" in repr(data)


def test_cifar10_reads_a_local_copy(tmp_path):
    write_cifar_folder(tmp_path / "cifar-10-batches-py")
    data = load_aux_dataset("cifar10", tmp_path)
    assert data.train_images.shape == (20, 3, 32, 32)
    assert data.test_images.shape == (4, 3, 32, 32)
    assert data.in_channels == 3


def test_cifar10_missing_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="data_batch_1.*download=True"):
        load_cifar10_dataset(tmp_path)
    with pytest.raises(ValueError, match="needs aux_root"):
        load_aux_dataset("cifar10")
    with pytest.raises(ValueError, match="unknown aux dataset 'svhn'"):
        load_aux_dataset("svhn")
