"""Metrics: NEDC-style event scoring, sample-level classification metrics, statistics. numpy/scikit-learn only.

Metrics take events and annotations as objects (:class:`~biodyn.types.Event`,
:class:`~biodyn.io.events.AnnotationFile`); reading the files is :mod:`biodyn.io.events`'s business.

* :mod:`biodyn.metrics.events` — NEDC normalisation and the per-file scoring rules (OVERLAP, TAES, DP
  alignment, epoch, kappa).
* :mod:`biodyn.metrics.nedc` — scoring lists of annotations like ``nedc_eeg_eval`` v6.0.0
  (``score_annotations``, ``format_summary``, ``NedcParams``); ``biodyn score`` on the command line.
* :mod:`biodyn.metrics.postprocess` — per-sample probabilities to events.
* :mod:`biodyn.metrics.detection` — sensitivity at fixed FA/24h (dev-chosen, eval-frozen thresholds).
* :mod:`biodyn.metrics.classification` — AUROC, AUPRC, ECE, F1, kappa.
* :mod:`biodyn.metrics.szcore` — SzCORE event scoring through ``timescoring``.
"""
