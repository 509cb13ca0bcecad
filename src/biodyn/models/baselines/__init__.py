"""Baseline models (registered on import)."""

from biodyn.models.baselines.bendr import BENDR, BENDRConfig
from biodyn.models.baselines.biot import BIOT, BIOTConfig
from biodyn.models.baselines.cnn1d import CNN1d, CNN1dCausal, CNN1dCausalConfig, CNN1dConfig
from biodyn.models.baselines.eeg_gcnn import EEGGCNN, EEGGCNNConfig
from biodyn.models.baselines.resnet1d import ResNet1d, ResNet1dConfig
from biodyn.models.baselines.transformer import TransformerClassifier, TransformerConfig

__all__ = [
    "BENDR",
    "BIOT",
    "EEGGCNN",
    "BENDRConfig",
    "BIOTConfig",
    "CNN1d",
    "CNN1dCausal",
    "CNN1dCausalConfig",
    "CNN1dConfig",
    "EEGGCNNConfig",
    "ResNet1d",
    "ResNet1dConfig",
    "TransformerClassifier",
    "TransformerConfig",
]
