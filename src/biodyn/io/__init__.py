"""Reading and writing recordings and annotations. No torch here."""

from __future__ import annotations

import os
from pathlib import Path

from biodyn.errors import BiodynError, RecordingError
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
    """Read any recording by suffix: ``.edf``/``.bdf``/``.rec`` -> :func:`read_edf`; ``.hea``/``.dat`` or a
    WFDB record name without suffix -> :func:`read_wfdb`. Whatever goes wrong reading the file (a corrupt
    header: edfio and wfdb raise their own types) is a :class:`RecordingError` naming it; ``meta["path"]``
    holds the path."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in (".edf", ".bdf", ".rec"):
        reader = read_edf
    elif suffix in (".hea", ".dat") or (not suffix and p.with_suffix(".hea").exists()):
        reader = read_wfdb
    elif not p.exists():
        raise RecordingError(p, "file not found")
    else:
        raise RecordingError(
            p, f"unknown recording format {suffix!r}; expected .edf, .bdf, .rec, .hea or a WFDB record"
        )
    try:
        rec = reader(p, **kwargs)
    except (BiodynError, MemoryError, TypeError):  # ours already name the file; a TypeError is a caller's bug
        raise
    except Exception as e:
        raise RecordingError(path, f"cannot read the recording ({type(e).__name__}: {e})") from e
    rec.meta.setdefault("path", str(path))
    return rec
