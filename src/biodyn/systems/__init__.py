"""The three research systems, one package each, each holding its recipe (run config, data wiring, training
run, evaluation, inference and experiments) over the shared layers:

* :mod:`biodyn.systems.prism` — PRISM, one sequence backbone for ECG, images and audio (``biodyn prism``).
* :mod:`biodyn.systems.seizure` — Brain-Go-Brr, seizure detection: training through ``biodyn train``,
  detection on any recording (``biodyn detect``), event scoring of a run (``biodyn eval``).
* :mod:`biodyn.systems.cldtrans` — CLD-Trans, causal lags: two-stage training (``python -m biodyn.cldtrans``),
  lag read-out (``biodyn lags --checkpoint``), the focal-lead and few-shot experiments (``biodyn focal``,
  ``biodyn fewshot``).

Import rules (``tests/test_layers.py``): a system imports any layer below it, never another system; nothing
below (``train/``, ``models/``, ...) imports a system.
"""
