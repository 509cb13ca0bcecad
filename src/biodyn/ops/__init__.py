"""Functional kernels, one public function each, that pick their path in ``biodyn.ops._backend``:
``biodyn.ops.gated_delta.gated_delta_rule``, ``biodyn.ops.ssd.ssd``, ``biodyn.ops.s4d.s4d`` (each beside its
reference, chunked form and one-token step), and ``biodyn.ops.fractional_delay``.

The kernels are imported from their modules (``from biodyn.ops.ssd import ssd``): a package-level ``ssd``
function would hide the ``biodyn.ops.ssd`` module.
"""

from biodyn.ops._backend import last_backend, record_backends
from biodyn.ops.gated_delta import gated_delta_rule, gated_delta_rule_step

__all__ = ["gated_delta_rule", "gated_delta_rule_step", "last_backend", "record_backends"]
