"""GPU check: every GPU number the project asks for in one short run (about 8 minutes on one GPU).

Steps, each with its own time budget (a step that fails or overruns is recorded and the next one runs; the
JSON is rewritten after every step, so a run cut short still leaves what it measured):

1. ``env``: the backend (CUDA or ROCm, from ``torch.version.hip``), the device, the optional libraries;
2. ``matmul``: this run's bf16 and fp32 matmul rates (the MFU denominators below);
3. ``fla_gated_delta``, ``mamba_ssd``, ``causal_conv1d``: each CUDA library against biodyn's own torch kernel
   on the same inputs, forward and backward, fp32 and bf16, both measured against a float64 CPU reference
   (relative RMS error, tolerances per dtype in ``TOL``); a library that is not installed is recorded as
   ``not installed``, never as a pass;
4. ``biodyn_kernels``: biodyn's torch kernels (gated delta rule, SSD, selective S4D, the S4D FFT
   convolution, the fused fractional-delay ``lagged_mix``) on the device in fp32 against the float64 CPU
   reference, forward and backward;
5. ``train_*``: one bf16-autocast training step of each system at its specification's size (PRISM, both
   Brain-Go-Brr stacks at 19 x 15,360, CLD-Trans stage 1 at 64 channels x 10 s at 160 Hz): finite loss and
   gradients, then 20 AdamW steps on the same batch must lower the loss;
6. ``ddp``: ``torchrun --nproc_per_node 1`` training Brain-Go-Brr (seizure_tiny widths) through biodyn's
   Trainer on nccl (gloo on CPU), i.e. the DistributedDataParallel path on the GPU backend;
7. ``speed_seizure``, ``speed_prism``, ``speed_ssm``: the full-size speed goals of ``bench_seizure``,
   ``bench_prism`` and ``bench_ssm`` on the device, with MFU against step 2's bf16 rate, peak memory and
   the largest batch that fits.

``--dry-run`` runs every step at tiny sizes on the CPU (gloo instead of nccl) in seconds; the test suite runs
it (tests/benchmarks/test_bench_gpu.py), so the script cannot rot while no GPU is at hand. The summary table
is printed at the end; ``--results-md`` re-renders ``benchmarks/RESULTS.md`` (the device is named there).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import math
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import goal

# relative RMS error vs the float64 CPU reference: (outputs, gradients) per dtype. fp32 torch kernels on the
# GPU run without TF32 (torch's matmul default); Triton libraries may use TF32 in fp32 (10-bit mantissa), so
# their fp32 bound is looser. bf16 (8-bit mantissa, 8x coarser than the fp16 that flash-linear-attention's
# own tests bound at 0.005 / 0.008-0.02) gets 0.02 / 0.05.
TOL = {
    "torch_fp32": (1e-4, 1e-3),
    "library_fp32": (5e-3, 1e-2),
    "bf16": (2e-2, 5e-2),
}
TOTAL_BUDGET_S = 480.0


class StepOverrun(Exception):
    pass


# ------------------------------------------------------------------------------------------------ helpers
def backend_name() -> str:
    import torch

    if not torch.cuda.is_available():
        return "cpu"
    if getattr(torch.version, "hip", None):
        return f"rocm {torch.version.hip}"
    return f"cuda {torch.version.cuda}"


def library_status(module: str) -> tuple[str, str | None]:
    """``("installed", version)``, ``("not installed", None)``."""
    if importlib.util.find_spec(module) is None:
        return "not installed", None
    try:
        from importlib.metadata import version

        dist = {"fla": "flash-linear-attention", "mamba_ssm": "mamba-ssm", "causal_conv1d": "causal-conv1d"}
        return "installed", version(dist.get(module, module))
    except Exception:
        return "installed", None


def rel_rms(x, ref) -> float:
    """``||x - ref|| / ||ref||`` in float64 on the CPU (complex tensors by magnitude)."""
    import torch

    x = x.detach().cpu().to(torch.complex128 if x.is_complex() else torch.float64)
    ref = ref.detach().cpu().to(x.dtype)
    return float((x - ref).abs().norm() / ref.abs().norm().clamp_min(1e-300))


def sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()


def run_with_grads(fn, inputs: dict, grad_keys, device, dtype_of, weight_seed: int = 1):
    """``fn(**inputs on device)``; its output weighted by a fixed random tensor is summed and back-propagated.
    ``dtype_of(key)`` gives each input's dtype. Returns ``(output, {key: grad})`` on the CPU."""
    import torch

    leaves = {}
    for k, v in inputs.items():
        t = v.detach().to(device=device, dtype=dtype_of(k, v))
        if k in grad_keys:
            t.requires_grad_(True)
        leaves[k] = t
    out = fn(**leaves)
    g = torch.Generator().manual_seed(weight_seed)
    w = torch.randn(out.shape, generator=g, dtype=torch.float64).to(device=device, dtype=out.real.dtype)
    (out.real * w).sum().backward() if out.is_complex() else (out * w).sum().backward()
    return out.detach().cpu(), {k: leaves[k].grad.detach().cpu() for k in grad_keys}


