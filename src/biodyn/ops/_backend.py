"""Which implementation of a kernel runs, chosen in one place.

Every kernel (``gated_delta_rule``, ``ssd``, ``s4d``) has up to three paths:

- ``"reference"``: the token-by-token recurrence (the definition; slow, float64-friendly);
- ``"chunked"`` (and ``"fft"`` for non-selective S4D): the pure-PyTorch fast form, on any device;
- a CUDA library: ``"fla"`` (flash-linear-attention's ``chunk_gated_delta_rule``) or ``"mamba_ssm"``
  (mamba-ssm's ``mamba_chunk_scan_combined``), imported lazily; a missing or broken import means ``None``.

``BIODYN_BACKEND`` picks among them: ``auto`` (default) lets a CUDA input go through its library when it
loads, ``torch`` never uses a library. ``BIODYN_FORCE_TORCH=1`` is the older spelling of
``BIODYN_BACKEND=torch`` and still works.

Tests ask which path ran: :func:`last_backend` (per kernel) or :func:`record_backends` (every call in a
``with`` block).

Dtype policy (every kernel and step function): half-precision inputs (float16/bfloat16) are computed in
float32; outputs come back in the input's dtype; states (initial and final) are kept in the compute dtype.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
from collections.abc import Iterator

import torch

from biodyn.errors import ConfigError

BACKEND_ENV = "BIODYN_BACKEND"
BACKENDS = ("auto", "torch")
_HALF = (torch.float16, torch.bfloat16)


def backend_mode() -> str:
    """``"auto"`` or ``"torch"`` from ``$BIODYN_BACKEND`` (or the legacy ``$BIODYN_FORCE_TORCH=1``)."""
    mode = os.environ.get(BACKEND_ENV, "").strip().lower()
    if mode:
        if mode not in BACKENDS:
            raise ConfigError(f"invalid ${BACKEND_ENV}={mode!r}; allowed: {', '.join(map(repr, BACKENDS))}")
        return mode
    return "torch" if force_torch() else "auto"


def force_torch() -> bool:
    """Legacy switch: ``$BIODYN_FORCE_TORCH`` set to anything but ``0``/``false``/empty."""
    return os.environ.get("BIODYN_FORCE_TORCH", "0") not in ("", "0", "false", "False")


def _optional(module: str, name: str):
    """``module.name``, or ``None`` when the import fails (not installed, or no CUDA/Triton)."""
    try:
        return getattr(importlib.import_module(module), name)
    except Exception:
        return None


@functools.cache
def fla_chunk_gated_delta_rule():
    """flash-linear-attention's ``chunk_gated_delta_rule`` or ``None``."""
    return _optional("fla.ops.gated_delta_rule", "chunk_gated_delta_rule")


@functools.cache
def mamba_chunk_scan_combined():
    """mamba-ssm's fused ``mamba_chunk_scan_combined`` (CUDA/Triton) or ``None``."""
    return _optional("mamba_ssm.ops.triton.ssd_combined", "mamba_chunk_scan_combined")


LIBRARIES = {"fla": fla_chunk_gated_delta_rule, "mamba_ssm": mamba_chunk_scan_combined}
PATHS = {
    "gated_delta_rule": ("auto", "reference", "chunked", "fla"),
    "ssd": ("auto", "reference", "chunked", "mamba_ssm"),
    "s4d": ("auto", "reference", "chunked", "fft"),
}


def library_usable(library: str, x: torch.Tensor) -> bool:
    """Whether the CUDA tensor ``x`` may go through ``library`` (``"fla"`` / ``"mamba_ssm"``)."""
    return (
        bool(getattr(x, "is_cuda", False)) and backend_mode() == "auto" and LIBRARIES[library]() is not None
    )


def use_fla(x) -> bool:
    return library_usable("fla", x)


def use_mamba_ssm(x) -> bool:
    return library_usable("mamba_ssm", x)


def choose(kernel: str, path: str, x: torch.Tensor, library: str | None, default: str = "chunked") -> str:
    """The path ``kernel`` takes for input ``x``: ``path`` unless it is ``"auto"``, in which case the CUDA
    ``library`` when usable, else ``default``. Asking for a library that cannot run is an error."""
    allowed = PATHS[kernel]
    if path not in allowed:
        raise ConfigError(f"{kernel}: invalid path={path!r}; allowed: {', '.join(map(repr, allowed))}")
    if path == "auto":
        return library if library is not None and library_usable(library, x) else default
    if path in LIBRARIES and not library_usable(path, x):
        raise ConfigError(
            f"{kernel}: path={path!r} needs a CUDA input, ${BACKEND_ENV}=auto and {path} installed"
        )
    return path


# ---------------------------------------------------------------------------------------------- recording
_LAST: dict[str, str] = {}
_RECORDERS: list[list[tuple[str, str]]] = []


def note(kernel: str, path: str) -> None:
    """Record that ``kernel`` ran through ``path`` (called by the public kernel functions)."""
    _LAST[kernel] = path
    for rec in _RECORDERS:
        rec.append((kernel, path))


def last_backend(kernel: str) -> str | None:
    """The path the last call of ``kernel`` took in this process (``None`` before the first call)."""
    if kernel not in PATHS:
        raise ConfigError(f"unknown kernel {kernel!r}; kernels: {', '.join(PATHS)}")
    return _LAST.get(kernel)


@contextlib.contextmanager
def record_backends() -> Iterator[list[tuple[str, str]]]:
    """``with record_backends() as calls:`` collects ``(kernel, path)`` for every kernel call inside."""
    rec: list[tuple[str, str]] = []
    _RECORDERS.append(rec)
    try:
        yield rec
    finally:
        _RECORDERS.remove(rec)


# ---------------------------------------------------------------------------------------------- dtypes
def compute_dtype(*xs: torch.Tensor | None) -> torch.dtype:
    """float32 for half-precision inputs, else the promoted real dtype of the inputs (float32 or float64)."""
    dt = None
    for x in xs:
        if x is None or not torch.is_tensor(x):
            continue
        d = x.dtype.to_real() if x.is_complex() else x.dtype
        d = torch.float32 if d in _HALF or not d.is_floating_point else d
        dt = d if dt is None else torch.promote_types(dt, d)
    return dt or torch.float32


def cast(x: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    """``x`` in ``dtype`` (complex tensors in the matching complex dtype); ``None`` stays ``None``."""
    if x is None:
        return None
    if x.is_complex():
        return x.to(torch.complex128 if dtype == torch.float64 else torch.complex64)
    return x.to(dtype)
