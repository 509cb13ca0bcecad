"""EEG-GCNN (Wagh & Varatharajan 2020, "EEG-GCNN: Augmenting Electroencephalogram-based Neurological Disease
Diagnosis using a Domain-guided Graph Convolutional Neural Network").

Written from the paper. Each window becomes a graph whose nodes are the (bipolar) channels:

- node features: log power spectral density in six bands (delta 0.5-4, theta 4-8, alpha 8-12, lower beta
  12-20, higher beta 20-30, gamma 30-50 Hz; bands above Nyquist are dropped), from a Welch estimate;
- edge weights: the mean of a spatial weight (inverse distance between the channels' scalp positions, the
  midpoints of a bipolar pair's electrodes, scaled to a maximum of 1) and a functional weight (magnitude
  squared coherence averaged over 0.5-50 Hz), computed per window. Without channel names the spatial term
  is 1 for every pair (coherence alone);
- graph convolutions (:class:`biodyn.nn.gcn.DenseGCNConv`, ReLU, batch norm), global mean pooling, then a
  small fully connected stack and the head. The paper's exact layer widths are not restated here; ours are
  the config's defaults (tests state the parameter count).

The spectral features need no gradient (as in the paper, they are computed before the network).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from biodyn.models._base import BiodynModel
from biodyn.models._registry import ModelInputs, register_model
from biodyn.nn.gcn import DenseGCNConv, normalized_adjacency

BANDS_HZ: tuple[tuple[float, float], ...] = ((0.5, 4), (4, 8), (8, 12), (12, 20), (20, 30), (30, 50))


@dataclass
class EEGGCNNConfig:
    channels: tuple[str, ...] | None = None  # scalp names of the channels (spatial edge weights)
    gcn_hidden: tuple[int, ...] = (64, 128, 128)  # widths of the graph convolutions
    fc_hidden: tuple[int, ...] = (64, 32)  # fully connected layers after pooling
    segment_s: float = 1.0  # Welch segment length (seconds), 50 % overlap, Hann window
    dropout: float = 0.2


def welch_cross_spectra(x: torch.Tensor, nperseg: int) -> torch.Tensor:
    """Welch cross-spectral matrices ``(B, F, C, C)`` (complex) of ``x`` ``(B, C, T)``: Hann segments of
    ``nperseg`` samples, 50 % overlap, each segment's mean removed (scipy's ``detrend='constant'``)."""
    hop = max(1, nperseg // 2)
    seg = x.double().unfold(-1, nperseg, hop)  # (B, C, S, n)
    seg = seg - seg.mean(-1, keepdim=True)
    win = torch.hann_window(nperseg, periodic=True, dtype=torch.float64, device=x.device)
    z = torch.fft.rfft(seg * win, dim=-1)  # (B, C, S, F)
    return torch.einsum("bisf,bjsf->bfij", z, z.conj()) / seg.shape[2]


def band_log_power(x: torch.Tensor, fs: float, nperseg: int, bands=BANDS_HZ) -> torch.Tensor:
    """``(B, C, n_bands)`` log of the mean Welch PSD in each band (bands wholly above Nyquist dropped)."""
    s = welch_cross_spectra(x, nperseg)
    psd = torch.diagonal(s, dim1=-2, dim2=-1).real  # (B, F, C)
    f = torch.fft.rfftfreq(nperseg, 1 / fs)
    cols = []
    for lo, hi in bands:
        sel = (f >= lo) & (f < hi)
        if sel.any():
            cols.append(psd[:, sel].mean(1))
    return torch.log(torch.stack(cols, -1).clamp_min(1e-20))


def mean_coherence(x: torch.Tensor, fs: float, nperseg: int, band=(0.5, 50.0)) -> torch.Tensor:
    """``(B, C, C)`` magnitude-squared coherence ``|S_ij|^2 / (S_ii S_jj)`` averaged over ``band``."""
    s = welch_cross_spectra(x, nperseg)
    p = torch.diagonal(s, dim1=-2, dim2=-1).real  # (B, F, C)
    coh = s.abs().square() / (p[..., :, None] * p[..., None, :]).clamp_min(1e-30)
    f = torch.fft.rfftfreq(nperseg, 1 / fs)
    sel = (f >= band[0]) & (f <= band[1])
    return coh[:, sel].mean(1)


def spatial_weights(channels) -> np.ndarray:
    """``(C, C)`` inverse distances between the channels' 3-D scalp positions, scaled to max 1, zero diagonal."""
    from biodyn.montage import positions

    pos = positions(list(channels), dim=3)
    d = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
    inv = np.where(d > 0, 1.0 / np.where(d > 0, d, 1.0), 0.0)
    return inv / max(inv.max(), 1e-12)