def compare(name, fn, ref_fn, inputs, grad_keys, device, dtype, tol, dtype_of=None, ref_dtype_of=None):
    """Rows of one forward+backward comparison: ``fn`` on ``device`` in ``dtype`` vs ``ref_fn`` in float64 on
    the CPU; one row for the output and one per gradient."""
    import torch

    def default_of(want):
        def of(k, v):
            if v.is_complex():
                return torch.complex64 if want in (torch.float32, torch.bfloat16) else torch.complex128
            return want

        return of

    out, grads = run_with_grads(fn, inputs, grad_keys, device, dtype_of or default_of(dtype))
    ref_out, ref_grads = run_with_grads(
        ref_fn, inputs, grad_keys, torch.device("cpu"), ref_dtype_of or default_of(torch.float64)
    )
    rows = []
    for what, a, b, t in [("output", out, ref_out, tol[0])] + [
        (f"d{k}", grads[k], ref_grads[k], tol[1]) for k in grad_keys
    ]:
        err = rel_rms(a, b)
        rows.append(
            {
                "check": name,
                "dtype": str(dtype).removeprefix("torch."),
                "tensor": what,
                "rel_rms": err,
                "tol": t,
                "status": "pass" if err <= t else "fail",
            }
        )
    return rows


class Ctx:
    def __init__(self, device, dry: bool):
        import torch

        self.device = torch.device(device)
        self.dry = dry
        self.bf16_tflops = None
        self.fp32_tflops = None
        self.goals: dict[str, dict] = {}
        self.deadline = None  # monotonic time at which the current step's budget ends
        # rows a step has produced so far: kept when it overruns or fails half-way (the speed steps fill it)
        self.partial: list[dict] = []

    @property
    def on_gpu(self) -> bool:
        return self.device.type == "cuda"

    def left(self) -> float:
        return self.deadline - time.monotonic() if self.deadline else math.inf


def peak_memory_mib(device) -> float:
    import torch

    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # process peak RSS (Linux: KiB)


