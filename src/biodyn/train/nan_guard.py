"""Finding the first non-finite activation or gradient (``BIODYN_NAN_DEBUG=1``)."""

from __future__ import annotations

import os

import torch
from torch import nn

from biodyn.errors import BiodynError


class NonFiniteError(BiodynError, FloatingPointError):
    """A non-finite loss, activation or gradient during training."""


def nan_debug_enabled() -> bool:
    return os.environ.get("BIODYN_NAN_DEBUG", "") not in ("", "0", "false", "False")


def _finite(out) -> bool:
    if torch.is_tensor(out):
        return not out.is_floating_point() or bool(torch.isfinite(out).all())
    if isinstance(out, (tuple, list)):
        return all(_finite(o) for o in out)
    if isinstance(out, dict):
        return all(_finite(o) for o in out.values())
    return True


def install_nan_hooks(model: nn.Module) -> list:
    """Forward hooks on every module and gradient hooks on every parameter; the first non-finite value
    raises :class:`NonFiniteError` naming the module (or parameter). Returns the handles."""
    handles = []
    root = type(model).__name__
    for name, mod in model.named_modules():

        def fwd(m, inp, out, _name=name or root):
            if not _finite(out):
                raise NonFiniteError(
                    f"non-finite activation in the output of module {_name!r} ({type(m).__name__})"
                )

        handles.append(mod.register_forward_hook(fwd))
    for pname, p in model.named_parameters():
        if p.requires_grad:

            def bwd(g, _name=pname):
                if not bool(torch.isfinite(g).all()):
                    raise NonFiniteError(f"non-finite gradient of parameter {_name!r}")
                return g

            handles.append(p.register_hook(bwd))
    return handles
