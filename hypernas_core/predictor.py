"""The public predictor: fit on scored archs, then predict, embed, and inspect generated weights.

Checkpoints are a folder with `model.safetensors` (weights) and `predictor.json` (config, label
standardisation, training archs, history, weight schema). Nothing is pickled.

Shapes:
    B archs, D embedding width, P_k generated weights per node of kernel size k.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from hypernas_core.aux_data import AuxDataset, load_aux_dataset
from hypernas_core.config import PredictorConfig
from hypernas_core.model import HyperNASModel
from hypernas_core.search_space import ChainBatch, SearchSpace, get_space
from hypernas_core.training import History, StepCallback, resolve_device, train_model

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
WEIGHTS_FILE = "model.safetensors"
META_FILE = "predictor.json"
MAX_META_BYTES = 64 * 1024 * 1024  # a predictor.json larger than this is refused


@dataclass
class NodeWeights:
    """The kernel the hypernetwork generated for one node.

    Attributes:
        graph: index of the graph in the macro chain. graph_kind: "cell", "reduction", ...
        node: index of the node in its graph. op: the node's op.
        weight: (out, in, k, k) kernel, on the CPU.
    """

    graph: int
    graph_kind: str
    node: int
    op: str
    weight: torch.Tensor


@dataclass
class GeneratedWeights:
    """Every generated kernel of one arch and the aux accuracy of the target net that uses them."""

    arch: str
    nodes: list[NodeWeights]
    aux_accuracy: float
    aux_dataset: str

    def summary(self) -> list[dict[str, Any]]:
        """Per-node statistics (shape, mean, std, L2 norm) as plain records."""
        rows = []
        for nw in self.nodes:
            w = nw.weight
            rows.append(
                {
                    "graph": nw.graph,
                    "graph_kind": nw.graph_kind,
                    "node": nw.node,
                    "op": nw.op,
                    "shape": "x".join(str(s) for s in w.shape),
                    "mean": float(w.mean()),
                    "std": float(w.std()),
                    "l2_norm": float(w.norm()),
                }
            )
        return rows


class Predictor:
    """A HyperNAS (or Neural Predictor) performance predictor for one search space.

    Example:
        >>> predictor = Predictor(method_config("hypernas", train={"epochs": 50}))
        >>> history = predictor.fit(space.sample(78, seed=0))
        >>> scores = predictor.predict(space.enumerate())
    """

    def __init__(self, config: PredictorConfig) -> None:
        self.config = config
        self.space: SearchSpace = get_space(config.space)
        self.target = config.target or self.space.default_label
        if self.target not in self.space.label_columns:
            raise ValueError(
                f"unknown label {self.target!r} for space {config.space!r}; valid: "
                + ", ".join(self.space.label_columns)
            )
        self.model: HyperNASModel | None = None
        self.target_mean = 0.0
        self.target_std = 1.0
        self.train_archs: list[str] = []
        self.history: History | None = None
        self.aux_info: dict[str, Any] = {
            "name": config.hypernet.aux_dataset,
            "in_channels": 1,
            "num_classes": 10,
        }
        self._aux: AuxDataset | None = None

    # training

    def fit(
        self,
        archs: Sequence[str],
        scores: Sequence[float] | np.ndarray | None = None,
        on_step: StepCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> History:
        """Trains a fresh model on scored archs.

        Args:
            archs: training archs in the space's notation.
            scores: their scores; None looks them up in the space's table (column `target`).
            on_step: progress callback, on_step(epoch, epochs, metrics), once per epoch.
            cancel: set it to stop training early; the model keeps the weights reached.

        Returns:
            The training history (also kept as `self.history`).

        Raises:
            ValueError: for invalid archs, mismatched or non-finite scores, or fewer than 2 archs.
        """
        archs = [self.space.validate(a) for a in archs]
        if len(archs) < 2:
            raise ValueError(f"fit needs at least 2 scored archs (got {len(archs)})")
        y = (
            self.space.labels(archs, self.target)
            if scores is None
            else np.asarray(scores, dtype=np.float64)
        )
        if y.shape != (len(archs),):
            raise ValueError(
                f"scores must be one number per arch ({len(archs)}) (got shape {y.shape})"
            )
        if not np.isfinite(y).all():
            raise ValueError(
                f"scores must be finite (got {int((~np.isfinite(y)).sum())} NaN/inf values)"
            )

        self.target_mean = float(y.mean())
        self.target_std = float(y.std()) or 1.0
        targets = torch.as_tensor((y - self.target_mean) / self.target_std, dtype=torch.float32)
        aux = self._aux_dataset() if self.config.hypernet.enabled else None
        chain = self.space.encode(archs, self.config.encoder.encoding)
        unlabelled = self._unlabelled_pool(archs)

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.config.train.seed)
            self.model = self._build_model()
            logger.info("training %s on %d archs", self.config.method, len(archs))
            self.history = train_model(
                self.model,
                chain,
                targets,
                self.config.train,
                aux,
                on_step=on_step,
                cancel=cancel,
                unlabelled=unlabelled,
            )
        self.train_archs = archs
        return self.history

    def _unlabelled_pool(self, archs: Sequence[str]) -> ChainBatch | None:
        """The encoded unlabelled archs of the aux task, or None when the config uses none.

        `hypernet.unlabelled_pool` archs sampled from the space with the training seed + 1, the
        training archs left out; their labels are never read.
        """
        hn = self.config.hypernet
        if not (hn.enabled and hn.unlabelled_archs):
            return None
        size = self.space.size
        n = hn.unlabelled_pool if size is None else min(hn.unlabelled_pool + len(archs), size)
        taken = set(archs)
        pool = [a for a in self.space.sample(n, seed=self.config.train.seed + 1) if a not in taken]
        pool = pool[: hn.unlabelled_pool]
        if not pool:
            raise ValueError(
                f"space {self.space.name!r} has no arch left outside the {len(archs)} training "
                "archs to use as unlabelled aux archs; set hypernet.unlabelled_archs to 0"
            )
        return self.space.encode(pool, self.config.encoder.encoding)

    def _build_model(self) -> HyperNASModel:
        return HyperNASModel(
            self.config, self.space, self.aux_info["in_channels"], self.aux_info["num_classes"]
        )

    def _aux_dataset(self) -> AuxDataset:
        if self._aux is None:
            hn = self.config.hypernet
            self._aux = load_aux_dataset(hn.aux_dataset, hn.aux_root, download=hn.aux_download)
            self.aux_info = {
                "name": self._aux.name,
                "in_channels": self._aux.in_channels,
                "num_classes": self._aux.num_classes,
            }
        return self._aux

    def _require_model(self) -> HyperNASModel:
        if self.model is None:
            raise ValueError(
                "the predictor is not trained yet; call fit() or Predictor.load() first"
            )
        return self.model

    @property
    def device(self) -> torch.device:
        return next(self._require_model().parameters()).device

    # inference

    @torch.inference_mode()
    def predict(self, archs: Sequence[str], batch_size: int = 4096) -> torch.Tensor:
        """Predicted scores in the label's units.

        Archs are encoded `batch_size` at a time, so memory stays flat in the number of archs
        (the encoded graphs of a whole space would take about 2 KB per arch with the global
        encoding).

        Returns:
            (B,) float32 tensor on the CPU.
        """
        model = self._require_model().eval()
        archs = list(archs)
        encoding = self.config.encoder.encoding
        parts = [
            model(self.space.encode(archs[i : i + batch_size], encoding).to(self.device))
            .score.float()
            .cpu()
            for i in range(0, len(archs), batch_size)
        ]
        scores = torch.cat(parts) if parts else torch.zeros(0)
        return scores * self.target_std + self.target_mean

    @torch.inference_mode()
    def embed(self, archs: Sequence[str], batch_size: int = 4096) -> torch.Tensor:
        """Global embeddings (mean of the graph embeddings), e.g. for UMAP.

        Returns:
            (B, D) float32 tensor on the CPU.
        """
        model = self._require_model().eval()
        archs = list(archs)
        encoding = self.config.encoder.encoding
        parts = [
            model.encoder(
                self.space.encode(archs[i : i + batch_size], encoding).to(self.device)
            ).global_embedding.cpu()
            for i in range(0, len(archs), batch_size)
        ]
        return torch.cat(parts) if parts else torch.zeros(0, self.config.encoder.hidden_dim)

    @torch.inference_mode()
    def generate_weights(self, arch: str, aux_images: int = 512) -> GeneratedWeights:
        """The kernels the hypernetwork generates for every node of `arch`, and the aux accuracy of
        the target net running on them (on up to `aux_images` held-out aux test images).

        Raises:
            ValueError: when the predictor has no hypernetwork or `arch` is invalid.
        """
        model = self._require_model().eval()
        if not model.has_hypernet:
            raise ValueError(
                f"method {self.config.method!r} has no hypernetwork; train 'hypernas' to see weights"
            )
        arch = self.space.validate(arch)
        chain = self.space.encode([arch], self.config.encoder.encoding).to(self.device)
        kernels = model.generate(chain, model.encoder(chain))
        graphs = self.space.macro_graphs(arch)

        nodes = []
        kernel = chain.kernel[0].cpu()
        for c, n in zip(*torch.nonzero(kernel, as_tuple=True), strict=True):
            c, n, k = int(c), int(n), int(kernel[c, n])
            out_ch, in_ch, _, _ = model.target_net.kernel_shape(c, n, k)
            flat = kernels[k][0, c, n].float().cpu()
            weight = flat.view(model.hypernet.max_channels, model.hypernet.max_channels, k, k)[
                :out_ch, :in_ch
            ]
            nodes.append(NodeWeights(c, graphs[c].kind, n, graphs[c].ops[n], weight.clone()))

        aux = self._aux_dataset()
        images = aux.test_images[:aux_images].to(self.device)
        labels = aux.test_labels[:aux_images].to(self.device)
        logits = model.target_net(images, chain, kernels)  # (M, 1, K)
        accuracy = float((logits[:, 0].argmax(-1) == labels).float().mean())
        return GeneratedWeights(arch, nodes, accuracy, aux.name)

    # persistence

    def save(self, path: str | Path) -> Path:
        """Writes `model.safetensors` and `predictor.json` into the folder `path`."""
        model = self._require_model()
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        meta = {
            "format_version": FORMAT_VERSION,
            "config": self.config.to_dict(),
            "target": self.target,
            "target_mean": self.target_mean,
            "target_std": self.target_std,
            "aux": self.aux_info,
            "train_archs": self.train_archs,
            "history": self.history.to_dict() if self.history else None,
            "schema": {
                k: {"shape": list(v.shape), "dtype": str(v.dtype)} for k, v in state.items()
            },
            "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        # write to temporary names first, so a crash never leaves a half-written checkpoint
        tmp_weights, tmp_meta = folder / (WEIGHTS_FILE + ".tmp"), folder / (META_FILE + ".tmp")
        save_file(state, str(tmp_weights))
        tmp_meta.write_text(json.dumps(meta))
        tmp_weights.replace(folder / WEIGHTS_FILE)
        tmp_meta.replace(folder / META_FILE)
        return folder

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu") -> Predictor:
        """Loads a folder written by `save`.

        Only `predictor.json` (plain JSON) and `model.safetensors` are read; nothing is unpickled.
        Every metadata field is type-checked, and the names, shapes and dtypes in the safetensors
        header are checked against the model's schema before any tensor is read.

        Raises:
            FileNotFoundError: when the folder or one of its two files is missing.
            ValueError: for a file instead of a folder (e.g. a pickled .pt), or metadata or
                weights that do not match the model's schema.
        """
        folder = Path(path)
        if folder.is_file():
            raise ValueError(
                f"a checkpoint is a folder holding {META_FILE} and {WEIGHTS_FILE} (got the file "
                f"{str(folder)!r}); pickled checkpoints (.pt, .pth, .pkl, .ckpt) are refused"
            )
        meta_path, weights_path = folder / META_FILE, folder / WEIGHTS_FILE
        for p in (meta_path, weights_path):
            if not p.is_file():
                raise FileNotFoundError(
                    f"checkpoint folder {folder} has no {p.name} (expected {META_FILE} and {WEIGHTS_FILE})"
                )
        if meta_path.stat().st_size > MAX_META_BYTES:
            raise ValueError(
                f"{meta_path} is larger than {MAX_META_BYTES} bytes; refusing to read it"
            )
        try:
            meta = json.loads(meta_path.read_bytes().decode("utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as err:
            raise ValueError(f"{meta_path} is not valid JSON: {err}") from err
        if not isinstance(meta, dict) or meta.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{meta_path} is not a version-{FORMAT_VERSION} HyperNAS checkpoint")
        _check_meta(meta, meta_path)

        predictor = cls(PredictorConfig.from_dict(meta["config"]))
        predictor.target = meta["target"]
        predictor.target_mean = float(meta["target_mean"])
        predictor.target_std = float(meta["target_std"])
        predictor.aux_info = dict(meta["aux"])
        predictor.train_archs = [predictor.space.validate(a) for a in meta["train_archs"]]
        try:
            predictor.history = History.from_dict(meta["history"]) if meta["history"] else None
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise ValueError(f"{meta_path}: the training history is malformed ({err!r})") from err
        model = predictor._build_model()
        expected = model.state_dict()

        _check_header(_safetensors_header(weights_path), expected, weights_path)
        try:
            state = load_file(str(weights_path))
        except Exception as err:  # safetensors raises its own error types for corrupt files
            raise ValueError(f"{weights_path} is not a valid safetensors file: {err}") from err
        _check_state(state, expected, weights_path)
        model.load_state_dict(state, strict=True)
        predictor.model = model.to(resolve_device(device)).eval()
        return predictor

    def __repr__(self) -> str:
        trained = (
            f"trained on {len(self.train_archs)} archs" if self.model is not None else "untrained"
        )
        return f"Predictor(space={self.config.space!r}, method={self.config.method!r}, target={self.target!r}, {trained})"


def _check_state(
    state: dict[str, torch.Tensor], expected: dict[str, torch.Tensor], source: Path
) -> None:
    """Checks names, shapes and dtypes of loaded weights against the model's own."""
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    if missing or extra:
        raise ValueError(
            f"{source} does not match the model: missing {missing[:5]}, unexpected {extra[:5]}"
        )
    for name, tensor in state.items():
        want = expected[name]
        if tensor.shape != want.shape or tensor.dtype != want.dtype:
            raise ValueError(
                f"{source}: weight {name!r} has shape {tuple(tensor.shape)} {tensor.dtype}, "
                f"expected {tuple(want.shape)} {want.dtype}"
            )