def reset_peak(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def timed(fn, device, repeats: int = 3, warmup: int = 1) -> float:
    import statistics

    for _ in range(warmup):
        fn()
    sync(device)
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync(device)
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def is_oom(e: BaseException) -> bool:
    import torch

    return isinstance(e, torch.OutOfMemoryError) or "out of memory" in str(e).lower()


# ------------------------------------------------------------------------------------------------- steps
def step_env(ctx: Ctx) -> list[dict]:
    import torch

    rows = [
        {"check": "backend", "value": backend_name(), "status": "info"},
        {
            "check": "device",
            "value": torch.cuda.get_device_name(ctx.device) if ctx.on_gpu else "cpu",
            "status": "info",
        },
        {"check": "torch", "value": torch.__version__, "status": "info"},
    ]
    for mod in ("fla", "mamba_ssm", "causal_conv1d", "triton"):
        st, ver = library_status(mod)
        rows.append({"check": mod, "value": f"{st} {ver or ''}".strip(), "status": "info"})
    return rows


def step_matmul(ctx: Ctx) -> list[dict]:
    import torch

    n = 256 if ctx.dry else 8192
    rows = []
    for dtype in (torch.bfloat16, torch.float32):
        a = torch.randn(n, n, device=ctx.device, dtype=dtype)
        b = torch.randn(n, n, device=ctx.device, dtype=dtype)
        t = timed(lambda a=a, b=b: a @ b, ctx.device, repeats=5 if ctx.on_gpu else 2)
        tflops = 2 * n**3 / t / 1e12
        rows.append(
            {
                "check": f"matmul {n}^3",
                "dtype": str(dtype).removeprefix("torch."),
                "tflops": tflops,
                "status": "info",
            }
        )
        if dtype == torch.bfloat16:
            ctx.bf16_tflops = tflops
        else:
            ctx.fp32_tflops = tflops
    return rows


def _gdn_inputs(b, t, h, d, seed=0):
    import torch
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(seed)
    f64 = torch.float64
    return {
        "q": torch.randn(b, t, h, d, generator=g, dtype=f64),
        "k": F.normalize(torch.randn(b, t, h, d, generator=g, dtype=f64), dim=-1),
        "v": torch.randn(b, t, h, d, generator=g, dtype=f64),
        "g": F.logsigmoid(torch.randn(b, t, h, generator=g, dtype=f64) + 3.0),
        "beta": torch.sigmoid(torch.randn(b, t, h, generator=g, dtype=f64)),
    }


def _gdn(path):
    from biodyn.ops.gated_delta import gated_delta_rule

    def fn(q, k, v, g, beta):
        return gated_delta_rule(q, k, v, g, beta, path=path)[0]

    return fn


def _library_step(ctx: Ctx, module: str, run) -> list[dict]:
    """Common frame of a library comparison: not installed / no GPU / the comparison rows."""
    st, ver = library_status(module)
    if st == "not installed":
        return [{"check": module, "status": "not installed"}]
    if not ctx.on_gpu:
        return [
            {"check": module, "version": ver, "status": "not run", "detail": "needs a CUDA or ROCm device"}
        ]
    return run()


def _dtypes(ctx):
    import torch

    return (("float32", torch.float32), ("bfloat16", torch.bfloat16))


def step_fla(ctx: Ctx) -> list[dict]:
    def run():
        from biodyn.ops._backend import fla_chunk_gated_delta_rule

        lib = fla_chunk_gated_delta_rule()
        if lib is None:
            return [{"check": "fla", "status": "error", "detail": "installed but its import failed"}]
        inputs = _gdn_inputs(2, 512, 4, 64)
        rows = []
        for name, dt in _dtypes(ctx):
            tol_lib = TOL["library_fp32"] if name == "float32" else TOL["bf16"]
            tol_t = TOL["torch_fp32"] if name == "float32" else TOL["bf16"]
            rows += compare(
                "fla chunk_gated_delta_rule",
                _gdn("fla"),
                _gdn("reference"),
                inputs,
                list(inputs),
                ctx.device,
                dt,
                tol_lib,
            )
            rows += compare(
                "biodyn gated_delta_rule (chunked)",
                _gdn("chunked"),
                _gdn("reference"),
                inputs,
                list(inputs),
                ctx.device,
                dt,
                tol_t,
            )
        return rows

    return _library_step(ctx, "fla", run)


def _ssd_inputs(b, t, h, p, n, seed=0):
    import torch

    g = torch.Generator().manual_seed(seed)
    f64 = torch.float64
    return {
        "x": torch.randn(b, t, h, p, generator=g, dtype=f64),
        "dt": torch.rand(b, t, h, generator=g, dtype=f64) * 0.1 + 0.01,
        "A": -(torch.rand(h, generator=g, dtype=f64) + 0.5),
        "B": torch.randn(b, t, 1, n, generator=g, dtype=f64),
        "C": torch.randn(b, t, 1, n, generator=g, dtype=f64),
        "D": torch.randn(h, generator=g, dtype=f64),
    }


def _ssd(path):
    from biodyn.ops.ssd import ssd

    def fn(x, dt, A, B, C, D):
        return ssd(x, dt, A, B, C, D, path=path)[0]

    return fn


def _ssd_dtype_of(want):
    import torch

    # as in a Mamba2 layer: dt, A and D stay float32 when the activations are bf16
    def of(k, v):
        return want if k in ("x", "B", "C") or want == torch.float64 else torch.float32

    return of


def step_mamba(ctx: Ctx) -> list[dict]:
    def run():
        from biodyn.ops._backend import mamba_chunk_scan_combined

        if mamba_chunk_scan_combined() is None:
            return [{"check": "mamba_ssm", "status": "error", "detail": "installed but its import failed"}]
        inputs = _ssd_inputs(2, 512, 4, 64, 64)
        rows = []
        for name, dt in _dtypes(ctx):
            tol_lib = TOL["library_fp32"] if name == "float32" else TOL["bf16"]
            tol_t = TOL["torch_fp32"] if name == "float32" else TOL["bf16"]
            rows += compare(
                "mamba_ssm mamba_chunk_scan_combined",
                _ssd("mamba_ssm"),
                _ssd("reference"),
                inputs,
                list(inputs),
                ctx.device,
                dt,
                tol_lib,
                dtype_of=_ssd_dtype_of(dt),
            )
            rows += compare(
                "biodyn ssd (chunked)",
                _ssd("chunked"),
                _ssd("reference"),
                inputs,
                list(inputs),
                ctx.device,
                dt,
                tol_t,
                dtype_of=_ssd_dtype_of(dt),
            )
        return rows

    return _library_step(ctx, "mamba_ssm", run)


def _conv_inputs(b, t, d, k, seed=0):
    import torch

    g = torch.Generator().manual_seed(seed)
    f64 = torch.float64
    return {
        "x": torch.randn(b, t, d, generator=g, dtype=f64),
        "weight": torch.randn(d, k, generator=g, dtype=f64) * 0.5,
        "bias": torch.randn(d, generator=g, dtype=f64),
    }


def _biodyn_conv(x, weight, bias):
    """biodyn's ShortCausalConv1d (the Mamba2 block's convolution) with the given weights: ``(B, T, D)``."""
    import torch

    from biodyn.nn.conv import ShortCausalConv1d

    m = ShortCausalConv1d(x.shape[-1], weight.shape[-1]).to(device=x.device, dtype=x.dtype)
    with torch.no_grad():
        m.conv.weight.copy_(weight[:, None])
        m.conv.bias.copy_(bias)
    # the module's own parameters are copies: route the gradient to weight/bias through a functional call
    return torch.func.functional_call(m, {"conv.weight": weight[:, None], "conv.bias": bias}, (x,))


def _library_conv(x, weight, bias):
    from causal_conv1d import causal_conv1d_fn

    return causal_conv1d_fn(x.transpose(1, 2), weight, bias, activation="silu").transpose(1, 2)


def step_causal_conv(ctx: Ctx) -> list[dict]:
    def run():
        inputs = _conv_inputs(2, 1024, 128, 4)
        rows = []
        for name, dt in _dtypes(ctx):
            tol_lib = TOL["library_fp32"] if name == "float32" else TOL["bf16"]
            rows += compare(
                "causal_conv1d causal_conv1d_fn",
                _library_conv,
                _biodyn_conv,
                inputs,
                list(inputs),
                ctx.device,
                dt,
                tol_lib,
            )
            rows += compare(
                "biodyn ShortCausalConv1d",
                _biodyn_conv,
                _biodyn_conv,
                inputs,
                list(inputs),
                ctx.device,
                dt,
                TOL["torch_fp32"] if name == "float32" else TOL["bf16"],
            )
        return rows

    return _library_step(ctx, "causal_conv1d", run)


def step_biodyn_kernels(ctx: Ctx) -> list[dict]:
    """biodyn's own torch kernels on the device (fp32) vs the float64 CPU reference."""
    import torch

    from biodyn.ops.fractional_delay import lagged_mix, lagged_mix_dense
    from biodyn.ops.s4d import s4d, s4d_lin_init

    f32, tol = torch.float32, TOL["torch_fp32"]
    t = 32 if ctx.dry else 1024
    rows = []
    gi = _gdn_inputs(2, t, 2 if ctx.dry else 4, 16 if ctx.dry else 64)
    rows += compare(
        "gated_delta_rule chunked", _gdn("chunked"), _gdn("reference"), gi, list(gi), ctx.device, f32, tol
    )
    si = _ssd_inputs(2, t, 2 if ctx.dry else 4, 16 if ctx.dry else 64, 16 if ctx.dry else 64)
    rows += compare("ssd chunked", _ssd("chunked"), _ssd("reference"), si, list(si), ctx.device, f32, tol)
    g = torch.Generator().manual_seed(0)
    h, n = (4, 8) if ctx.dry else (64, 16)
    a = s4d_lin_init(h, n, dtype=torch.complex128)
    s4 = {
        "u": torch.randn(2, t, h, generator=g, dtype=torch.float64),
        "dt": torch.rand(2, t, h, generator=g, dtype=torch.float64) * 0.099 + 0.001,
        "B": torch.randn(h, n, generator=g, dtype=torch.complex128),
        "C": torch.randn(h, n, generator=g, dtype=torch.complex128),
    }

    def s4d_fn(path, constant=False):
        def fn(u, dt, B, C):
            step = dt[0, 0] if constant else dt
            return s4d(u, step, a.to(device=u.device, dtype=B.dtype), B, C, path=path)[0]

        return fn

    rows += compare(
        "s4d selective chunked", s4d_fn("chunked"), s4d_fn("reference"), s4, list(s4), ctx.device, f32, tol
    )
    rows += compare(
        "s4d constant-step fft",
        s4d_fn("fft", True),
        s4d_fn("reference", True),
        s4,
        ["u", "B", "C"],
        ctx.device,
        f32,
        tol,
    )
    c, tl = (4, 64) if ctx.dry else (19, 2560)
    lm = {
        "x": torch.randn(2, c, tl, generator=g, dtype=torch.float64),
        "weight": torch.randn(c, c, generator=g, dtype=torch.float64) / c,
        "tau": torch.rand(c, c, generator=g, dtype=torch.float64) * 8,
    }
    rows += compare(
        "lagged_mix (fused)",
        lambda x, weight, tau: lagged_mix(x, weight, tau),
        lambda x, weight, tau: lagged_mix_dense(x, weight, tau),
        lm,
        list(lm),
        ctx.device,
        f32,
        tol,
    )
    return rows


# -------------------------------------------------------------------------------------- training steps
def _system(name: str, dry: bool):
    """``(model, batch, loss_fn)`` of a system at its specification's size (tiny under ``--dry-run``)."""
    import torch
    import torch.nn.functional as F

    from biodyn.models import create_model

    g = torch.Generator().manual_seed(0)
    if name == "prism":  # ~8.8M parameters at the defaults (the published ~8.1M, docs/prism.md)
        c, t, b = (4, 32, 2) if dry else (16, 1024, 8)
        cfg = {"hidden_dim": 16, "num_heads": 2, "num_layers": 2, "delta_every": 2} if dry else {}
        m = create_model("prism", n_chans=c, n_outputs=10, n_times=t, sfreq=1.0, **cfg)
        x, y = torch.randn(b, c, t, generator=g), torch.randint(0, 10, (b,), generator=g)
        return m, x, lambda m, x: F.cross_entropy(m(x).float(), y.to(x.device))
    if name.startswith("seizure"):
        c, t, b = (19, 128, 2) if dry else (19, 15360, 2)
        cfg = (
            {
                "tcn_channels": [8, 8],
                "node_dim": 8,
                "node_layers": 1,
                "edge_dim": 8,
                "d_state": 4,
                "edge_d_state": 4,
                "mamba_headdim": 4,
                "gdn_heads": 2,
                "edge_gdn_heads": 2,
                "pe_k": 4,
                "decoder_dim": 8,
            }
            if dry
            else {}
        )
        m = create_model(name, n_chans=c, n_outputs=1, n_times=t, sfreq=256.0, **cfg)
        x = torch.randn(b, c, t, generator=g)
        y = (torch.rand(b, t, generator=g) < 0.3).float()
        return m, x, lambda m, x: F.binary_cross_entropy_with_logits(m(x).float(), y.to(x.device))
    if name == "cldtrans":  # stage 1 (VQ-VAE + LD-SEM) at 64 channels x 10 s at 160 Hz
        c, t, b = (4, 80, 2) if dry else (64, 1600, 4)
        cfg = (
            {"latent_dim": 8, "hidden": 8, "lag_hidden": 8, "lag_embed_dim": 4, "codebook_size": 16}
            if dry
            else {}
        )
        m = create_model(
            "cldtrans",
            n_chans=c,
            n_outputs=2,
            n_times=t,
            sfreq=160.0,
            modalities=["eeg"],
            modality_fs=[160.0],
            **cfg,
        )
        x = torch.randn(b, c, t, generator=g)
        return m, x, lambda m, x: sum(m.forward_loss({"x": x}).values())
    raise ValueError(name)


def step_train(name: str):
    def step(ctx: Ctx) -> list[dict]:
        import torch

        torch.manual_seed(0)
        m, x, loss_fn = _system(name, ctx.dry)
        m = m.to(ctx.device).train()
        x = x.to(ctx.device)
        n_params = sum(p.numel() for p in m.parameters())
        opt = torch.optim.AdamW(m.parameters(), lr=1e-3)
        reset_peak(ctx.device)

        def one():
            opt.zero_grad(set_to_none=True)
            with torch.autocast(ctx.device.type, dtype=torch.bfloat16):
                loss = loss_fn(m, x)
            loss.backward()
            return loss

        t0 = time.perf_counter()
        loss0 = one()
        sync(ctx.device)
        t_first = time.perf_counter() - t0
        grads_finite = all(bool(torch.isfinite(p.grad).all()) for p in m.parameters() if p.grad is not None)
        n_grad = sum(p.grad is not None for p in m.parameters())
        first = float(loss0.detach())
        losses = [first]
        opt.step()
        for _ in range(19):
            losses.append(float(one().detach()))
            opt.step()
        last = float(one().detach())  # the loss after the 20th update
        ok = math.isfinite(first) and grads_finite and last < first
        ctx.goals[f"train_{name}_loss_ratio_after_20_steps"] = goal(
            last / first if first else math.nan, 1.0, "x", False
        )
        return [
            {
                "check": f"bf16 train step {name}",
                "params": n_params,
                "batch": tuple(x.shape),
                "loss_first": first,
                "loss_after_20": last,
                "grads_finite": grads_finite,
                "params_with_grad": f"{n_grad}/{len(list(m.parameters()))}",
                "first_step_s": t_first,
                "peak_mib": peak_memory_mib(ctx.device),
                "status": "pass" if ok else "fail",
            }
        ]

    return step


# ------------------------------------------------------------------------------------------------- DDP
def ddp_child(out_path: str, dry: bool) -> None:
    """One torchrun rank: the process group on nccl (CUDA/ROCm) or gloo (CPU), then biodyn's Trainer, which
    wraps the objective in DistributedDataParallel when a process group exists."""
    import torch
    import torch.distributed as dist

    from biodyn.models import create_model
    from biodyn.train import TensorDictDataset, TrainConfig, Trainer

    cuda = torch.cuda.is_available() and not dry
    backend = "nccl" if cuda else "gloo"
    if cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend)
    try:
        torch.manual_seed(0)
        t = 128 if dry else 2048
        m = create_model("seizure_tiny", n_chans=19, n_outputs=1, n_times=t, sfreq=256.0)
        g = torch.Generator().manual_seed(0)
        ds = TensorDictDataset(
            torch.randn(8, 19, t, generator=g), torch.zeros(8), (torch.rand(8, t, generator=g) < 0.3).float()
        )
        with tempfile.TemporaryDirectory() as tmp:
            cfg = TrainConfig(
                out_dir=tmp,
                task="per_sample",
                batch_size=2,
                max_steps=3,
                warmup_steps=1,
                lr=1e-3,
                eval_every=0,
                ckpt_every=0,
                progress=False,
                tensorboard=False,
                device="cuda" if cuda else "cpu",
            )
            tr = Trainer(m, ds, None, cfg, model_name="seizure_tiny")
            wrapped = type(tr.ddp_objective).__name__
            tr.fit()
        probe = torch.ones(1, device="cuda" if cuda else "cpu")
        dist.all_reduce(probe)
        finite = all(bool(torch.isfinite(p).all()) for p in m.parameters())
        res = {
            "backend": dist.get_backend(),
            "world_size": dist.get_world_size(),
            "wrapped_in": wrapped,
            "all_reduce": float(probe),
            "params_finite": finite,
        }
    finally:
        dist.destroy_process_group()
    Path(out_path).write_text(json.dumps(res))


