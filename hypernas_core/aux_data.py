"""Image data for the hypernetwork's auxiliary task.

- `digits`: scikit-learn's bundled 8x8 handwritten digits (1,797 images, 10 classes). It ships
  inside scikit-learn, so it works offline and trains fast on a CPU.
- `cifar10`: CIFAR-10 from a local copy in its official python format (the folder
  `cifar-10-batches-py` with `data_batch_1..5` and `test_batch`). It is downloaded only when
  `download=True` is passed and the network allows it.

Shapes:
    M images, Ch channels, H x W pixels. Images are float32, standardised per channel.
"""

from __future__ import annotations

import logging
import pickle
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hypernas_core.config import AUX_DATASETS

logger = logging.getLogger(__name__)

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_FOLDER = "cifar-10-batches-py"


@dataclass(frozen=True)
class AuxDataset:
    """Train and test images of the auxiliary task.

    Attributes:
        train_images: (M_train, Ch, H, W) float32. train_labels: (M_train,) long.
        test_images: (M_test, Ch, H, W) float32. test_labels: (M_test,) long.
    """

    name: str
    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    num_classes: int

    @property
    def in_channels(self) -> int:
        return self.train_images.shape[1]

    def __repr__(self) -> str:
        shape = tuple(self.train_images.shape[1:])
        return (
            f"AuxDataset({self.name!r}, train={len(self.train_labels)}, test={len(self.test_labels)}, "
            f"image={shape}, classes={self.num_classes})"
        )


def _standardise(train: np.ndarray, test: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel standardisation with train statistics; (M, Ch, H, W) arrays in."""
    mean = train.mean(axis=(0, 2, 3), keepdims=True)
    std = train.std(axis=(0, 2, 3), keepdims=True) + 1e-6
    return (
        torch.from_numpy(((train - mean) / std).astype(np.float32)),
        torch.from_numpy(((test - mean) / std).astype(np.float32)),
    )


def load_digits_dataset(test_fraction: float = 0.2, seed: int = 0) -> AuxDataset:
    """scikit-learn's 8x8 digits with a stratified, seeded train/test split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = digits.images.astype(np.float32)[:, None]  # (1797, 1, 8, 8)
    x_tr, x_te, y_tr, y_te = train_test_split(
        images, digits.target, test_size=test_fraction, random_state=seed, stratify=digits.target
    )
    train, test = _standardise(x_tr, x_te)
    return AuxDataset(
        "digits", train, torch.as_tensor(y_tr), test, torch.as_tensor(y_te), num_classes=10
    )


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    # NOTE: the official CIFAR-10 python format is a pickle. It is only read from a folder the
    # user points to (their own copy); checkpoints of this project never use pickle.
    with path.open("rb") as f:
        batch = pickle.load(f, encoding="bytes")  # noqa: S301 - user's local dataset copy
    data = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
    return data, np.asarray(batch[b"labels"], dtype=np.int64)


def load_cifar10_dataset(root: str | Path, download: bool = False) -> AuxDataset:
    """CIFAR-10 from `root` (the folder that holds, or is, `cifar-10-batches-py`).

    Args:
        root: a local folder.
        download: fetch the official archive into `root` when it is missing (needs network).

    Raises:
        FileNotFoundError: when the files are missing and no download was asked for or possible.
    """
    root = Path(root).expanduser()
    folder = root if (root / "data_batch_1").exists() else root / CIFAR10_FOLDER
    if not (folder / "data_batch_1").exists() and download:
        _download_cifar10(root)
        folder = root / CIFAR10_FOLDER
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    missing = [n for n in names if not (folder / n).exists()]
    if missing:
        raise FileNotFoundError(
            f"CIFAR-10 python files missing in {folder} ({', '.join(missing)}); give the folder "
            f"of a local '{CIFAR10_FOLDER}' copy, or pass download=True on a machine with network"
        )

    parts = [_read_cifar_batch(folder / n) for n in names[:5]]
    x_tr = np.concatenate([p[0] for p in parts]).astype(np.float32) / 255.0
    y_tr = np.concatenate([p[1] for p in parts])
    x_te, y_te = _read_cifar_batch(folder / "test_batch")
    train, test = _standardise(x_tr, x_te.astype(np.float32) / 255.0)
    return AuxDataset("cifar10", train, torch.as_tensor(y_tr), test, torch.as_tensor(y_te), 10)


def _download_cifar10(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    archive = root / "cifar-10-python.tar.gz"
    logger.info("downloading CIFAR-10 from %s to %s", CIFAR10_URL, archive)
    try:
        urllib.request.urlretrieve(CIFAR10_URL, archive)  # noqa: S310 - fixed https URL
    except OSError as err:
        raise FileNotFoundError(f"could not download CIFAR-10 from {CIFAR10_URL}: {err}") from err
    with tarfile.open(archive) as tar:
        tar.extractall(root, filter="data")


def load_aux_dataset(
    name: str, root: str | Path | None = None, download: bool = False
) -> AuxDataset:
    """Loads the aux dataset called `name` ("digits" or "cifar10").

    Raises:
        ValueError: for an unknown name, or cifar10 without a `root`.
    """
    if name == "digits":
        return load_digits_dataset()
    if name == "cifar10":
        if root is None:
            raise ValueError(
                "aux dataset 'cifar10' needs aux_root, the folder of a local copy (got None)"
            )
        return load_cifar10_dataset(root, download=download)
    raise ValueError(f"unknown aux dataset {name!r}; valid: {', '.join(AUX_DATASETS)}")