# the metadata fields of a checkpoint and the JSON types each must have
_META_TYPES: dict[str, tuple[type, ...]] = {
    "config": (dict,),
    "target": (str,),
    "target_mean": (int, float),
    "target_std": (int, float),
    "aux": (dict,),
    "train_archs": (list,),
    "history": (dict, type(None)),
}
MAX_HEADER_BYTES = 16 * 1024 * 1024  # a safetensors header larger than this is refused
_SAFETENSORS_DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "BOOL": torch.bool,
}


def _check_meta(meta: dict[str, Any], source: Path) -> None:
    """Checks the type of every metadata field, so a forged file fails with a clear message."""
    for key, types in _META_TYPES.items():
        if key not in meta:
            raise ValueError(f"{source} lacks the field {key!r}")
        value = meta[key]
        if isinstance(value, bool) or not isinstance(value, types):
            raise ValueError(
                f"{source}: field {key!r} must be {' or '.join(t.__name__ for t in types)} "
                f"(got {type(value).__name__})"
            )
    for key in ("target_mean", "target_std"):
        if not np.isfinite(meta[key]):
            raise ValueError(f"{source}: {key} must be finite (got {meta[key]!r})")
    if not meta["target_std"] > 0:
        raise ValueError(f"{source}: target_std must be > 0 (got {meta['target_std']!r})")
    if not all(isinstance(a, str) for a in meta["train_archs"]):
        raise ValueError(f"{source}: train_archs must be a list of arch strings")
    aux = meta["aux"]
    for key, low, high in (("in_channels", 1, 4), ("num_classes", 2, 1000)):
        value = aux.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(
                f"{source}: aux {key} must be an integer in {low}..{high} (got {value!r})"
            )


