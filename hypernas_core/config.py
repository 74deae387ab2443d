"""Frozen configuration dataclasses for the predictor, the hypernetwork and training.

Every field has a type, a default and a comment with its meaning or unit. Configs are plain data:
they are saved as JSON beside the weights of a checkpoint, so `Predictor.load` needs nothing else.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

ENCODINGS = ("cell", "global", "global-pe")
METHODS = ("np", "hypernas-p", "hypernas")
DEVICES = ("auto", "cpu", "cuda", "mps")
AUX_DATASETS = ("digits", "cifar10")


def _check_choice(name: str, value: object, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise ValueError(f"{name} must be one of {', '.join(valid)} (got {value!r})")


def _check_positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{name} must be > 0 (got {value!r})")


@dataclass(frozen=True)
class EncoderConfig:
    """The bidirectional GCN encoder and the regression head."""

    encoding: str = "global"  # "cell" (isolated cell), "global" (z-chaining), "global-pe" (cell PE)
    hidden_dim: int = 144  # width D of every GCN layer (Neural Predictor default)
    num_layers: int = 3  # number of bidirectional GCN layers
    dropout: float = 0.1  # dropout after each GCN layer, in [0, 1)
    head_dim: int = 128  # hidden width of the regression head 144 -> 128 -> 1

    def __post_init__(self) -> None:
        _check_choice("encoding", self.encoding, ENCODINGS)
        _check_positive("hidden_dim", self.hidden_dim)
        _check_positive("num_layers", self.num_layers)
        _check_positive("head_dim", self.head_dim)
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1) (got {self.dropout!r})")


@dataclass(frozen=True)
class HyperNetConfig:
    """The shared hypernetwork and the target network it feeds."""

    enabled: bool = True  # False trains the predictor without the auxiliary task
    hidden_dim: int = 64  # width of the shared MLP trunk that maps node embeddings to weights
    target_width: int = 4  # channels of the target net's first stage (NB201 uses 16)
    aux_dataset: str = "digits"  # image data for the auxiliary task: "digits" or "cifar10"
    aux_root: str | None = None  # folder of a local CIFAR-10 python copy (None: no CIFAR-10)
    aux_download: bool = False  # fetch CIFAR-10 into aux_root when it is missing (needs network)
    aux_batch_size: int = 16  # images per auxiliary step, shared by the archs of the batch
    aux_archs_per_step: int = 0  # archs of the batch run as target nets per step (0: all)
    unlabelled_archs: int = 0  # extra unlabelled archs per step that train the aux task only
    unlabelled_pool: int = 2048  # unlabelled archs sampled once per fit, drawn from per step

    def __post_init__(self) -> None:
        _check_positive("hypernet hidden_dim", self.hidden_dim)
        _check_positive("target_width", self.target_width)
        _check_choice("aux_dataset", self.aux_dataset, AUX_DATASETS)
        _check_positive("aux_batch_size", self.aux_batch_size)
        if self.aux_archs_per_step < 0:
            raise ValueError(f"aux_archs_per_step must be >= 0 (got {self.aux_archs_per_step!r})")
        if self.unlabelled_archs < 0:
            raise ValueError(f"unlabelled_archs must be >= 0 (got {self.unlabelled_archs!r})")
        _check_positive("unlabelled_pool", self.unlabelled_pool)


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation of the predictor (Neural Predictor / PINAT protocol by default)."""

    epochs: int = 300  # passes over the labelled training archs
    batch_size: int = 10  # archs per optimisation step
    lr: float = 1e-3  # Adam learning rate at the start of the cosine schedule
    weight_decay: float = 0.0  # Adam L2 weight decay (not applied to the loss weights u_t)
    q: float = 1.5  # preference coefficient of the adaptive multi-task loss (2 = uncertainty)
    rank_weight: float = 0.0  # weight of the pairwise ranking loss added to the regression MSE
    seed: int = 0  # seeds parameter init, batch order and aux image batches
    device: str = "auto"  # "auto" (cuda, then mps, then cpu), "cpu", "cuda" or "mps"

    def __post_init__(self) -> None:
        _check_positive("epochs", self.epochs)
        _check_positive("batch_size", self.batch_size)
        _check_positive("lr", self.lr)
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0 (got {self.weight_decay!r})")
        if not (math.isfinite(self.rank_weight) and self.rank_weight >= 0):
            raise ValueError(f"rank_weight must be a finite number >= 0 (got {self.rank_weight!r})")
        if not self.q > 1.0:
            raise ValueError(f"q must be > 1 so that L^(q-1) grows with the loss (got {self.q!r})")
        _check_choice("device", self.device, DEVICES)


