"""biodyn: multichannel biosignal dynamics (EEG, ECG, PSG) in PyTorch.

Heavy sub-packages (torch models, MNE readers) are imported on use, so ``import biodyn`` is cheap.
"""

from biodyn.types import Event, LagGraph, Recording

__version__ = "0.1.0.dev0"
__all__ = ["Event", "LagGraph", "Recording", "__version__"]
