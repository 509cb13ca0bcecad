"""CIFAR-10 (Krizhevsky 2009) images -> sequences of patches (PRISM's image modality).

Two layouts are read:

* the official python pickles, ``cifar-10-batches-py/`` (``data_batch_1`` ... ``data_batch_5`` train,
  ``test_batch`` test, ``batches.meta`` class names), given as that folder or a parent holding it;
  they are read with an unpickler that only builds numpy arrays, lists, dicts and bytes;
* an image folder, ``train/<class>/*.jpg|png`` and ``test/<class>/*.jpg|png`` (every image the same size).

Validation comes from the training part: :func:`split_validation` holds out a fixed share of it per class.
:func:`patchify` turns ``(N, H, W, 3)`` images into ``(N, (H/p)(W/p), p p 3)`` tokens (4x4x3 = 48-dim
patches, 64 tokens for 32x32 images), row-major over the patch grid, each patch flattened as ``(p, p, 3)``.

No torch here: arrays are numpy (uint8 images).
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import ClassVar

import numpy as np

from biodyn.errors import ConfigError, RecordingError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
# per-channel mean and std of the CIFAR-10 training set, in [0, 1] units
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)


class _ArrayUnpickler(pickle.Unpickler):
    """Only what the CIFAR batches hold: numpy arrays (and their dtypes), dicts, lists, bytes, str."""

    _ALLOWED: ClassVar[set[tuple[str, str]]] = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("_codecs", "encode"),
    }

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a CIFAR batch")


def _load_batch(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            d = _ArrayUnpickler(io.BytesIO(f.read()), encoding="bytes").load()
    except (OSError, pickle.UnpicklingError, EOFError, ValueError) as e:
        raise RecordingError(path, f"not a CIFAR-10 python batch: {e}") from None
    if not isinstance(d, dict):
        raise RecordingError(path, f"not a CIFAR-10 python batch (a {type(d).__name__}, not a dict)")
    return {(k.decode() if isinstance(k, bytes) else k): v for k, v in d.items()}


def _batch_arrays(path: Path) -> tuple[np.ndarray, np.ndarray]:
    d = _load_batch(path)
    if "data" not in d or "labels" not in d:
        raise RecordingError(path, f"CIFAR batch without 'data'/'labels' (keys: {sorted(d)})")
    data = np.asarray(d["data"], dtype=np.uint8)
    if data.ndim != 2 or data.shape[1] != 3072:
        raise RecordingError(path, f"CIFAR batch data must be (N, 3072) uint8, got {data.shape}")
    labels = np.asarray(d["labels"], dtype=np.int64)
    if len(labels) != len(data):
        raise RecordingError(path, f"{len(data)} images but {len(labels)} labels")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels  # (N, 32, 32, 3)


def find_pickles(root: Path) -> Path | None:
    for cand in (root, root / "cifar-10-batches-py"):
        if (cand / "test_batch").is_file() or (cand / "data_batch_1").is_file():
            return cand
    return None


def read_cifar_pickles(root: str | Path) -> dict:
    """``{"classes", "train": {"x": (N, 32, 32, 3) uint8, "y": (N,)}, "test": {...}}`` from the pickles."""
    root = Path(root)
    folder = find_pickles(root)
    if folder is None:
        raise ConfigError(
            f"{root}: no CIFAR-10 python batches (cifar-10-batches-py/data_batch_1, test_batch)"
        )
    classes = list(CIFAR10_CLASSES)
    if (folder / "batches.meta").is_file():
        meta = _load_batch(folder / "batches.meta")
        names = meta.get("label_names")
        if names:
            classes = [n.decode() if isinstance(n, bytes) else str(n) for n in names]
    out: dict = {"classes": classes}
    train = [folder / f"data_batch_{i}" for i in range(1, 6) if (folder / f"data_batch_{i}").is_file()]
    for split, files in (("train", train), ("test", [folder / "test_batch"])):
        files = [f for f in files if f.is_file()]
        if not files:
            raise ConfigError(
                f"{folder}: no {split} batch ({'data_batch_1..5' if split == 'train' else 'test_batch'})"
            )
        parts = [_batch_arrays(f) for f in files]
        for f, (_, y) in zip(files, parts, strict=True):
            bad = (y < 0) | (y >= len(classes))
            if bad.any():
                raise RecordingError(
                    f,
                    f"label {int(y[bad][0])} at item {int(np.flatnonzero(bad)[0])} is outside "
                    f"0..{len(classes) - 1} (the {len(classes)} classes)",
                )
        out[split] = {"x": np.concatenate([p[0] for p in parts]), "y": np.concatenate([p[1] for p in parts])}
    return out


def read_image(path: Path) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB; an empty or undecodable file is a :class:`RecordingError`."""
    from PIL import Image, UnidentifiedImageError

    if path.stat().st_size == 0:
        raise RecordingError(path, "empty image file (0 bytes)")
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise RecordingError(path, f"unreadable image: {e}") from None


