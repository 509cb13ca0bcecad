"""PRISM: one sequence backbone trained on ECG (PTB-XL), images (CIFAR-10) and audio (FSDD), alone or jointly.

``run_prism(PrismRunConfig(...))`` is ``biodyn train system=prism`` (alias ``biodyn prism``): :mod:`.config`
(the run's settings; :func:`compose` builds them from ``configs/prism/`` and overrides), :mod:`.run`
(data loading per modality, single and joint training, evaluation), :mod:`.evaluate` (``biodyn eval`` of a run
folder, :func:`predict` on new files or arrays), :mod:`.plot` (training curves).
"""

from biodyn.systems.prism.config import PrismRunConfig, compose
from biodyn.systems.prism.evaluate import Predictions, evaluate_prism_run, predict
from biodyn.systems.prism.run import ModalityData, load_modality, run_prism

__all__ = [
    "ModalityData",
    "Predictions",
    "PrismRunConfig",
    "compose",
    "evaluate_prism_run",
    "load_modality",
    "predict",
    "run_prism",
]
