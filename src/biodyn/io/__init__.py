"""Reading and writing recordings and annotations. No torch here."""

from __future__ import annotations

import os
from pathlib import Path

from biodyn.errors import RecordingError
from biodyn.io.edf import edf_info, read_edf, read_edf_annotations, read_edf_header, write_edf
from biodyn.io.events import AnnotationFile, read_annotation_file, read_tse, read_tusz_csv
from biodyn.io.wfdb import read_wfdb, read_wfdb_annotation_table, read_wfdb_annotations, wfdb_info
from biodyn.types import Recording

__all__ = [
    "AnnotationFile",
    "edf_info",
    "read_annotation_file",
    "read_edf",
    "read_edf_annotations",
    "read_edf_header",
    "read_recording",
    "read_tse",
    "read_tusz_csv",
    "read_wfdb",
    "read_wfdb_annotation_table",
    "read_wfdb_annotations",
    "wfdb_info",
    "write_edf",
]


def read_recording(path: str | os.PathLike, **kwargs) -> Recording:
    """Read by suffix: ``.edf``/``.bdf``/``.rec`` -> :func:`read_edf`; ``.hea``/``.dat`` or a WFDB
    record name without suffix -> :func:`read_wfdb`."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in (".edf", ".bdf", ".rec"):
        return read_edf(p, **kwargs)
    if suffix in (".hea", ".dat") or (not suffix and p.with_suffix(".hea").exists()):
        return read_wfdb(p, **kwargs)
    if not p.exists():
        raise RecordingError(p, "file not found")
    raise RecordingError(
        p, f"unknown recording format {suffix!r}; expected .edf, .bdf, .rec, .hea or a WFDB record"
    )
