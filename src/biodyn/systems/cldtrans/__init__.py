"""CLD-Trans: causal lag discovery across EEG and ECG.

:mod:`.config` (the run config composed by Hydra from ``configs/cldtrans/``), :mod:`.run` (stage 1 and
stage 2 training; ``python -m biodyn.cldtrans``), :mod:`.lags` (a trained model's lag graph of a recording;
``biodyn lags --checkpoint``), and the experiments :mod:`.focal_lead` (``biodyn train system=focal`` =
``biodyn focal``: ``FocalRun``, ``run_focal``) and :mod:`.fewshot_grid` (``biodyn train system=fewshot`` =
``biodyn fewshot``: ``FewshotRun``, ``run_fewshot``), each composed from its own root of the config tree
(:func:`.config.compose_root`).
"""

from biodyn.systems.cldtrans.config import CLDTransData, CLDTransRun, compose
from biodyn.systems.cldtrans.lags import lags_from_checkpoint, load_cldtrans
from biodyn.systems.cldtrans.run import run_cldtrans

__all__ = ["CLDTransData", "CLDTransRun", "compose", "lags_from_checkpoint", "load_cldtrans", "run_cldtrans"]