def step_ddp(ctx: Ctx) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rank0.json"
        cmd = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "1",
            str(Path(__file__).resolve()),
            "--ddp-child",
            str(out),
        ] + (["--dry-run"] if ctx.dry else [])
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=max(5.0, ctx.left()), check=False)
        if proc.returncode != 0 or not out.is_file():
            return [
                {
                    "check": "torchrun --nproc_per_node 1",
                    "status": "error",
                    "detail": (proc.stderr or proc.stdout)[-600:],
                }
            ]
        res = json.loads(out.read_text())
    want = "gloo" if ctx.dry or not ctx.on_gpu else "nccl"
    ok = (
        res["backend"] == want
        and res["wrapped_in"] == "DistributedDataParallel"
        and res["all_reduce"] == 1.0
        and res["params_finite"]
    )
    return [{"check": "torchrun --nproc_per_node 1", **res, "status": "pass" if ok else "fail"}]


# ------------------------------------------------------------------------------------------------ speed
def _fwdbwd_flops(fn) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as fc:
        fn()
    return float(fc.get_total_flops())


def _largest_batch(ctx: Ctx, make_step, start: int, limit: int) -> tuple[int, str]:
    """Double the batch from ``start`` while a training step fits in memory (up to ``limit``, and while the
    step's budget lasts). Returns the largest batch that ran and why the search stopped."""
    import torch

    ok, b = 0, start
    while b <= limit:
        t0 = time.perf_counter()
        try:
            make_step(b)()
            sync(ctx.device)
        except Exception as e:
            if is_oom(e):
                if ctx.on_gpu:
                    torch.cuda.empty_cache()
                return ok, f"out of memory at {b}"
            raise
        ok = b
        # the next (double) batch takes about twice as long: stop before the budget runs out
        if 2.5 * (time.perf_counter() - t0) > ctx.left() - 5:
            return ok, f"budget (next {2 * b})"
        b *= 2
    return ok, f"limit {limit}"


