"""Brain-Go-Brr: seizure detection on EEG.

The model is :mod:`biodyn.models.seizure` and it trains through ``biodyn train`` with the generic per-sample
``seizure`` task; this package holds the rest of the recipe: :mod:`.detect` (a trained detector on any
recording: montage, preprocessing, stitched windows, post-processing, output files; ``biodyn detect``),
:mod:`.evaluate` (event scoring of a training run; ``biodyn eval``) and :mod:`.inference` (the window
stitching both share). Scoring and post-processing defaults live in :mod:`biodyn.metrics`.
"""

from biodyn.systems.seizure.detect import Detection, Detector, detect, detect_files, load_detector
from biodyn.systems.seizure.evaluate import evaluate_seizure_run, record_probs, score_records

__all__ = [
    "Detection",
    "Detector",
    "detect",
    "detect_files",
    "evaluate_seizure_run",
    "load_detector",
    "record_probs",
    "score_records",
]