@dataclass(frozen=True)
class PredictorConfig:
    """Everything that defines a predictor: space, label, encoder, hypernetwork, training."""

    space: str = "nb201"  # search space name, see `hypernas_core.list_spaces()`
    target: str | None = None  # label column (None: the space's default label)
    method: str = "hypernas"  # name of the preset this config came from (informative)
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    hypernet: HyperNetConfig = field(default_factory=HyperNetConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        if self.hypernet.enabled and self.encoder.encoding == "cell":
            raise ValueError(
                "the hypernetwork needs one embedding per cell of the macro network, so it requires "
                f"encoding 'global' or 'global-pe' (got encoding {self.encoder.encoding!r})"
            )

    def to_dict(self) -> dict[str, Any]:
        """Returns the config as nested JSON-serialisable dicts."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PredictorConfig:
        """Rebuilds a config from `to_dict` output; unknown keys are an error."""
        if not isinstance(data, dict):
            raise ValueError(f"config must be a dict (got {type(data).__name__})")
        data = dict(data)
        encoder = EncoderConfig(**_typed_fields(EncoderConfig, data.pop("encoder", {}), "encoder"))
        hypernet = HyperNetConfig(
            **_typed_fields(HyperNetConfig, data.pop("hypernet", {}), "hypernet")
        )
        train = TrainConfig(**_typed_fields(TrainConfig, data.pop("train", {}), "train"))
        top = _typed_fields(cls, data, "config", skip=("encoder", "hypernet", "train"))
        return cls(encoder=encoder, hypernet=hypernet, train=train, **top)


# JSON types accepted for each annotation of the config dataclasses (bool is never a number)
_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "float": (int, float),
    "str": (str,),
    "bool": (bool,),
    "str | None": (str, type(None)),
}


def _typed_fields(
    cls: type, data: object, where: str, skip: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Checks that `data` holds only fields of `cls`, each of its declared JSON type.

    Raises:
        ValueError: naming the section, the field, the value received and what is valid.
    """
    if not isinstance(data, dict):
        raise ValueError(f"config section {where!r} must be a dict (got {type(data).__name__})")
    known = {f.name: f for f in dataclasses.fields(cls) if f.name not in skip}
    unknown = sorted(str(k) for k in data if k not in known)
    if unknown:
        raise ValueError(
            f"config has unknown or missing fields: {where} has {unknown}; valid: {sorted(known)}"
        )
    for name, value in data.items():
        types = _FIELD_TYPES[str(known[name].type)]
        if isinstance(value, bool) and bool not in types or not isinstance(value, types):
            raise ValueError(
                f"config field {where}.{name} must be {' or '.join(t.__name__ for t in types)} "
                f"(got {value!r})"
            )
    return data


def method_config(method: str, **overrides: Any) -> PredictorConfig:
    """Builds the config of a named method.

    Args:
        method: "np" (isolated cell, no hypernetwork), "hypernas-p" (global encoding, no
            hypernetwork) or "hypernas" (global encoding and hypernetwork).
        **overrides: top-level fields (space, target) or sub-config instances / field dicts
            (encoder, hypernet, train) that replace the method's defaults.

    Returns:
        The frozen config.

    Raises:
        ValueError: for an unknown method or invalid field.
    """
    _check_choice("method", method, METHODS)
    encoding = "cell" if method == "np" else "global"
    encoder = EncoderConfig(encoding=encoding)
    hypernet = HyperNetConfig(enabled=method == "hypernas")
    train = TrainConfig()

    def merged(default: Any, value: Any) -> Any:
        if isinstance(value, dict):
            return dataclasses.replace(default, **value)
        return value

    encoder = merged(encoder, overrides.pop("encoder", encoder))
    hypernet = merged(hypernet, overrides.pop("hypernet", hypernet))
    train = merged(train, overrides.pop("train", train))
    return PredictorConfig(
        method=method, encoder=encoder, hypernet=hypernet, train=train, **overrides
    )
