"""Training harness: one Trainer for every model, checkpoints, few-shot protocol."""

from biodyn.errors import CheckpointError
from biodyn.train.checkpoint import load_checkpoint, save_checkpoint
from biodyn.train.config import DataConfig, ExperimentConfig, FewShotConfig, ModelConfig, TrainConfig
from biodyn.train.data import GroupedBatchSampler, GroupedDataset, ResumableBatchSampler, TensorDictDataset
from biodyn.train.nan_guard import NonFiniteError
from biodyn.train.optim import lr_at, param_groups
from biodyn.train.tasks import get_task
from biodyn.train.trainer import Trainer

__all__ = [
    "CheckpointError",
    "DataConfig",
    "ExperimentConfig",
    "FewShotConfig",
    "GroupedBatchSampler",
    "GroupedDataset",
    "ModelConfig",
    "NonFiniteError",
    "ResumableBatchSampler",
    "TensorDictDataset",
    "TrainConfig",
    "Trainer",
    "get_task",
    "load_checkpoint",
    "lr_at",
    "param_groups",
    "save_checkpoint",
]