def _train_step_fn(m, x, loss_fn, device):
    import torch

    def step():
        m.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.bfloat16):
            loss = loss_fn(m, x)
        loss.backward()

    return step


def step_speed_seizure(ctx: Ctx) -> list[dict]:
    import torch
    import torch.nn.functional as F

    from biodyn.models import create_model

    c, t = (19, 128) if ctx.dry else (19, 15360)
    batch, detect_batch = (2, 2) if ctx.dry else (4, 4)
    rows = ctx.partial
    for stack in ("bimamba2", "gdn"):
        cfg = (
            {
                "tcn_channels": [8, 8],
                "node_dim": 8,
                "node_layers": 1,
                "edge_dim": 8,
                "pe_k": 4,
                "decoder_dim": 8,
                "gdn_heads": 2,
                "edge_gdn_heads": 2,
                "mamba_headdim": 4,
            }
            if ctx.dry
            else {}
        )
        torch.manual_seed(0)
        m = create_model(f"seizure_{stack}", n_chans=c, n_outputs=1, n_times=t, sfreq=256.0, **cfg).to(
            ctx.device
        )

        def make(b, m=m):
            x = torch.randn(b, c, t, device=ctx.device)
            return _train_step_fn(m, x, lambda m, x: F.softplus(m(x).float()).mean(), ctx.device)

        step = make(batch)
        flops = _fwdbwd_flops(step)
        reset_peak(ctx.device)
        sec = timed(step, ctx.device, repeats=3 if not ctx.dry else 1)
        peak = peak_memory_mib(ctx.device)
        mfu = flops / sec / (ctx.bf16_tflops * 1e12)
        m.eval()
        xd = torch.randn(detect_batch, c, t, device=ctx.device)
        with torch.inference_mode():
            t_fp32 = timed(lambda m=m, xd=xd: m(xd), ctx.device, repeats=3 if not ctx.dry else 1)
            with torch.autocast(ctx.device.type, dtype=torch.bfloat16):
                t_bf16 = timed(lambda m=m, xd=xd: m(xd), ctx.device, repeats=3 if not ctx.dry else 1)
        m.train()
        rtf = detect_batch * t / 256.0 / t_fp32
        largest, why = _largest_batch(ctx, make, batch, 8 if ctx.dry else 256)
        rows.append(
            {
                "check": f"speed seizure_{stack}",
                "batch": batch,
                "fwdbwd_s": sec,
                "fwdbwd_tflop": flops / 1e12,
                "mfu_vs_bf16_matmul": mfu,
                "peak_mib": peak,
                "train_windows_per_s": batch / sec,
                "inference_rtf_fp32": rtf,
                "inference_rtf_bf16": detect_batch * t / 256.0 / t_bf16,
                "largest_batch": largest,
                "largest_batch_stop": why,
                "status": "info",
            }
        )
        ctx.goals[f"gpu_mfu_{stack}"] = goal(mfu, 0.25, "of bf16 matmul rate", True)
        ctx.goals[f"gpu_inference_rtf_{stack}"] = goal(rtf, 10.0, "x real time", True)
        del m
    return rows


