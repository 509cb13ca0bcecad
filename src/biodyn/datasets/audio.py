"""Labelled audio clips -> log-mel spectrogram sequences ``(T_frames, n_mels)`` (PRISM's audio modality).

Two layouts are read:

* **FSDD** (Free Spoken Digit Dataset; Jackson et al.): ``{label}_{speaker}_{rep}.wav`` in the folder or
  its ``recordings/`` subfolder. The dataset's official split: repetitions 0-4 are the test set, 5-49 the
  training set; :func:`load_audio` takes validation from the training part (repetitions 5-9).
* **Class subfolders**: ``<class>/*.wav``, optionally under ``train/`` and ``test/``. With those two folders
  ``test/`` is the test set and every 10th file of each class under ``train/`` (sorted by name: the 10th,
  20th, ...) the validation set. Without them every 5th file of each class (sorted by name) is the test set
  and the next one after each test file the validation set; the rest is training.

Features: Hann-window STFT (``n_fft`` 256 = 32 ms and ``hop`` 160 = 20 ms at 8 kHz), power spectrum, the mel
filter bank of librosa (``librosa.filters.mel``, Slaney-normalised), ``log(mel + 1e-6)``; each clip is
cropped or padded (with the log floor, i.e. silence) to ``n_frames`` frames, centred when cropped.
:func:`synthetic_mel` makes random class-templated "mel patch" sequences for smoke runs (no files; it is not
audio).

No torch here: arrays are numpy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from biodyn.errors import ConfigError, RecordingError

FSDD_NAME = re.compile(r"^(?P<label>[^_]+)_(?P<speaker>[^_]+)_(?P<rep>\d+)\.wav$", re.IGNORECASE)
LOG_FLOOR = 1e-6


@dataclass
class MelConfig:
    sample_rate: int = 8000  # clips at another rate are resampled (polyphase) to this one
    n_fft: int = 256  # 32 ms at 8 kHz
    hop: int = 160  # 20 ms
    n_mels: int = 40
    n_frames: int = 50  # 1.0 s of 20 ms frames per clip (FSDD: 0.14-2.28 s, mean 0.44 s)
    fmin: float = 0.0
    fmax: float | None = None  # None = sample_rate / 2


@dataclass
class AudioClip:
    path: Path
    label: str
    split: str  # train | val | test
    speaker: str | None = None


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """Mono float32 samples in [-1, 1] and the sample rate; a multi-channel file is averaged over channels."""
    import soundfile as sf

    path = Path(path)
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as e:  # soundfile raises LibsndfileError / RuntimeError for bad headers
        raise RecordingError(path, f"unreadable WAV: {e}") from None
    if data.shape[0] == 0:
        raise RecordingError(path, "empty WAV: 0 samples")
    return data.mean(axis=1), int(sr)


def mel_filterbank(cfg: MelConfig) -> np.ndarray:
    """``(n_mels, n_fft // 2 + 1)`` mel filter bank from librosa."""
    try:
        from librosa.filters import mel
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the audio modality needs librosa's mel filter bank: pip install 'biodyn[audio]'"
        ) from e
    return mel(sr=cfg.sample_rate, n_fft=cfg.n_fft, n_mels=cfg.n_mels, fmin=cfg.fmin, fmax=cfg.fmax).astype(
        np.float32
    )


def log_mel(samples: np.ndarray, cfg: MelConfig, fb: np.ndarray | None = None) -> np.ndarray:
    """``(n_samples,)`` -> ``(n_frames_of_clip, n_mels)`` log-mel frames (frame ``i`` starts at ``i * hop``;
    a clip shorter than ``n_fft`` is zero-padded to one frame)."""
    fb = mel_filterbank(cfg) if fb is None else fb
    x = np.asarray(samples, dtype=np.float32)
    if len(x) < cfg.n_fft:
        x = np.pad(x, (0, cfg.n_fft - len(x)))
    n = 1 + (len(x) - cfg.n_fft) // cfg.hop
    idx = np.arange(cfg.n_fft)[None, :] + cfg.hop * np.arange(n)[:, None]
    frames = x[idx] * np.hanning(cfg.n_fft + 1)[:-1].astype(np.float32)  # periodic Hann
    power = np.abs(np.fft.rfft(frames, axis=-1)) ** 2  # (n, n_fft/2 + 1)
    return np.log(power @ fb.T + LOG_FLOOR).astype(np.float32)


def fix_length(feats: np.ndarray, n_frames: int) -> np.ndarray:
    """Centre-crop or pad (with the log floor) ``(T, n_mels)`` to ``(n_frames, n_mels)``."""
    t = feats.shape[0]
    if t >= n_frames:
        lo = (t - n_frames) // 2
        return feats[lo : lo + n_frames]
    pad = np.full((n_frames - t, feats.shape[1]), np.log(LOG_FLOOR), dtype=feats.dtype)
    return np.concatenate([feats, pad], axis=0)


