"""Baseline models (registered on import)."""

from biodyn.models.baselines.cnn1d import CNN1d, CNN1dCausal, CNN1dCausalConfig, CNN1dConfig
from biodyn.models.baselines.resnet1d import ResNet1d, ResNet1dConfig
from biodyn.models.baselines.transformer import TransformerClassifier, TransformerConfig

__all__ = ["CNN1d", "CNN1dCausal", "CNN1dCausalConfig", "CNN1dConfig", "ResNet1d", "ResNet1dConfig",
           "TransformerClassifier", "TransformerConfig"]  # fmt: skip
