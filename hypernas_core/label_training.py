"""Labels from real training: train sampled archs on the aux images and store their accuracy.

Any space whose archs can be built can be labelled this way, including spaces without a benchmark
table (ViT). Each arch is built as its space's target net (the arch itself at a reduced width, the
same network the hypernetwork feeds) but with ordinary learned weights: one parameter tensor per
kernel size holds a kernel for every node of the macro chain, masked to the nodes whose op uses it.
It is trained from scratch with SGD on the aux training images (8x8 digits by default, CIFAR-10
when given), on the GPU when there is one, and its accuracy on the aux test images is the label.
These labels form a *proxy* dataset: cheap, real measurements of how well each arch learns a small
task, not the benchmark's accuracies.

Every result goes into a `LabelStore` (a JSON-lines file in a folder) under a key of the space, the
arch and every training setting, so the work is never repeated: asking again for a labelled arch
returns the stored result.

Shapes:
    C graphs in the chain, N nodes per graph, P_k = Cmax * Cmax * k * k, M images per batch.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from hypernas_core.aux_data import AuxDataset, load_aux_dataset
from hypernas_core.config import AUX_DATASETS, DEVICES
from hypernas_core.search_space import SearchSpace
from hypernas_core.training import resolve_device

logger = logging.getLogger(__name__)

STORE_FILE = "labels.jsonl"
SCORE_COLUMN = "aux_test_acc"  # the label: accuracy (%) on the aux test images
LabelCallback = Callable[[int, int, dict[str, Any]], None]


@dataclass(frozen=True)
class LabelTrainingConfig:
    """How archs are trained for their labels (every field is part of the store key)."""

    epochs: int = 5  # passes over the aux training images
    width: int = 4  # target-net width C (channels of the first stage), as the hypernetwork's
    batch_size: int = 64  # images per SGD step
    lr: float = 0.05  # SGD learning rate at the start of the cosine schedule
    momentum: float = 0.9  # SGD (Nesterov) momentum
    weight_decay: float = 5e-4  # SGD L2 weight decay
    seed: int = 0  # seeds the initial weights and the batch order
    aux_dataset: str = "digits"  # "digits" or "cifar10"
    aux_root: str | None = None  # folder of a local CIFAR-10 python copy
    device: str = "auto"  # "auto", "cpu", "cuda" or "mps"

    def __post_init__(self) -> None:
        for name in ("epochs", "width", "batch_size"):
            if not getattr(self, name) >= 1:
                raise ValueError(f"{name} must be >= 1 (got {getattr(self, name)!r})")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0 (got {self.lr!r})")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must be in [0, 1) (got {self.momentum!r})")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0 (got {self.weight_decay!r})")
        if self.aux_dataset not in AUX_DATASETS:
            raise ValueError(
                f"aux_dataset must be one of {', '.join(AUX_DATASETS)} (got {self.aux_dataset!r})"
            )
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {', '.join(DEVICES)} (got {self.device!r})")

    def key(self) -> dict[str, Any]:
        """The settings that change a label (the device and the CIFAR-10 folder do not)."""
        fields = dataclasses.asdict(self)
        fields.pop("device")
        fields.pop("aux_root")
        return fields


class ArchNetwork(nn.Module):
    """One arch as a trainable network: its space's target net with learned per-node kernels.

    Shapes:
        images (M, Ch, H, W) -> logits (M, K).
    """

    def __init__(self, space: SearchSpace, arch: str, width: int, in_ch: int, classes: int) -> None:
        super().__init__()
        self.chain = space.encode([space.validate(arch)], "global")
        self.target_net = space.build_target_net(width, in_ch, classes)
        cmax = self.target_net.max_channels
        C, N = self.chain.ops.shape[1:]
        self.kernels = nn.ParameterDict(
            {
                str(k): nn.Parameter(torch.empty(1, C, N, cmax * cmax * k * k))
                for k in self.target_net.kernel_sizes_needed()
            }
        )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        cmax = self.target_net.max_channels
        for key, weight in self.kernels.items():
            k = int(key)
            # Kaiming scale for fan-in Cmax * k * k, as the hypernetwork's kernels start
            nn.init.normal_(weight, std=math.sqrt(2.0 / (cmax * k * k)))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        chain = self.chain.to(images.device)
        kernels = {
            int(k): w * (chain.kernel == int(k)).unsqueeze(-1).to(w.dtype)  # (1, C, N, P_k)
            for k, w in self.kernels.items()
        }
        return self.target_net(images, chain, kernels)[:, 0]  # (M, K)


@dataclass
class ArchLabel:
    """The measured label of one arch: `aux_test_acc` (%), with what it cost."""

    arch: str
    aux_test_acc: float
    final_train_loss: float
    seconds: float
    device: str


def train_arch(
    space: SearchSpace,
    arch: str,
    config: LabelTrainingConfig,
    aux: AuxDataset,
    cancel: threading.Event | None = None,
) -> ArchLabel:
    """Trains `arch` from scratch on the aux training images and measures its test accuracy.

    Raises:
        ValueError: for an invalid arch.
        RuntimeError: when `cancel` is set during training.
    """
    arch = space.validate(arch)
    device = resolve_device(config.device)
    start = time.perf_counter()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        net = ArchNetwork(space, arch, config.width, aux.in_channels, aux.num_classes).to(device)
        generator = torch.Generator().manual_seed(config.seed)
    images, labels = aux.train_images.to(device), aux.train_labels.to(device)
    steps_per_epoch = math.ceil(len(labels) / config.batch_size)
    optimiser = torch.optim.SGD(
        net.parameters(),
        lr=config.lr,
        momentum=config.momentum,
        nesterov=config.momentum > 0,
        weight_decay=config.weight_decay,
    )
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimiser, config.epochs * steps_per_epoch
    )

    net.train()
    loss = torch.zeros(())
    for _ in range(config.epochs):
        order = torch.randperm(len(labels), generator=generator).to(device)
        for i in range(steps_per_epoch):
            if cancel is not None and cancel.is_set():
                raise RuntimeError(f"labelling was cancelled while training {arch!r}")
            idx = order[i * config.batch_size : (i + 1) * config.batch_size]
            loss = F.cross_entropy(net(images[idx]), labels[idx])
            loss.backward()
            optimiser.step()
            optimiser.zero_grad(set_to_none=True)
            schedule.step()
        if not torch.isfinite(loss):
            break  # diverged: the accuracy below says how bad it is

    accuracy = _test_accuracy(net, aux, device)
    seconds = time.perf_counter() - start
    return ArchLabel(arch, accuracy, loss.item(), round(seconds, 3), str(device))


@torch.no_grad()
def _test_accuracy(net: ArchNetwork, aux: AuxDataset, device: torch.device) -> float:
    """Accuracy (%) on the aux test images, in batches of 256 (batch norms use batch statistics,
    as everywhere in the target nets)."""
    net.eval()
    correct = 0
    for i in range(0, len(aux.test_labels), 256):
        x = aux.test_images[i : i + 256].to(device)
        y = aux.test_labels[i : i + 256].to(device)
        correct += int((net(x).argmax(-1) == y).sum())
    return 100.0 * correct / len(aux.test_labels)


class LabelStore:
    """Measured labels, one JSON line per trained arch, in `folder/labels.jsonl`.

    A record holds the space, the arch, the label, its cost and the training settings; a result
    is found again when space, arch and every setting in `LabelTrainingConfig.key()` match.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / STORE_FILE
        self._lock = threading.Lock()

    def records(self) -> list[dict[str, Any]]:
        """Every stored record; a malformed line (a crash mid-write) is skipped with a warning."""
        if not self.path.is_file():
            return []
        records = []
        for number, line in enumerate(self.path.read_text().splitlines(), start=1):
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                logger.warning("skipping malformed line %d of %s", number, self.path)
        return records

    def find(self, space: str, config: LabelTrainingConfig) -> dict[str, dict[str, Any]]:
        """Stored records of `space` trained with `config`'s settings, by arch."""
        key = config.key()
        return {
            r["arch"]: r
            for r in self.records()
            if r.get("space") == space and r.get("settings") == key
        }

    def add(self, space: str, config: LabelTrainingConfig, label: ArchLabel) -> dict[str, Any]:
        record = {
            "space": space,
            "settings": config.key(),
            **dataclasses.asdict(label),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            with self.path.open("a") as f:
                f.write(json.dumps(record) + "\n")
        return record

    def table(self, space: str, config: LabelTrainingConfig | None = None) -> pd.DataFrame:
        """arch and aux_test_acc (the label-import schema) of `space`, for one config or all.

        With several settings for one arch (config None), each arch keeps its latest record.
        """
        records = (
            list(self.find(space, config).values())
            if config is not None
            else [r for r in self.records() if r.get("space") == space]
        )
        frame = pd.DataFrame(records, columns=["arch", SCORE_COLUMN, "seconds", "device"])
        return frame.drop_duplicates("arch", keep="last").reset_index(drop=True)


def label_archs(
    space: SearchSpace,
    archs: Sequence[str],
    config: LabelTrainingConfig,
    store: LabelStore,
    on_step: LabelCallback | None = None,
    cancel: threading.Event | None = None,
) -> pd.DataFrame:
    """Labels archs by real training, reusing every result the store already has.

    Args:
        space: the search space.
        archs: archs to label (validated; repeats are labelled once).
        config: training settings.
        store: where results are looked up and added.
        on_step: called after each arch: on_step(done, total, {"arch", "aux_test_acc",
            "seconds", "cached"}).
        cancel: set it to stop after the arch in progress (the finished ones are stored).

    Returns:
        arch, aux_test_acc, seconds, cached (True where the store had it), in the order given.
    """
    canonical = list(dict.fromkeys(space.validate(a) for a in archs))
    known = store.find(space.name, config)
    todo = [a for a in canonical if a not in known]
    aux = (
        load_aux_dataset(config.aux_dataset, config.aux_root)
        if todo
        else None  # nothing to train: do not even load the images
    )
    rows = []
    for done, arch in enumerate(canonical, start=1):
        if cancel is not None and cancel.is_set():
            break
        cached = arch in known
        if cached:
            record = known[arch]
        else:
            try:
                label = train_arch(space, arch, config, aux, cancel)
            except RuntimeError:
                if cancel is not None and cancel.is_set():
                    break  # cancelled mid-arch: nothing is stored for it
                raise
            record = store.add(space.name, config, label)
            logger.info(
                "labelled %s: %.2f%% in %.1f s", arch, record[SCORE_COLUMN], record["seconds"]
            )
        row = {
            "arch": arch,
            SCORE_COLUMN: record[SCORE_COLUMN],
            "seconds": record["seconds"],
            "cached": cached,
        }
        rows.append(row)
        if on_step is not None:
            on_step(done, len(canonical), row)
    return pd.DataFrame(rows, columns=["arch", SCORE_COLUMN, "seconds", "cached"])
