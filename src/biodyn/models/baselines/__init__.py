"""Baseline models (registered on import)."""

from biodyn.models.baselines.bendr import BENDR, BENDRConfig
from biodyn.models.baselines.biot import BIOT, BIOTConfig
from biodyn.models.baselines.cnn1d import CNN1d, CNN1dCausal, CNN1dCausalConfig, CNN1dConfig
from biodyn.models.baselines.eeg_gcnn import EEGGCNN, EEGGCNNConfig

__all__ = ["BENDR", "BIOT", "EEGGCNN", "BENDRConfig", "BIOTConfig", "CNN1d", "CNN1dCausal", "CNN1dCausalConfig",
           "CNN1dConfig", "EEGGCNNConfig"]  # fmt: skip
