"""Metrics: NEDC-style event scoring, sample-level classification metrics, statistics. numpy/scikit-learn only.

* :mod:`biodyn.metrics.events` — annotation readers (re-exported from :mod:`biodyn.io.events`), NEDC
  normalisation and the per-file scoring rules (OVERLAP, TAES, DP alignment, epoch, kappa).
* :mod:`biodyn.metrics.nedc` — scoring lists of files like ``nedc_eeg_eval`` v6.0.0 (``score_files``,
  ``format_summary``, ``NedcParams``); ``biodyn score`` on the command line.
* :mod:`biodyn.metrics.postprocess` — per-sample probabilities to events.
* :mod:`biodyn.metrics.detection` — sensitivity at fixed FA/24h (dev-chosen, eval-frozen thresholds).
* :mod:`biodyn.metrics.classification` — AUROC, AUPRC, ECE, F1, kappa.
* :mod:`biodyn.metrics.szcore` — SzCORE event scoring through ``timescoring``.
"""
