"""MIMIC-IV-ECG 1.0 (Gow et al. 2023; PhysioNet ``mimic-iv-ecg/1.0``): ~800k 12-lead 10 s ECGs at 500 Hz.

Layout: ``record_list.csv`` (``subject_id, study_id, file_name, ecg_time, path``) and WFDB records under
``files/pNNNN/pNNNNNNNN/sNNNNNNNN/NNNNNNNN``. Used unlabelled (CLD-Trans pretraining).
"""

from __future__ import annotations

import csv
from typing import Any

from biodyn.datasets._base import Corpus, RecordRef, Target, summarize
from biodyn.errors import DataRootError, RecordingError
from biodyn.signal.config import CLDTRANS_ECG, PreprocessConfig
from biodyn.types import Recording


class MIMICECG(Corpus):
    """MIMIC-IV-ECG: no labels (``Target()``)."""

    name = "mimic_ecg"
    modality = "ecg"
    default_preprocess: PreprocessConfig = CLDTRANS_ECG
    window_s = 10.0
    stride_s = 10.0

    def records(self) -> list[RecordRef]:
        table = self.root / "record_list.csv"
        if not table.exists():
            raise DataRootError(f"{table}: MIMIC-IV-ECG record list not found")
        refs = []
        with open(table, newline="") as f:
            reader = csv.DictReader(f)
            missing = {"subject_id", "study_id", "path"} - set(reader.fieldnames or [])
            if missing:
                raise RecordingError(table, f"missing column(s) {', '.join(sorted(missing))}")
            for row in reader:
                path = self.root / row["path"]
                if path.with_suffix(".hea").exists():
                    refs.append(
                        RecordRef(
                            row["study_id"],
                            path,
                            subject=row["subject_id"],
                            meta={"ecg_time": row.get("ecg_time")},
                        )
                    )
        return sorted(refs, key=lambda r: r.record_id)

    def load(self, ref: RecordRef) -> Recording:
        from biodyn.io import read_wfdb

        rec = read_wfdb(ref.path)
        rec.meta.update(record_id=ref.record_id, subject=ref.subject)
        return rec

    def target(self, ref: RecordRef, rec: Recording) -> Target:
        return Target()

    def record_info(self, ref: RecordRef) -> dict[str, Any]:
        from biodyn.io import wfdb_info

        return wfdb_info(ref.path)

    def summary(self) -> dict[str, Any]:
        refs = self.records()
        infos, missing = self.header_infos(refs)
        return summarize(self.name, refs, infos, missing, bad_files=self.bad_files)
