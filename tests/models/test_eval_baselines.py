"""BIOT, BENDR and EEG-GCNN: parameter counts, their layers against references and independent code."""

import numpy as np
import pytest
import scipy.signal
import torch

from biodyn.datasets.chbmit import CHANNELS as CHB
from biodyn.models import create_model
from biodyn.models.baselines.eeg_gcnn import (
    band_log_power,
    mean_coherence,
    spatial_weights,
    welch_cross_spectra,
)
from biodyn.nn.gcn import normalized_adjacency
from biodyn.nn.linear_attention import linear_attention, linear_attention_reference


def _n(m, head=False):
    return sum(p.numel() for n, p in m.named_parameters() if head or not n.startswith("head."))


def test_biot_paper_size_parameter_count():
    # emb 256, 8 heads, depth 4, 1 s STFT frames at 200 Hz (101 bins), 64 channel embeddings
    m = create_model("biot", n_chans=18, n_outputs=2, n_times=2000, sfreq=200.0)
    assert _n(m) == 3_198_464  # "about 3.2M" (Yang et al. 2023)


def test_eeg_gcnn_parameter_count():
    m = create_model("eeg_gcnn", n_chans=18, n_outputs=2, n_times=2560, sfreq=256.0, channels=CHB)
    assert _n(m) == 36_268


@pytest.mark.slow
def test_bendr_paper_size_parameter_count():
    m = create_model("bendr", n_chans=20, n_outputs=2, n_times=2560, sfreq=256.0)
    assert _n(m) == 155_877_433  # ~156M with 20 input channels (encoder 512, contextualiser 1536 x 8 layers)
    assert abs(m.encode(torch.zeros(1, 20, 2560)).shape[-1] - 2560 / 96) < 2  # ~one vector per 96 samples


@pytest.mark.parametrize("n", [1, 7, 33])
def test_linear_attention_matches_explicit_matrix(n):
    g = torch.Generator().manual_seed(n)
    q, k, v = (torch.randn(2, 3, n, 5, generator=g, dtype=torch.float64) for _ in range(3))
    torch.testing.assert_close(
        linear_attention(q, k, v), linear_attention_reference(q, k, v), rtol=1e-12, atol=1e-12
    )


def test_biot_tokens_are_stft_magnitudes():
    m = create_model("biot", n_chans=2, n_outputs=3, n_times=400, sfreq=100.0)
    x = torch.randn(1, 2, 400)
    ref = (
        torch.stft(x[0], m.n_fft, m.hop, window=torch.hann_window(m.n_fft), center=False, return_complex=True)
        .abs()
        .transpose(1, 2)
    )
    torch.testing.assert_close(m.tokens(x)[0], ref, rtol=1e-5, atol=1e-5)
    assert m.tokens(x).shape[2] == m.n_frames == 7


def test_welch_band_power_and_coherence_match_scipy():
    rng = np.random.default_rng(0)
    fs, n = 128.0, 1024
    x = rng.standard_normal((1, 3, n))
    x[0, 1] += 0.8 * x[0, 0]  # coherent pair
    xt = torch.from_numpy(x)
    f, pxx = scipy.signal.welch(
        x[0], fs, nperseg=128, noverlap=64, window="hann", detrend="constant", scaling="spectrum"
    )
    s = welch_cross_spectra(xt, 128)
    psd = torch.diagonal(s[0], dim1=-2, dim2=-1).real.numpy().T  # (C, F)
    ratio = psd[:, 1:-1] / pxx[:, 1:-1]  # scipy doubles one-sided bins and scales by the window: a constant
    np.testing.assert_allclose(ratio, ratio[0, 0], rtol=1e-10)
    sel = (f >= 8) & (f < 12)
    want = np.log(pxx[:, sel].mean(1) * ratio[0, 0])
    got = band_log_power(xt, fs, 128)[0].numpy()
    np.testing.assert_allclose(got[:, 2], want, rtol=1e-10)
    _, coh = scipy.signal.coherence(x[0, 0], x[0, 1], fs, nperseg=128, noverlap=64, window="hann")
    band = (f >= 0.5) & (f <= 50)
    np.testing.assert_allclose(mean_coherence(xt, fs, 128)[0, 0, 1].item(), coh[band].mean(), rtol=1e-10)
    assert mean_coherence(xt, fs, 128)[0, 0, 1] > 0.3 > mean_coherence(xt, fs, 128)[0, 0, 2]


def test_spatial_weights_and_gcn_normalisation():
    w = spatial_weights(("Fp1-F7", "F7-T7", "O1-O2"))
    assert w[0, 1] == 1.0 and w[0, 2] < w[0, 1] and np.allclose(w, w.T) and np.all(np.diag(w) == 0)
    adj = torch.tensor([[[0.0, 1.0], [1.0, 0.0]]])
    # A + I = all ones, degrees 2: every entry 1/2
    torch.testing.assert_close(normalized_adjacency(adj), torch.full((1, 2, 2), 0.5))


@pytest.mark.parametrize("name", ["biot", "eeg_gcnn"])
def test_linear_probe_trains_only_the_head(name):
    m = create_model(name, n_chans=4, n_outputs=2, n_times=512, sfreq=128.0)
    m.freeze_features()
    m.train()
    m(torch.randn(3, 4, 512)).sum().backward()
    trained = {n for n, p in m.named_parameters() if p.grad is not None}
    assert trained and all(n.startswith("head.") for n in trained)