def step_speed_prism(ctx: Ctx) -> list[dict]:
    import torch

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_prism import _models

    width, layers, heads = (16, 2, 2) if ctx.dry else (64, 4, 4)
    ts = (32, 64) if ctx.dry else (1024, 4096, 16384)
    torch.manual_seed(0)
    prism, tf = (m.to(ctx.device) for m in _models(width, layers, heads)[:2])
    rows, times = ctx.partial, {}
    for t in ts:
        x = torch.randn(1, 16, t, device=ctx.device)
        for name, m in (("prism", prism), ("transformer", tf)):
            step = _train_step_fn(m, x, lambda m, x: m(x).float().sum(), ctx.device)
            reset_peak(ctx.device)
            try:
                times[(name, t)] = timed(step, ctx.device, repeats=3 if not ctx.dry else 1)
                rows.append(
                    {
                        "check": f"speed {name}",
                        "T": t,
                        "fwdbwd_s": times[(name, t)],
                        "peak_mib": peak_memory_mib(ctx.device),
                        "status": "info",
                    }
                )
            except Exception as e:
                if not is_oom(e):
                    raise
                times[(name, t)] = math.inf
                rows.append({"check": f"speed {name}", "T": t, "status": "out of memory"})
    t_mid, t_long = ts[-2], ts[-1]
    ctx.goals[f"gpu_prism_scaling_{t_long}_over_{t_mid}"] = goal(
        times[("prism", t_long)] / times[("prism", t_mid)], 4.5 * (t_long / t_mid) / 4, "x", False
    )
    ctx.goals[f"gpu_prism_speedup_vs_transformer_T{t_long}"] = goal(
        times[("transformer", t_long)] / times[("prism", t_long)], 2.0, "x", True
    )
    # the specification-size PRISM: MFU, peak memory, largest batch
    m, x, _ = _system("prism", ctx.dry)
    m = m.to(ctx.device)

    def make(b):
        xb = torch.randn(b, *x.shape[1:], device=ctx.device)
        return _train_step_fn(m, xb, lambda m, x: m(x).float().logsumexp(-1).mean(), ctx.device)

    step = make(x.shape[0])
    flops = _fwdbwd_flops(step)
    reset_peak(ctx.device)
    sec = timed(step, ctx.device, repeats=3 if not ctx.dry else 1)
    mfu = flops / sec / (ctx.bf16_tflops * 1e12)
    largest, why = _largest_batch(ctx, make, x.shape[0], 8 if ctx.dry else 1024)
    rows.append(
        {
            "check": "speed prism (spec size)",
            "batch": tuple(x.shape),
            "fwdbwd_s": sec,
            "mfu_vs_bf16_matmul": mfu,
            "peak_mib": peak_memory_mib(ctx.device),
            "largest_batch": largest,
            "largest_batch_stop": why,
            "status": "info",
        }
    )
    return rows


