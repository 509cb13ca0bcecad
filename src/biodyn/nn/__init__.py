"""``nn.Module`` layers built on ``biodyn.ops``.

Parameters that should not get weight decay (norm weights, biases, SSM decay/step parameters) carry the
attribute ``_no_weight_decay = True``; ``biodyn.train`` builds optimiser groups from it.
"""

from biodyn.nn.bidirectional import Bidirectional
from biodyn.nn.conv import ShortCausalConv1d
from biodyn.nn.gated_delta import GatedDeltaBlock
from biodyn.nn.graph import DenseSSGConv, GatedFusion
from biodyn.nn.mamba2 import Mamba2Block
from biodyn.nn.mlp import SwiGLU
from biodyn.nn.norm import RMSNorm
from biodyn.nn.s4 import S4SSM, S4Block
from biodyn.nn.tcn import TCN

__all__ = [
    "S4SSM",
    "TCN",
    "Bidirectional",
    "DenseSSGConv",
    "GatedDeltaBlock",
    "GatedFusion",
    "Mamba2Block",
    "RMSNorm",
    "S4Block",
    "ShortCausalConv1d",
    "SwiGLU",
]