# channel names give the spatial edge weights their 10-20 positions (without them: coherence alone)
@register_model(
    "eeg_gcnn",
    config=EEGGCNNConfig,
    test_config={"gcn_hidden": (8,), "fc_hidden": (8,)},
    inputs=ModelInputs(modalities=("eeg",), channel_names=True),
)
class EEGGCNN(BiodynModel):
    """EEG-GCNN.

    Shapes: ``x`` ``(B, C, T)`` -> node features ``(B, C, n_bands)`` and edge weights ``(B, C, C)`` ->
    features ``(B, fc_hidden[-1])`` -> logits ``(B, n_outputs)``.
    """

    output = "clip"

    def __init__(
        self,
        n_chans: int,
        n_outputs: int,
        n_times: int | None,
        sfreq: float,
        cfg: EEGGCNNConfig | None = None,
    ):
        c = cfg or EEGGCNNConfig()
        super().__init__(n_chans, n_outputs, n_times, sfreq, c)
        seg = max(8, round(c.segment_s * sfreq))
        self.nperseg = min(n_times, seg) if n_times else seg
        n_bands = sum(1 for lo, _ in BANDS_HZ if lo < sfreq / 2)
        if c.channels is not None:
            if len(c.channels) != n_chans:
                raise ValueError(f"EEGGCNNConfig.channels has {len(c.channels)} names for n_chans={n_chans}")
            spatial = torch.tensor(spatial_weights(c.channels), dtype=torch.float32)
        else:
            spatial = 1.0 - torch.eye(n_chans)
        self.register_buffer("spatial", spatial, persistent=False)
        self.input_norm = nn.BatchNorm1d(n_bands)
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        f = n_bands
        for w in c.gcn_hidden:
            self.convs.append(DenseGCNConv(f, w))
            self.norms.append(nn.BatchNorm1d(w))
            f = w
        fc: list[nn.Module] = []
        for w in c.fc_hidden:
            fc += [nn.Linear(f, w), nn.ReLU(), nn.Dropout(c.dropout)]
            f = w
        self.fc = nn.Sequential(*fc)
        self.head = nn.Linear(f, n_outputs)

    def graph(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Node features ``(B, C, n_bands)`` and edge weights ``(B, C, C)`` of ``x`` ``(B, C, T)``."""
        with torch.no_grad():
            dtype = self.head.weight.dtype
            feats = band_log_power(x, self.sfreq, self.nperseg).to(dtype)
            coh = mean_coherence(x, self.sfreq, self.nperseg, (0.5, min(50.0, self.sfreq / 2))).to(dtype)
            eye = torch.eye(x.shape[1], device=x.device, dtype=torch.bool)
            adj = torch.where(eye, 0.0, 0.5 * (self.spatial.to(coh) + coh))
        return feats, adj

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, T)`` -> ``(B, fc_hidden[-1])``."""
        feats, adj = self.graph(x)
        h = self.input_norm(feats.transpose(1, 2)).transpose(1, 2)  # (B, C, n_bands)
        a = normalized_adjacency(adj)
        for conv, norm in zip(self.convs, self.norms):
            h = torch.relu(norm(conv(h, a).transpose(1, 2)).transpose(1, 2))  # (B, C, w)
        return self.fc(h.mean(dim=1))
