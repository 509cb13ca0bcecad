"""PTB-XL 1.0.3 (Wagner et al. 2020): 21,799 12-lead 10 s ECGs, 100 and 500 Hz, WFDB format 16.

Labels: ``scp_codes`` (a dict of SCP statement -> likelihood) mapped through ``scp_statements.csv``'s
``diagnostic_class`` to the five superclasses NORM, MI, STTC, CD, HYP (multi-hot). Splits: ``strat_fold``
1-10; the recommended use is folds 1-8 train, 9 validation, 10 test.
"""

from __future__ import annotations

import ast
import csv
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from biodyn.datasets._base import Corpus, RecordRef, Target, summarize
from biodyn.errors import DataRootError, RecordingError
from biodyn.signal.config import CLDTRANS_ECG, PreprocessConfig
from biodyn.types import Recording

SUPERCLASSES = ("NORM", "MI", "STTC", "CD", "HYP")


def fold_split(fold: int) -> str:
    """The recommended split of a ``strat_fold``: 1-8 train, 9 val, 10 test."""
    return "train" if fold <= 8 else ("val" if fold == 9 else "test")


def read_scp_statements(path: str | Path) -> dict[str, str]:
    """SCP code -> diagnostic superclass, for the diagnostic statements."""
    path = Path(path)
    out = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            code = row.get("") or row.get("Unnamed: 0")
            if code is None:
                raise RecordingError(path, "first column (SCP code) is missing")
            if row.get("diagnostic") in ("1.0", "1") and row.get("diagnostic_class"):
                out[code] = row["diagnostic_class"]
    return out


class PTBXL(Corpus):
    """PTB-XL: per-record multi-hot superclass labels ``(5,)`` in :data:`SUPERCLASSES` order."""

    name = "ptbxl"
    modality = "ecg"
    classes = SUPERCLASSES
    default_preprocess: PreprocessConfig = CLDTRANS_ECG
    window_s = 10.0
    stride_s = 10.0
    stored_rates = (100, 500)  # records100/ and records500/

    def __init__(self, root, sampling_rate: int = 100):
        super().__init__(root)
        if sampling_rate not in self.stored_rates:
            raise ValueError(
                f"invalid sampling_rate={sampling_rate!r}; allowed: {', '.join(map(str, self.stored_rates))}"
            )
        self.sampling_rate = sampling_rate
        self.database = self.root / "ptbxl_database.csv"
        if not self.database.exists():
            raise DataRootError(
                f"{self.database}: PTB-XL database table not found; is {self.root} a PTB-XL folder?"
            )
        self.scp = read_scp_statements(self.root / "scp_statements.csv")

    def rows(self) -> list[dict[str, Any]]:
        """Every row of ``ptbxl_database.csv`` with parsed ``scp_codes`` and its superclasses."""
        out = []
        with open(self.database, newline="") as f:
            for lineno, row in enumerate(csv.DictReader(f), 2):
                try:
                    codes = ast.literal_eval(row["scp_codes"])
                    fold = int(row["strat_fold"])
                except (ValueError, SyntaxError, KeyError) as e:
                    raise RecordingError(
                        self.database, f"line {lineno}: bad scp_codes/strat_fold: {e}"
                    ) from None
                row["scp_codes"] = codes
                row["strat_fold"] = fold
                row["superclasses"] = sorted(
                    {self.scp[c] for c in codes if c in self.scp}, key=SUPERCLASSES.index
                )
                out.append(row)
        return out

    def _record_refs(self, present_only: bool) -> list[RecordRef]:
        col = "filename_lr" if self.sampling_rate == 100 else "filename_hr"
        refs = []
        for row in self.rows():
            path = self.root / row[col]
            if present_only and not path.with_suffix(".hea").exists():
                continue
            y = np.array([c in row["superclasses"] for c in SUPERCLASSES], dtype=np.float32)
            refs.append(
                RecordRef(
                    f"{int(row['ecg_id']):05d}",
                    path,
                    subject=str(int(float(row["patient_id"]))),
                    split=fold_split(row["strat_fold"]),
                    meta={"strat_fold": row["strat_fold"], "labels": y, "superclasses": row["superclasses"]},
                )
            )
        return refs

    def records(self) -> list[RecordRef]:
        """Rows whose WFDB record at the chosen rate is on disk."""
        return self._record_refs(present_only=True)

    def load(self, ref: RecordRef) -> Recording:
        from biodyn.io import read_wfdb

        rec = read_wfdb(ref.path)
        rec.meta.update(record_id=ref.record_id, subject=ref.subject, split=ref.split)
        return rec

    def target(self, ref: RecordRef, rec: Recording) -> Target:
        return Target(per_record=ref.meta["labels"], classes=self.classes)

    def record_info(self, ref: RecordRef) -> dict[str, Any]:
        from biodyn.io import wfdb_info

        return wfdb_info(ref.path)

    def summary(self) -> dict[str, Any]:
        all_refs = self._record_refs(present_only=False)
        present = {r.record_id for r in self.records()}
        infos, _ = self.header_infos([r for r in all_refs if r.record_id in present])
        counts = Counter(c for r in all_refs for c in r.meta["superclasses"])
        counts["no_class"] = sum(1 for r in all_refs if not r.meta["superclasses"])
        return summarize(
            self.name,
            all_refs,
            infos,
            [str(r.path) for r in all_refs if r.record_id not in present],
            label_counts={k: counts.get(k, 0) for k in (*SUPERCLASSES, "no_class")},
            folds=dict(sorted(Counter(r.meta["strat_fold"] for r in all_refs).items())),
            sampling_rate=self.sampling_rate,
            bad_files=self.bad_files,
        )


def superclass_arrays(root, sampling_rate: int = 100, limit: int | None = None) -> dict[str, Any]:
    """The records on disk as arrays for the 5-superclass task, split by the official folds (1-8 train,
    9 val, 10 test): ``{"classes", "train"|"val"|"test": {"x": (N, 12, T) float32, "y": (N, 5) float32
    multi-hot, "ids": [...]}}``. Records without any diagnostic superclass are left out (as in the PTB-XL
    benchmark). ``limit`` keeps the first records of each split (smoke runs)."""
    corpus = PTBXL(root, sampling_rate=sampling_rate)
    refs = [r for r in corpus.records() if r.meta["superclasses"]]
    if not refs:
        raise RecordingError(root, f"no PTB-XL records with a superclass at {sampling_rate} Hz on disk")
    out: dict[str, Any] = {"classes": list(SUPERCLASSES), "sfreq": float(sampling_rate)}
    for split in ("train", "val", "test"):
        sel = [r for r in refs if r.split == split][: limit or None]
        xs = [corpus.load(r).data.astype(np.float32) for r in sel]
        lengths = {x.shape for x in xs}
        if len(lengths) > 1:
            raise RecordingError(root, f"PTB-XL records of different shapes in {split}: {sorted(lengths)}")
        out[split] = {
            "x": np.stack(xs) if xs else np.zeros((0, 12, 10 * sampling_rate), np.float32),
            "y": np.stack([r.meta["labels"] for r in sel]) if sel else np.zeros((0, 5), np.float32),
            "ids": [r.record_id for r in sel],
        }
    return out
