"""Lagged-delay structural equation models (LD-SEM): simulation with known continuous lags.

The model, in LagGraph orientation (source ``i``, target ``j``)::

    x_j(t) = sum_i A[i, j] x_i(t - tau[i, j]) + e_j(t)

with real (sub-sample) delays ``tau`` and possibly cyclic graphs. A fractional delay is the band-limited
one (a phase ``exp(-2 pi i f tau)`` per frequency, as in :mod:`biodyn.ops.fractional_delay`), so the model
is solved exactly per frequency: ``X(f) = (I - M(f))^-1 E(f)`` with ``M(f)[j, i] = A[i, j] exp(-2 pi i f
tau[i, j])``. The system is stable when the spectral radius of ``M(f)`` stays below 1 at every frequency;
the simulator checks that (on the FFT grid) and rescales or redraws otherwise. The solution is circular,
so a burn-in is simulated on both sides and cropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from biodyn.errors import ConfigError, check_option
from biodyn.types import LagGraph

NOISES = ("laplace", "student_t", "uniform", "gaussian")


@dataclass
class LDSEMConfig:
    n_channels: int = 10
    n_times: int = 10_000
    fs: float = 100.0
    edge_prob: float | None = None  # default: 2 / n_channels (about two parents per channel)
    cyclic: bool = True
    weight_range: tuple[float, float] = (0.3, 0.6)  # |A| drawn uniformly here, random sign
    tau_range_samples: tuple[float, float] = (1.0, 8.0)  # delays in (low, high] samples
    instantaneous_prob: float = 0.0  # share of edges with tau = 0 (acyclic among themselves)
    noise: str = "laplace"
    student_df: float = 3.0
    oscillatory_sources: int = 0  # channels whose innovations are narrow-band (alpha-like) oscillations
    oscillation_hz: float = 10.0
    max_spectral_radius: float = 0.9
    burn_in: int = 1000
    seed: int = 0


@dataclass
class LDSEMSample:
    data: np.ndarray  # (C, T) float64
    graph: LagGraph  # ground truth, tau in seconds
    noise: np.ndarray  # (C, T) the innovations
    spectral_radius: float
    sources: list[str] = field(default_factory=list)  # channels with no parents (the "focal" leads)
    full_data: np.ndarray | None = None  # (C, n) the whole circular solution before cropping
    full_noise: np.ndarray | None = None


def _noise(rng: np.random.Generator, cfg: LDSEMConfig, shape) -> np.ndarray:
    check_option("noise", cfg.noise, NOISES)
    if cfg.noise == "laplace":
        e = rng.laplace(size=shape) / np.sqrt(2)
    elif cfg.noise == "student_t":
        e = rng.standard_t(cfg.student_df, size=shape) / np.sqrt(cfg.student_df / (cfg.student_df - 2))
    elif cfg.noise == "uniform":
        e = rng.uniform(-np.sqrt(3), np.sqrt(3), size=shape)
    else:
        e = rng.standard_normal(shape)
    return e


def random_graph(rng: np.random.Generator, cfg: LDSEMConfig) -> tuple[np.ndarray, np.ndarray]:
    """Weights ``A`` and delays ``tau`` (samples), both ``(C, C)`` ``[source, target]``, no self-loops."""
    c = cfg.n_channels
    p = cfg.edge_prob if cfg.edge_prob is not None else min(1.0, 2.0 / max(c - 1, 1))
    mask = rng.random((c, c)) < p
    np.fill_diagonal(mask, False)
    if not cfg.cyclic:  # only edges that go forward in a random causal order
        order = rng.permutation(c)
        rank = np.empty(c, int)
        rank[order] = np.arange(c)
        mask &= rank[:, None] < rank[None, :]
    lo, hi = cfg.weight_range
    a = np.where(mask, rng.uniform(lo, hi, (c, c)) * rng.choice([-1.0, 1.0], (c, c)), 0.0)
    t_lo, t_hi = cfg.tau_range_samples
    tau = np.where(mask, t_hi - rng.uniform(0, t_hi - t_lo, (c, c)), 0.0)  # in (t_lo, t_hi]
    if cfg.instantaneous_prob > 0:
        order = rng.permutation(c)
        rank = np.empty(c, int)
        rank[order] = np.arange(c)
        inst = mask & (rng.random((c, c)) < cfg.instantaneous_prob) & (rank[:, None] < rank[None, :])
        tau = np.where(inst, 0.0, tau)
    return a, tau


def transfer(a: np.ndarray, tau: np.ndarray, freqs: np.ndarray) -> np.ndarray:
    """``M(f)`` ``(F, C, C)`` with ``M[f, j, i] = A[i, j] exp(-2 pi i f tau[i, j])`` (f in cycles/sample)."""
    phase = np.exp(-2j * np.pi * freqs[:, None, None] * tau[None])
    return np.swapaxes(a[None] * phase, 1, 2)


def spectral_radius(a: np.ndarray, tau: np.ndarray, n_freqs: int = 512) -> float:
    """``max_f rho(M(f))`` on a frequency grid: below 1 means a stable model."""
    f = np.linspace(0, 0.5, n_freqs)
    return float(np.abs(np.linalg.eigvals(transfer(a, tau, f))).max())


def simulate(cfg: LDSEMConfig | None = None, **overrides) -> LDSEMSample:
    """Draw a stable LD-SEM and simulate it; returns data ``(C, T)`` and the true :class:`LagGraph`."""
    cfg = cfg or LDSEMConfig()
    if overrides:
        cfg = LDSEMConfig(**{**cfg.__dict__, **overrides})
    if cfg.n_channels < 2 or cfg.n_times < 16:
        raise ConfigError(f"invalid LD-SEM size C={cfg.n_channels}, T={cfg.n_times}")
    rng = np.random.default_rng(cfg.seed)
    for _ in range(50):
        a, tau = random_graph(rng, cfg)
        rho = spectral_radius(a, tau)
        if rho < cfg.max_spectral_radius:
            break
        if rho > 0:  # shrink towards stability, then check again
            a *= 0.95 * cfg.max_spectral_radius / rho
            rho = spectral_radius(a, tau)
            if (
                rho < cfg.max_spectral_radius
                and np.abs(a[a != 0]).min(initial=1) >= 0.5 * cfg.weight_range[0]
            ):
                break
    else:
        raise ConfigError(f"could not draw a stable LD-SEM with {cfg}")
    c = cfg.n_channels
    n = cfg.n_times + 2 * cfg.burn_in
    n += 1 - n % 2  # odd: no Nyquist bin, whose phase a real FFT cannot shift by a fraction of a sample
    e = _noise(rng, cfg, (c, n))
    if cfg.oscillatory_sources:
        from scipy.signal import lfilter

        r = 0.98  # pole radius of a resonator at oscillation_hz
        w0 = 2 * np.pi * cfg.oscillation_hz / cfg.fs
        for ch in rng.choice(c, min(cfg.oscillatory_sources, c), replace=False):
            osc = lfilter([1.0], [1.0, -2 * r * np.cos(w0), r * r], e[ch])
            e[ch] = osc / osc.std()
    freqs = np.fft.rfftfreq(n)
    m = transfer(a, tau, freqs)
    x_f = np.linalg.solve(np.eye(c)[None] - m, np.fft.rfft(e, axis=1).T[..., None])[..., 0].T  # (C, F)
    x = np.fft.irfft(x_f, n=n, axis=1)
    sl = slice(cfg.burn_in, cfg.burn_in + cfg.n_times)
    names = [f"X{i}" for i in range(c)]
    graph = LagGraph(tau=tau / cfg.fs, weight=a, channels=names, fs=cfg.fs)
    parents = (a != 0).any(axis=0)
    sources = [names[i] for i in range(c) if not parents[i] and (a[i] != 0).any()]
    return LDSEMSample(
        data=x[:, sl],
        graph=graph,
        noise=e[:, sl],
        spectral_radius=rho,
        sources=sources,
        full_data=x,
        full_noise=e,
    )


@dataclass
class DecimatedConfig:
    """A lagged SEM simulated in the time domain at ``factor`` times the read rate with integer delays, then
    read at ``fs`` by decimation (:func:`simulate_decimated`): a generator that shares nothing with the fit's
    FFT fractional delay, so its delays are continuous at the read rate only through the decimation."""

    n_channels: int = 8
    n_times: int = 10_000
    fs: float = 100.0  # the rate the recording is read at
    factor: int = 10  # simulation rate = factor * fs
    anti_alias: bool = True  # decimate through scipy's zero-phase FIR low-pass; False: keep every factor-th
    noise: str = "laplace"
    n_edges: int | None = None  # default: n_channels + 1, one 3-cycle among them
    weight_range: tuple[float, float] = (0.4, 0.7)  # |A|, random sign
    tau_range_s: tuple[float, float] = (0.016, 0.051)  # 1.6-5.1 samples at 100 Hz
    # an AR(2) resonance on each channel's own past (inputs pass through it): the EEG-like case; None: none
    resonance_hz: tuple[float, float] | None = None  # each channel's resonance drawn from this band
    resonance_bandwidth_hz: float = 4.0
    # None: innovations white at the simulation rate; a number: through a causal 2nd-order Butterworth low-pass
    # at this fraction of the read rate's Nyquist. Without anti-alias, white innovations at 10x the rate put
    # 90 % of their power above the read Nyquist and the recording sees only aliases of the lagged paths (no
    # fit recovers them): read such a case with a cutoff (a physiological spectrum decays)
    innovation_cutoff: float | None = None
    burn_in_s: float = 5.0
    seed: int = 0


def _decimated_graph(rng: np.random.Generator, cfg: DecimatedConfig) -> tuple[np.ndarray, np.ndarray]:
    """``(A, tau_hi)`` ``(C, C)`` [source, target]: a 3-cycle plus random edges, integer delays at the
    simulation rate."""
    c = cfg.n_channels
    n_edges = cfg.n_edges if cfg.n_edges is not None else c + 1
    perm = rng.permutation(c)
    edges = {(int(perm[0]), int(perm[1])), (int(perm[1]), int(perm[2])), (int(perm[2]), int(perm[0]))}
    while len(edges) < min(n_edges, c * (c - 1)):
        i, j = (int(v) for v in rng.choice(c, 2, replace=False))
        edges.add((i, j))
    a = np.zeros((c, c))
    tau = np.zeros((c, c), dtype=np.int64)
    fs_hi = cfg.fs * cfg.factor
    lo, hi = (round(t * fs_hi) for t in cfg.tau_range_s)
    for i, j in sorted(edges):
        a[i, j] = rng.uniform(*cfg.weight_range) * rng.choice([-1.0, 1.0])
        tau[i, j] = rng.integers(lo, hi + 1)
    return a, tau


def simulate_decimated(cfg: DecimatedConfig | None = None, **overrides) -> LDSEMSample:
    """Simulate ``x_j[n] = sum_i A[i, j] x_i[n - d_ij] + e_j[n]`` (with ``resonance_hz``: the sum passed through
    channel ``j``'s own AR(2), peak gain 1) by plain recursion at ``factor * fs`` with integer delays ``d_ij``
    (innovations low-passed as ``innovation_cutoff`` says), then read it at ``fs``:
    decimated through a zero-phase anti-alias FIR (``scipy.signal.decimate``) or, with ``anti_alias=False``,
    every ``factor``-th sample (aliasing included). Returns data ``(C, n_times)`` and the true graph (delays
    ``d_ij / (factor fs)`` seconds, continuous at ``fs``; ``noise``: the innovations at the read instants). The
    loop's stability is checked as in :func:`simulate` (weights shrunk until its spectral radius is below 0.9)."""
    from scipy.signal import decimate, lfilter

    cfg = cfg or DecimatedConfig()
    if overrides:
        cfg = DecimatedConfig(**{**cfg.__dict__, **overrides})
    if cfg.n_channels < 3 or cfg.factor < 1:
        raise ConfigError(f"invalid decimated LD-SEM C={cfg.n_channels}, factor={cfg.factor}")
    check_option("noise", cfg.noise, NOISES)
    rng = np.random.default_rng(cfg.seed)
    a, d = _decimated_graph(rng, cfg)
    c, fs_hi = cfg.n_channels, cfg.fs * cfg.factor
    ar = np.zeros((c, 3))
    ar[:, 0] = 1.0
    gain = np.ones(c)
    freqs = np.linspace(0, 0.5, 8192)  # cycles per sample at the simulation rate
    if cfg.resonance_hz is not None:  # x_j = g_j (inputs + e_j) through 1 / (1 + ar1 z^-1 + ar2 z^-2)
        r = np.exp(-np.pi * cfg.resonance_bandwidth_hz / fs_hi)
        w = 2 * np.pi * rng.uniform(*cfg.resonance_hz, c) / fs_hi
        ar[:, 1], ar[:, 2] = -2 * r * np.cos(w), r * r
        z = np.exp(-2j * np.pi * freqs)[None, :]
        resp = 1 / np.abs(ar[:, :1] + ar[:, 1:2] * z + ar[:, 2:] * z**2)  # (C, F)
        gain = 1 / resp.max(1)  # peak gain 1: the loop stays as stable as the graph alone
    # stability of the whole loop: spectral radius of diag(g H_j(f)) M(f) below 0.9, weights shrunk otherwise
    z = np.exp(-2j * np.pi * freqs)[:, None]
    h = gain[None, :] / (ar[None, :, 0] + ar[None, :, 1] * z + ar[None, :, 2] * z**2)  # (F, C)
    rho = float(np.abs(np.linalg.eigvals(h[:, :, None] * transfer(a, d.astype(float), freqs))).max())
    if rho >= 0.9:
        a *= 0.85 / rho
        rho *= 0.85 / rho
    n_hi = (cfg.n_times + 2 * round(cfg.burn_in_s * cfg.fs)) * cfg.factor
    e = _noise(rng, LDSEMConfig(noise=cfg.noise), (c, n_hi))
    if cfg.innovation_cutoff is not None:
        from scipy.signal import butter, sosfilt

        e = sosfilt(butter(2, cfg.innovation_cutoff * cfg.fs / 2, fs=fs_hi, output="sos"), e, axis=1)
    src, tgt = np.nonzero(a)
    dmax = int(d.max())
    x = np.zeros((c, n_hi + dmax))
    e = np.concatenate([np.zeros((c, dmax)), e], 1)
    # block recursion: every delay is >= dmin samples, so dmin samples at a time depend only on the past; the
    # own AR(2) (if any) runs through each block by lfilter with its state carried over
    dmin = int(d[a != 0].min())
    zi = np.zeros((c, 2))
    for n0 in range(dmax, n_hi + dmax, dmin):
        n1 = min(n0 + dmin, n_hi + dmax)
        block = e[:, n0:n1].copy()
        for i, j in zip(src, tgt):
            block[j] += a[i, j] * x[i, n0 - d[i, j] : n1 - d[i, j]]
        if cfg.resonance_hz is not None:
            for j in range(c):
                block[j], zi[j] = lfilter([gain[j]], ar[j], block[j], zi=zi[j])
        x[:, n0:n1] = block
    x = x[:, dmax:]
    if cfg.anti_alias and cfg.factor > 1:
        y = decimate(x, cfg.factor, ftype="fir", axis=1, zero_phase=True)
    else:
        y = x[:, :: cfg.factor]
    burn = round(cfg.burn_in_s * cfg.fs)
    y = y[:, burn : burn + cfg.n_times]
    names = [f"X{i}" for i in range(c)]
    graph = LagGraph(tau=d / fs_hi, weight=a, channels=names, fs=cfg.fs)
    parents = (a != 0).any(axis=0)
    sources = [names[i] for i in range(c) if not parents[i] and (a[i] != 0).any()]
    return LDSEMSample(
        data=y,
        graph=graph,
        noise=e[:, dmax :: cfg.factor][:, burn : burn + cfg.n_times],
        spectral_radius=rho,
        sources=sources,
    )
