"""Metrics: NEDC-style event scoring, sample-level classification metrics, statistics. numpy/scikit-learn only."""