def _fsdd_root(root: Path) -> Path | None:
    for cand in (root, root / "recordings"):
        if cand.is_dir() and any(FSDD_NAME.match(p.name) for p in cand.glob("*.wav")):
            return cand
    return None


def scan_audio(root: str | Path) -> list[AudioClip]:
    """Every labelled clip under ``root`` with its split (see the module docstring for the layouts)."""
    root = Path(root)
    if not root.is_dir():
        raise ConfigError(f"audio data root {root} is not a directory")
    fsdd = _fsdd_root(root)
    clips: list[AudioClip] = []
    if fsdd is not None:
        for p in sorted(fsdd.glob("*.wav")):
            m = FSDD_NAME.match(p.name)
            if m is None:
                continue
            rep = int(m["rep"])
            split = "test" if rep <= 4 else ("val" if rep <= 9 else "train")
            clips.append(AudioClip(p, m["label"], split, m["speaker"]))
        return clips
    if (root / "train").is_dir() and (root / "test").is_dir():
        for top in ("train", "test"):
            for cdir in sorted(d for d in (root / top).iterdir() if d.is_dir()):
                files = sorted(cdir.glob("*.wav"))
                for i, p in enumerate(files):
                    split = "test" if top == "test" else ("val" if i % 10 == 9 else "train")
                    clips.append(AudioClip(p, cdir.name, split))
    else:
        for cdir in sorted(d for d in root.iterdir() if d.is_dir()):
            for i, p in enumerate(sorted(cdir.glob("*.wav"))):
                split = "test" if i % 5 == 0 else ("val" if i % 5 == 1 else "train")
                clips.append(AudioClip(p, cdir.name, split))
    if not clips:
        raise ConfigError(
            f"{root}: no audio dataset found (expected FSDD files '{{label}}_{{speaker}}_{{rep}}.wav' in it or in "
            "recordings/, or class subfolders '<class>/*.wav', optionally under train/ and test/)"
        )
    return clips


def _sort_labels(labels) -> list[str]:
    labels = sorted(set(labels))
    return sorted(labels, key=int) if all(s.isdigit() for s in labels) else labels


def load_audio(root: str | Path, cfg: MelConfig | None = None) -> dict:
    """Read and featurise every clip: ``{"classes": [...], "train"|"val"|"test": {"x": (N, n_frames, n_mels)
    float32, "y": (N,) int64, "files": [...]}}``."""
    from scipy.signal import resample_poly

    cfg = cfg or MelConfig()
    clips = scan_audio(root)
    classes = _sort_labels(c.label for c in clips)
    index = {c: i for i, c in enumerate(classes)}
    fb = mel_filterbank(cfg)
    out: dict = {"classes": classes}
    for split in ("train", "val", "test"):
        xs, ys, files = [], [], []
        for c in (c for c in clips if c.split == split):
            x, sr = read_wav(c.path)
            if sr != cfg.sample_rate:
                g = np.gcd(sr, cfg.sample_rate)
                x = resample_poly(x, cfg.sample_rate // g, sr // g).astype(np.float32)
            xs.append(fix_length(log_mel(x, cfg, fb), cfg.n_frames))
            ys.append(index[c.label])
            files.append(str(c.path))
        out[split] = {
            "x": np.stack(xs) if xs else np.zeros((0, cfg.n_frames, cfg.n_mels), np.float32),
            "y": np.asarray(ys, dtype=np.int64),
            "files": files,
        }
    return out


def synthetic_mel(
    n_per_class: dict[str, int], n_classes: int = 10, cfg: MelConfig | None = None, seed: int = 0
) -> dict:
    """Random "mel patch" sequences (not audio): each class is a smooth random template ``(n_frames, n_mels)``;
    a clip is its class's template, shifted by up to 5 frames, plus unit Gaussian noise."""
    cfg = cfg or MelConfig()
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, cfg.n_frames)[:, None]
    f = np.linspace(0, 1, cfg.n_mels)[None, :]
    templates = []
    for _ in range(n_classes):
        a, b, c, d = rng.uniform(1, 4, 4)
        templates.append(np.sin(2 * np.pi * (a * t + b * f) + c) + np.cos(2 * np.pi * d * t * f))
    out: dict = {"classes": [str(i) for i in range(n_classes)]}
    for split, n in n_per_class.items():
        y = rng.integers(0, n_classes, n)
        shifts = rng.integers(-5, 6, n)
        x = np.stack([np.roll(templates[k], s, axis=0) for k, s in zip(y, shifts)])
        x = x + rng.standard_normal(x.shape)
        out[split] = {"x": x.astype(np.float32), "y": y.astype(np.int64), "files": []}
    return out