def _safetensors_header(path: Path) -> dict[str, Any]:
    """The JSON header of a safetensors file, read without touching the tensor data.

    Raises:
        ValueError: when the file does not start with a sane safetensors header.
    """
    size = path.stat().st_size
    with path.open("rb") as f:
        prefix = f.read(8)
        if len(prefix) < 8:
            raise ValueError(f"{path} is not a valid safetensors file: it has {size} bytes")
        length = int.from_bytes(prefix, "little")
        if not 2 <= length <= min(MAX_HEADER_BYTES, size - 8):
            raise ValueError(
                f"{path} is not a valid safetensors file: header length {length} does not fit "
                f"a {size}-byte file (limit {MAX_HEADER_BYTES} bytes)"
            )
        raw = f.read(length)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as err:
        raise ValueError(f"{path} is not a valid safetensors file: bad header ({err})") from None
    if not isinstance(header, dict):
        raise ValueError(f"{path} is not a valid safetensors file: its header is not an object")
    header.pop("__metadata__", None)
    return header


def _check_header(header: dict[str, Any], expected: dict[str, torch.Tensor], source: Path) -> None:
    """Checks tensor names, dtypes and shapes declared in the header against the model's."""
    missing = sorted(set(expected) - set(header))
    extra = sorted(set(header) - set(expected))
    if missing or extra:
        raise ValueError(
            f"{source} does not match the model: missing {missing[:5]}, unexpected {extra[:5]}"
        )
    for name, entry in header.items():
        want = expected[name]
        dtype = entry.get("dtype") if isinstance(entry, dict) else None
        shape = entry.get("shape") if isinstance(entry, dict) else None
        if _SAFETENSORS_DTYPES.get(dtype) != want.dtype or shape != list(want.shape):
            raise ValueError(
                f"{source}: weight {name!r} is declared as {shape} {dtype}, "
                f"expected {list(want.shape)} {want.dtype}"
            )
