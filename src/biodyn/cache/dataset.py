"""Reading a window cache: a torch ``Dataset`` of windows memory-mapped from the record arrays."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from biodyn.cache.build import CACHE_FORMAT, CacheError


def read_manifest(cache_dir: str | os.PathLike) -> dict[str, Any]:
    path = Path(cache_dir) / "manifest.json"
    if not path.exists():
        raise CacheError(
            f"{cache_dir}: not a biodyn cache (no manifest.json); build one with `biodyn build-cache`"
        )
    m = json.loads(path.read_text())
    if m.get("format", 0) > CACHE_FORMAT:
        raise CacheError(
            f"{path}: cache format {m.get('format')} is newer than this biodyn reads ({CACHE_FORMAT})"
        )
    return m


class WindowDataset(Dataset):
    """Windows of one or more cache folders built by :func:`~biodyn.cache.build_cache`.

    ``dataset[i]`` is a dict: ``x`` float32 ``(C, W)``; ``y`` the window label (int64 scalar; a float
    multi-hot ``(K,)`` for per-record labels); ``mask`` int64 ``(W,)`` per-sample labels when the corpus has
    them; ``meta`` (``record_id``, ``subject``, ``split``, ``start``). Only the window is read from disk:
    record arrays are memory-mapped lazily in each process (safe with DataLoader workers).

    Args:
        cache_dir: a cache folder, or a list of folders built with the same configuration (shards).
        split: keep records of this split (``"train"``, ``"dev"``, ...), or a list of splits.
        records: keep only these record ids.
    """

    def __init__(self, cache_dir, *, split=None, records=None, transform=None):
        dirs = [Path(d) for d in (cache_dir if isinstance(cache_dir, (list, tuple)) else [cache_dir])]
        self.manifest = read_manifest(dirs[0])
        for d in dirs[1:]:
            if read_manifest(d)["preprocess_hash"] != self.manifest["preprocess_hash"]:
                raise CacheError(f"{d}: built with another configuration than {dirs[0]}")
        splits = None if split is None else ({split} if isinstance(split, str) else set(split))
        keep = None if records is None else set(records)
        self.entries: list[dict[str, Any]] = []
        for d in dirs:
            for f in sorted((d / "records").glob("*.json")):
                try:
                    e = json.loads(f.read_text())
                except ValueError as err:
                    raise CacheError(
                        f"{f}: damaged record entry ({err}); rerun `biodyn build-cache`"
                    ) from None
                if (splits is None or e["split"] in splits) and (keep is None or e["record_id"] in keep):
                    e["dir"] = str(d / "records")
                    self.entries.append(e)
        self.entries.sort(key=lambda e: e["record_id"])
        if not self.entries:
            raise CacheError(
                f"{dirs[0]}: no records{'' if splits is None else f' in split {sorted(splits)}'}"
            )
        fs = self.entries[0]["fs"]
        self.fs = float(fs)
        self.window = round(self.manifest["window_s"] * fs)
        self.transform = transform
        rec_idx, starts = [], []
        for k, e in enumerate(self.entries):
            rec_idx.append(np.full(len(e["starts"]), k, dtype=np.int64))
            starts.append(np.asarray(e["starts"], dtype=np.int64))
        self._rec = np.concatenate(rec_idx)
        self._start = np.concatenate(starts)
        self.per_sample = "y_file" in self.entries[0]
        self.per_record = "record_label" in self.entries[0]
        if self.per_sample:
            self.labels = np.concatenate([np.asarray(e["labels"], dtype=np.int64) for e in self.entries])
        elif self.per_record:
            self.labels = np.stack(
                [np.asarray(self.entries[k]["record_label"], np.float32) for k in self._rec]
            )
        else:
            self.labels = np.full(len(self._rec), -1, dtype=np.int64)
        self.subjects = np.array(
            [self.entries[k]["subject"] or self.entries[k]["record_id"] for k in self._rec]
        )
        self._maps: dict[tuple[int, str], np.ndarray] = {}
        self._pid = os.getpid()

    @property
    def channels(self) -> list[str]:
        return list(self.entries[0]["channels"])

    @property
    def n_channels(self) -> int:
        return len(self.entries[0]["channels"])

    def record_windows(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(window indices, start samples)`` of the windows of record ``k`` (``self.entries[k]``), in
        order."""
        idx = np.flatnonzero(self._rec == k)
        return idx, self._start[idx]

    def __len__(self) -> int:
        return len(self._rec)

    def _map(self, k: int, key: str) -> np.ndarray:
        if os.getpid() != self._pid:  # forked worker: drop the parent's maps
            self._maps, self._pid = {}, os.getpid()
        m = self._maps.get((k, key))
        if m is None:
            e = self.entries[k]
            path = Path(e["dir"]) / e[key]
            try:
                m = np.load(path, mmap_mode="r")
            except (
                OSError,
                ValueError,
            ) as err:  # numpy's "mmap length is greater than file size" names no file
                raise CacheError(
                    f"{path}: damaged cache file of record {e['record_id']} ({err}); rerun `biodyn build-cache` "
                    "into this folder: it checks every record and rebuilds damaged ones"
                ) from None
            self._maps[(k, key)] = m
        return m

    def __getitem__(self, i: int) -> dict[str, Any]:
        if not -len(self) <= i < len(self):
            raise IndexError(f"window index {i} out of range for {len(self)} windows")
        k, s = int(self._rec[i]), int(self._start[i])
        e = self.entries[k]
        x = torch.from_numpy(np.array(self._map(k, "x_file")[:, s : s + self.window]))
        item: dict[str, Any] = {
            "x": x,
            "meta": {"record_id": e["record_id"], "subject": e["subject"], "split": e["split"], "start": s},
        }
        if self.per_sample:
            item["y"] = torch.tensor(int(self.labels[i]))
            item["mask"] = torch.from_numpy(self._map(k, "y_file")[s : s + self.window].astype(np.int64))
        elif self.per_record:
            item["y"] = torch.from_numpy(self.labels[i].copy())
        else:
            item["y"] = torch.tensor(-1)
        if self.transform is not None:
            item = self.transform(item)
        return item