def step_speed_ssm(ctx: Ctx) -> list[dict]:
    """bench_ssm's mixers (B4 H8 head dim 64) on the device: chunked torch form vs the token reference at
    T=1024 (its goal: >= 4x), the chunked form and the CUDA library at T=4096, MFU and peak memory."""
    import torch

    b, h, d = (1, 2, 16) if ctx.dry else (4, 8, 64)
    t_ref, t_long = (32, 64) if ctx.dry else (1024, 4096)
    rows = ctx.partial
    mixers = {"gdn": (_gdn_inputs, _gdn, "fla", None), "ssd": (_ssd_inputs, _ssd, "mamba_ssm", _ssd_dtype_of)}
    for mixer, (make_inputs, fn_of, library, dof) in mixers.items():
        paths = ["reference", "chunked"]
        if ctx.on_gpu and library_status("fla" if library == "fla" else "mamba_ssm")[0] == "installed":
            paths.append(library)
        for t in (t_ref, t_long):
            args = (b, t, h, d) if mixer == "gdn" else (b, t, h, d, d)
            for path in paths:
                if path == "reference" and t != t_ref:
                    continue
                for dtype in (torch.float32, torch.bfloat16):
                    if path == "reference" and dtype == torch.bfloat16:
                        continue
                    of = dof(dtype) if dof else (lambda k, v, dtype=dtype: dtype)
                    ins = {
                        k: v.to(device=ctx.device, dtype=of(k, v)).requires_grad_()
                        for k, v in make_inputs(*args).items()
                    }
                    fn = fn_of(path)

                    def step(fn=fn, ins=ins):
                        for v in ins.values():
                            v.grad = None
                        fn(**ins).float().sum().backward()

                    try:
                        flops = _fwdbwd_flops(step)
                        reset_peak(ctx.device)
                        # the token loop is slow on a GPU (a few kernels per step): timed once
                        slow = ctx.dry or path == "reference"
                        sec = timed(step, ctx.device, repeats=1 if slow else 3, warmup=0 if slow else 1)
                    except Exception as e:
                        rows.append(
                            {
                                "check": f"ssm {mixer} {path}",
                                "T": t,
                                "dtype": str(dtype)[6:],
                                "status": "error",
                                "detail": f"{type(e).__name__}: {e}"[:300],
                            }
                        )
                        continue
                    rows.append(
                        {
                            "check": f"ssm {mixer} {path}",
                            "T": t,
                            "dtype": str(dtype)[6:],
                            "fwdbwd_s": sec,
                            "mfu_vs_bf16_matmul": flops / sec / (ctx.bf16_tflops * 1e12),
                            "peak_mib": peak_memory_mib(ctx.device),
                            "status": "info",
                        }
                    )
        by = {(r["check"], r["T"], r.get("dtype")): r.get("fwdbwd_s") for r in rows}
        ref = by.get((f"ssm {mixer} reference", t_ref, "float32"))
        chk = by.get((f"ssm {mixer} chunked", t_ref, "float32"))
        if ref and chk:
            ctx.goals[f"gpu_{mixer}_chunk_speedup_fwdbwd_T{t_ref}"] = goal(ref / chk, 4.0, "x", True)
    return rows


STEPS = [  # name, budget in seconds on a GPU, function
    ("env", 10, step_env),
    ("matmul", 15, step_matmul),
    ("fla_gated_delta", 45, step_fla),
    ("mamba_ssd", 45, step_mamba),
    ("causal_conv1d", 15, step_causal_conv),
    ("biodyn_kernels", 40, step_biodyn_kernels),
    ("train_prism", 25, step_train("prism")),
    ("train_seizure_bimamba2", 40, step_train("seizure_bimamba2")),
    ("train_seizure_gdn", 40, step_train("seizure_gdn")),
    ("train_cldtrans", 25, step_train("cldtrans")),
    ("ddp", 40, step_ddp),
    ("speed_seizure", 60, step_speed_seizure),
    ("speed_prism", 40, step_speed_prism),
    ("speed_ssm", 40, step_speed_ssm),
]


