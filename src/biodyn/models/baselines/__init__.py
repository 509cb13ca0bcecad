"""Baseline models (registered on import)."""

from biodyn.models.baselines.cnn1d import CNN1d, CNN1dCausal, CNN1dCausalConfig, CNN1dConfig

__all__ = ["CNN1d", "CNN1dCausal", "CNN1dCausalConfig", "CNN1dConfig"]
