"""PRISM: one sequence backbone trained on ECG (PTB-XL), images (CIFAR-10) and audio (FSDD), alone or jointly.

``run_prism(PrismRunConfig(...))`` is ``biodyn prism``: :mod:`.config` (the run's settings), :mod:`.run`
(data loading per modality, single and joint training, evaluation), :mod:`.plot` (training curves).
"""

from biodyn.systems.prism.config import PrismRunConfig
from biodyn.systems.prism.run import ModalityData, load_modality, run_prism

__all__ = ["ModalityData", "PrismRunConfig", "load_modality", "run_prism"]