def read_image_folder(root: str | Path) -> dict:
    """``{"classes", "train": {"x", "y", "files"}, "test": {...}}`` from ``train/<class>/*`` and ``test/<class>/*``;
    class ``i`` is the ``i``-th training class folder in sorted order."""
    root = Path(root)
    if not (root / "train").is_dir():
        raise ConfigError(f"{root}: no image folder (expected train/<class>/*.jpg|png and test/<class>/...)")
    classes = sorted(d.name for d in (root / "train").iterdir() if d.is_dir())
    if not classes:
        raise ConfigError(f"{root / 'train'}: no class subfolders")
    out: dict = {"classes": classes}
    shape = None
    for split in ("train", "test"):
        xs, ys, files = [], [], []
        for k, name in enumerate(classes):
            cdir = root / split / name
            for p in sorted(cdir.glob("*")) if cdir.is_dir() else []:
                if p.suffix.lower() not in IMAGE_SUFFIXES:
                    continue
                img = read_image(p)
                if shape is None:
                    shape = img.shape
                elif img.shape != shape:
                    raise RecordingError(p, f"image of size {img.shape}, the others are {shape}")
                xs.append(img)
                ys.append(k)
                files.append(str(p))
        if not xs:
            raise ConfigError(f"{root / split}: no .jpg/.png images under <class>/ folders {classes[:3]}...")
        out[split] = {"x": np.stack(xs), "y": np.asarray(ys, dtype=np.int64), "files": files}
    return out


def load_cifar(root: str | Path) -> dict:
    """The pickles when ``root`` (or ``root/cifar-10-batches-py``) holds them, else the image folder."""
    root = Path(root)
    if not root.is_dir():
        raise ConfigError(f"image data root {root} is not a directory")
    return read_cifar_pickles(root) if find_pickles(root) is not None else read_image_folder(root)


def split_validation(y: np.ndarray, fraction: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, val)`` with ``fraction`` of every class held out (seeded)."""
    rng = np.random.default_rng(seed)
    val = []
    for k in np.unique(y):
        idx = np.flatnonzero(y == k)
        n = round(fraction * len(idx))
        val.extend(rng.permutation(idx)[:n].tolist())
    val_idx = np.sort(np.asarray(val, dtype=np.int64))
    train_idx = np.setdiff1d(np.arange(len(y)), val_idx)
    return train_idx, val_idx


def patchify(images: np.ndarray, patch: int = 4) -> np.ndarray:
    """``(N, H, W, C)`` -> ``(N, (H/p)(W/p), p p C)``, patches in row-major grid order."""
    n, h, w, c = images.shape
    if h % patch or w % patch:
        raise ConfigError(f"patch size {patch} must divide the image size {h}x{w}")
    x = images.reshape(n, h // patch, patch, w // patch, patch, c).transpose(0, 1, 3, 2, 4, 5)
    return x.reshape(n, (h // patch) * (w // patch), patch * patch * c)


def normalize(images: np.ndarray, mean=CIFAR10_MEAN, std=CIFAR10_STD) -> np.ndarray:
    """uint8 ``(..., 3)`` -> float32 per-channel standardised."""
    x = images.astype(np.float32) / 255.0
    return (x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
