"""HyperNAS: a few-shot neural performance predictor with a global encoding and a hypernetwork.

The public API the app and scripts use; everything else is internal.
"""

from hypernas_core import darts as _darts  # noqa: F401 - registers DARTS
from hypernas_core import nasbench_macro as _macro  # noqa: F401 - registers NAS-Bench-Macro
from hypernas_core import nb101 as _nb101  # noqa: F401 - registers the NB101 space
from hypernas_core import nb201 as _nb201  # noqa: F401 - registers the NB201 space
from hypernas_core import transnas101 as _tnb101  # noqa: F401 - registers TNB-101
from hypernas_core import vit as _vit  # noqa: F401 - registers the ViT space
from hypernas_core.aux_data import AuxDataset, load_aux_dataset
from hypernas_core.config import (
    ENCODINGS,
    METHODS,
    EncoderConfig,
    HyperNetConfig,
    PredictorConfig,
    TrainConfig,
    method_config,
)
from hypernas_core.ensemble import PredictorEnsemble
from hypernas_core.label_import import LabelImport, import_labels, read_label_file
from hypernas_core.label_training import LabelStore, LabelTrainingConfig, label_archs
from hypernas_core.losses import AdaptiveMultiTaskLoss
from hypernas_core.metrics import (
    kendall_tau,
    precision_at_k,
    ranking_report,
    spearman,
    true_ranks_of_predicted_top_k,
)
from hypernas_core.predictor import GeneratedWeights, NodeWeights, Predictor
from hypernas_core.search import SearchConfig, SearchResult, run_search
from hypernas_core.search_space import CellGraph, ChainBatch, SearchSpace, get_space, list_spaces
from hypernas_core.training import History, detected_devices, resolve_device

__version__ = "0.1.0"

__all__ = [
    "ENCODINGS",
    "METHODS",
    "AdaptiveMultiTaskLoss",
    "AuxDataset",
    "CellGraph",
    "ChainBatch",
    "EncoderConfig",
    "GeneratedWeights",
    "History",
    "HyperNetConfig",
    "LabelImport",
    "LabelStore",
    "LabelTrainingConfig",
    "NodeWeights",
    "Predictor",
    "PredictorConfig",
    "PredictorEnsemble",
    "SearchConfig",
    "SearchResult",
    "SearchSpace",
    "TrainConfig",
    "detected_devices",
    "get_space",
    "import_labels",
    "kendall_tau",
    "label_archs",
    "list_spaces",
    "load_aux_dataset",
    "method_config",
    "precision_at_k",
    "ranking_report",
    "read_label_file",
    "resolve_device",
    "run_search",
    "spearman",
    "true_ranks_of_predicted_top_k",
]