# ------------------------------------------------------------------------------------------------- runner
@contextlib.contextmanager
def budget(seconds: float):
    """Raise :class:`StepOverrun` in the main thread once ``seconds`` have passed (checked between Python
    bytecodes: a long GPU kernel ends first)."""

    def _raise(signum, frame):
        raise StepOverrun(f"over its budget of {seconds:.0f} s")

    old = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.01))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def step_status(rows: list[dict]) -> str:
    st = [r.get("status") for r in rows]
    for s in ("error", "fail", "out of memory", "not installed", "not run"):
        if s in st:
            return s
    return "pass"


def write_json(path: str | None, payload: dict) -> None:
    if not path:
        return
    from biodyn.atomic import atomic_write_json
    from biodyn.bench import stamp

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, {"benchmark": "bench_gpu", **stamp(), **payload})


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--json", metavar="PATH", help="write rows, goals and per-step status as JSON (after every step)"
    )
    p.add_argument(
        "--dry-run", action="store_true", help="every step at tiny sizes on the CPU (gloo), in seconds"
    )
    p.add_argument(
        "--quick", action="store_true", help="the same as --dry-run (what `biodyn bench --quick` passes)"
    )
    p.add_argument("--device", default=None, help="default: cuda:0 (ROCm builds call it cuda too)")
    p.add_argument(
        "--steps", default=None, help="comma-separated subset of: " + ", ".join(s[0] for s in STEPS)
    )
    p.add_argument("--budget-scale", type=float, default=1.0, help="multiply every step's time budget")
    p.add_argument("--results-md", default=None, help="re-render this RESULTS.md from the JSON's folder")
    p.add_argument("--ddp-child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    import torch

    args.dry_run = args.dry_run or args.quick
    if args.ddp_child:
        ddp_child(args.ddp_child, args.dry_run)
        return 0
    if args.dry_run:
        device = "cpu"
        torch.set_num_threads(min(2, torch.get_num_threads()))
    else:
        device = args.device or "cuda:0"
        if device.startswith("cuda") and not torch.cuda.is_available():
            print(
                "bench_gpu: error: no CUDA or ROCm device here (use --dry-run for the CPU check)",
                file=sys.stderr,
            )
            return 2
    chosen = [s.strip() for s in args.steps.split(",")] if args.steps else [s[0] for s in STEPS]
    unknown = sorted(set(chosen) - {s[0] for s in STEPS})
    if unknown:
        p.error(f"unknown step(s) {unknown}")
    if "matmul" not in chosen and any(c.startswith("speed") for c in chosen):
        chosen.insert(0, "matmul")  # the MFU denominators
    ctx = Ctx(device, args.dry_run)
    rows, steps = [], {}
    start = time.monotonic()
    total = TOTAL_BUDGET_S * args.budget_scale
    extra = {
        "backend": backend_name() if not args.dry_run else "cpu (dry run)",
        "dry_run": args.dry_run,
        "quick": args.dry_run,
        "device": str(ctx.device),
        "tolerances": TOL,
    }
    for name, seconds, fn in STEPS:
        if name not in chosen:
            continue
        seconds *= args.budget_scale
        if time.monotonic() - start > total:
            steps[name] = {
                "status": "not run",
                "seconds": 0.0,
                "detail": f"total budget of {total:.0f} s spent",
            }
            continue
        print(f"== {name} (budget {seconds:.0f} s)", flush=True)
        t0 = time.monotonic()
        ctx.deadline = t0 + seconds
        ctx.partial = []
        try:
            with budget(seconds):
                out = fn(ctx)
            status, detail = step_status(out), ""
        except StepOverrun as e:
            out, status, detail = list(ctx.partial), "overrun", str(e)
        except Exception as e:
            out, status, detail = list(ctx.partial), "error", f"{type(e).__name__}: {e}"
            traceback.print_exc()
        finally:
            ctx.deadline = None
        dt = time.monotonic() - t0
        steps[name] = {
            "status": status,
            "seconds": dt,
            "budget_s": seconds,
            **({"detail": detail} if detail else {}),
        }
        rows += [{"step": name, **r} for r in out]
        print(f"   {status} in {dt:.1f} s" + (f": {detail}" if detail else ""), flush=True)
        write_json(args.json, {"rows": rows, "goals": ctx.goals, "steps": steps, "complete": False, **extra})
    # summary
    print()
    print(f"{'step':24s} {'status':14s} {'seconds':>8s}  detail")
    for name, s in steps.items():
        print(f"{name:24s} {s['status']:14s} {s['seconds']:8.1f}  {s.get('detail', '')[:80]}")
    for g, v in ctx.goals.items():
        op = ">=" if v["higher_is_better"] else "<="
        print(
            f"goal {g}: {v['value']:.4g} {v['unit']} (target {op} {v['target']:g}) {'MET' if v['met'] else 'NOT MET'}"
        )
    print(f"backend: {extra['backend']}; total {time.monotonic() - start:.1f} s")
    summary = [{"step": n, "status": s["status"], "seconds": s["seconds"]} for n, s in steps.items()]
    write_json(
        args.json, {"rows": summary + rows, "goals": ctx.goals, "steps": steps, "complete": True, **extra}
    )
    if args.json:
        print(f"wrote {args.json}")
    if args.results_md and args.json:
        from biodyn.bench import write_results_md

        print(f"wrote {write_results_md(Path(args.json).parent, args.results_md)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
