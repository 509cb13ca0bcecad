"""CLD-Trans: Causal-Lagged Dynamic Transformer for biosignals (motif VQ-VAE + LD-SEM + graph ODE).

Three parts trained without labels:

1. A motif VQ-VAE (:class:`~biodyn.nn.vq.MotifTokenizer`): per-channel conv encoder, a 512-entry codebook,
   a decoder; one tokenizer for EEG (160 Hz) and ECG (500 Hz) through a modality embedding.
2. An amortised lag encoder (:class:`~biodyn.nn.lag_encoder.LagEncoder`, one per modality since its
   delay range in samples differs) giving every window its own ``tau_ij in [0, tau_max]`` and ``A_ij``,
   trained by the lagged-delay SEM (LD-SEM) objective: each channel is explained by its lagged parents
   through the fused fractional-delay mix (:func:`~biodyn.ops.batched_lag.lagged_mix_batched`,
   zero-padded, never a ``(B, C, C, T)`` tensor), with a Laplace (default) or Gaussian likelihood of the
   residuals (scale profiled out per channel), L1 on ``A`` and a stability penalty on ``rho(|A|)``.
3. A graph-conditioned neural ODE (:class:`~biodyn.nn.ode.GraphODE`) over per-channel latent states, with
   ``A(t)`` inferred on successive sub-windows, trained (stage 2) to predict the next sub-window's latents.

``forward_loss(batch)`` returns the named, already weighted terms; ``lag_graph(x)`` gives a recording's
:class:`~biodyn.types.LagGraph` for zero-shot read-out (focal lead = ``argmin_i sum_j tau_ij``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from biodyn.errors import ConfigError, check_option
from biodyn.models._base import BiodynModel
from biodyn.models._registry import ModelInputs, register_model
from biodyn.nn.lag_encoder import LagEncoder, ldsem_terms, stability_bound
from biodyn.nn.ode import GraphODE, GraphStep
from biodyn.nn.vq import MotifTokenizer, codebook_stats
from biodyn.types import LagGraph

SEEDS = (42, 123, 7, 0, 256)  # the seeds of the CLD-Trans protocol (a run setting; not part of the model)
_PREPROCESS = {"eeg": "CLDTRANS_EEG", "ecg": "CLDTRANS_ECG"}  # biodyn.signal.config: the pretraining chains


@dataclass
class CLDTransConfig:
    """CLD-Trans' architecture and the weights of its loss terms. What a training run decides lives in the
    run: the stage (:meth:`CLDTrans.set_stage`), a supervised objective (``train.objective=task``, the
    task's loss on ``model(x)``), the modalities it trained on (``model.input_spec.modalities``)."""

    # motif VQ-VAE
    codebook_size: int = 512  # physiological primitives (spike-wave, QRS, K-complex, ...)
    latent_dim: int = 64
    hidden: int = 64
    downsample: int = 4  # encoder time reduction (160 Hz EEG -> 40 latent frames/s)
    use_vq: bool = True  # False: continuous latents (ablation no_vq)
    commitment_weight: float = 0.25
    vq_decay: float = 0.99  # EMA decay of the codebook (k-means initialised on the first training batch)
    dead_code_threshold: int = 2  # codes with EMA usage below this are replaced by batch vectors
    recon_weight: float = 1.0
    # modalities: one tokenizer; each modality at its own common rate (no resampling inside the model)
    modalities: list[str] = field(default_factory=lambda: ["eeg", "ecg"])
    modality_fs: list[float] = field(default_factory=lambda: [160.0, 500.0])
    # lags and the LD-SEM objective
    tau_max_s: float = 0.05  # delays in [0, tau_max]: 8 samples at 160 Hz, 25 at 500 Hz
    lag_mode: str = "continuous"  # continuous | integer (ablation integer_lag) | zero (ablation no_lag)
    lag_hidden: int = 64
    lag_embed_dim: int = 16  # per-channel embedding of the pooled latents given to the lag encoder
    a_max: float = 1.5  # |A_ij| bound
    likelihood: str = "laplace"  # laplace | gaussian (residual likelihood)
    ldsem_weight: float = 1.0
    # share of the LD-SEM gradient that reaches the tokenizer through the motif latents the lag encoder reads
    # (1: all of it). At 1 it swamps the reconstruction (the recon loss did not move in 100 CPU steps), at 0.1
    # and 0 the tokenizer learned (docs/cldtrans.md, "Tokenizer and LD-SEM")
    ldsem_latent_grad: float = 0.1
    l1_weight: float = 1e-3  # on sum_i |A_ij| per target
    stability_weight: float = 1.0
    stability_max: float = 0.95  # penalise rho(|A|) above this
    lag_impl: str = "fused"  # fused | dense (the (B, C, C, T) formulation, for benchmarks)
    lag_band: int = 64  # frequencies per block of the fused mix
    checkpoint_lag: bool = False  # recompute the lag path in backward (activation checkpointing)
    # recompute the tokenizer's full-rate convolutions in backward (bench_cldtrans: ~11 % less peak memory per
    # window at the full config, whose peak the amortised lag encoder's pairwise features set)
    checkpoint_tokenizer: bool = False
    edge_threshold: float = 0.05  # |A| below this is no edge in lag_graph()
    # graph-conditioned neural ODE (stage 2)
    use_ode: bool = True  # False: a discrete graph step instead (ablation no_ode)
    ode_hidden: int = 64
    ode_method: str = "dopri5"  # dopri5 | rk4
    ode_rtol: float = 1e-3
    ode_atol: float = 1e-4
    ode_step_size: float = 0.25  # rk4 step, in sub-windows
    ode_adjoint: bool = False
    n_subwindows: int = 4  # A(t) and the latent frames on this many successive sub-windows
    ode_weight: float = 1.0


class CLDTrans(BiodynModel):
    """CLD-Trans. ``x`` ``(B, C, T)`` at one modality's rate; ``output = "clip"`` (``(B, n_outputs)`` from
    pooled motif latents, for few-shot heads).

    Training is staged (:attr:`stages`): a new model is in ``"stage1"`` (VQ-VAE + LD-SEM);
    :meth:`set_stage` ``("stage2")`` adds the graph-ODE term and freezes the tokenizer. The stage is the run's
    state, not the architecture: a rebuilt model starts in stage 1, and a stage-2 run sets it again."""

    output = "clip"
    stages = ("stage1", "stage2")

    def __init__(
        self,
        n_chans: int,
        n_outputs: int,
        n_times: int | None,
        sfreq: float,
        cfg: CLDTransConfig | None = None,
    ):
        super().__init__(n_chans, n_outputs, n_times, sfreq, cfg or CLDTransConfig())
        c = self.cfg
        if self.n_times is None:  # windows of 10 s unless told otherwise (lag_graph cuts recordings so)
            self.n_times = round(10.0 * self.sfreq)
        check_option("cldtrans.lag_mode", c.lag_mode, ("continuous", "integer", "zero"))
        check_option("cldtrans.likelihood", c.likelihood, ("laplace", "gaussian"))
        check_option("cldtrans.lag_impl", c.lag_impl, ("fused", "dense"))
        if not 0.0 <= c.ldsem_latent_grad <= 1.0:
            raise ConfigError(f"cldtrans.ldsem_latent_grad must be in [0, 1], got {c.ldsem_latent_grad}")
        if len(c.modalities) != len(c.modality_fs):
            raise ConfigError(
                f"cldtrans.modalities {c.modalities} and modality_fs {c.modality_fs} differ in length"
            )
        if n_chans < 2:
            raise ConfigError(f"CLD-Trans needs at least 2 channels (a lag graph), got n_chans={n_chans}")
        self.tokenizer = MotifTokenizer(
            len(c.modalities),
            c.latent_dim,
            c.hidden,
            c.downsample,
            c.codebook_size,
            c.use_vq,
            c.commitment_weight,
            c.vq_decay,
            True,
            c.dead_code_threshold,
        )
        self.embed = nn.Linear(c.latent_dim, c.lag_embed_dim)
        self.lag = nn.ModuleDict(
            {
                m: LagEncoder(self.tau_max_samples(m), c.lag_embed_dim, c.lag_hidden, c.a_max, c.lag_mode)
                for m in c.modalities
            }
        )
        self.ode = (
            GraphODE(
                c.latent_dim,
                c.ode_hidden,
                c.ode_method,
                c.ode_rtol,
                c.ode_atol,
                c.ode_step_size,
                c.ode_adjoint,
            )
            if c.use_ode
            else GraphStep(c.latent_dim, c.ode_hidden)
        )
        self.head = nn.Linear(c.latent_dim, n_outputs)
        self.default_modality = self.modality_for_fs(sfreq)
        self.stage = "stage1"

    # ------------------------------------------------------------------ modalities
    def tau_max_samples(self, modality: str) -> float:
        return self.cfg.tau_max_s * self.cfg.modality_fs[self.cfg.modalities.index(modality)]

    def modality_for_fs(self, fs: float) -> str:
        """The modality whose common rate is ``fs`` (a clear error for any other rate)."""
        for m, mfs in zip(self.cfg.modalities, self.cfg.modality_fs):
            if abs(float(fs) - mfs) < 1e-6:
                return m
        rates = ", ".join(f"{m} at {f:g} Hz" for m, f in zip(self.cfg.modalities, self.cfg.modality_fs))
        raise ConfigError(
            f"CLD-Trans takes {rates}; got a window at {float(fs):g} Hz: resample it first "
            "(biodyn.signal.preprocess with the modality's PreprocessConfig)"
        )

    def check_modality(self, modality: str) -> None:
        """Refuse a modality this checkpoint was not trained on."""
        check_option("modality", modality, self.cfg.modalities)
        trained = self.input_spec.modalities if self.input_spec is not None else None
        if trained is not None and modality not in trained:
            raise ConfigError(
                f"this CLD-Trans checkpoint was trained on {', '.join(trained)} only; it cannot "
                f"read {modality} (train on {modality} windows or use a checkpoint that was)"
            )

    def _batch_modality(self, batch: dict, x: torch.Tensor) -> str:
        mod = batch.get("modality")
        fs = batch.get("fs")
        if fs is not None:
            rates = sorted({float(v) for v in torch.as_tensor(fs).reshape(-1).tolist()})
            if len(rates) > 1:
                raise ConfigError(
                    f"mixed sampling rates in one batch ({', '.join(f'{r:g}' for r in rates)} Hz) "
                    "without resampling: resample every window to its modality's rate"
                )
            from_fs = self.modality_for_fs(rates[0])
        if mod is not None:
            if isinstance(mod, str):
                names = {mod}
            elif torch.is_tensor(mod):
                names = {self.cfg.modalities[int(i)] for i in mod.reshape(-1).tolist()}
            else:
                names = set(mod)
            if len(names) > 1:
                raise ConfigError(f"mixed modalities in one batch: {sorted(names)}")
            name = names.pop()
            if fs is not None and name != from_fs:
                raise ConfigError(f"batch says modality {name} but its rate {rates[0]:g} Hz is {from_fs}'s")
            return name
        return from_fs if fs is not None else self.default_modality

    def _check_x(self, x: torch.Tensor) -> None:
        if x.ndim != 3:
            raise ConfigError(f"CLD-Trans expects x (B, C, T), got shape {tuple(x.shape)}")
        if x.shape[1] < 2:
            raise ConfigError(f"CLD-Trans needs at least 2 channels (a lag graph), got {x.shape[1]}")
        if not bool(torch.isfinite(x).all()):
            bad = (~torch.isfinite(x)).reshape(x.shape[0], -1).any(1).nonzero().reshape(-1).tolist()
            raise ConfigError(f"NaN or Inf in input window(s) {bad[:10]} of the batch; clean or drop them")

    # ------------------------------------------------------------------ parts
    def infer_lags(self, x: torch.Tensor, latents: torch.Tensor, modality: str):
        """``tau`` (samples), ``weight`` ``(B, C, C)`` for windows ``x`` ``(B, C, T)`` and their latents."""
        return self.lag[modality](x, self.embed(latents.mean(2)))

    def _ldsem_terms(self, x, latents, modality):
        c = self.cfg
        if c.ldsem_latent_grad != 1.0:  # same values; the gradient into the tokenizer scaled
            latents = latents.detach() + c.ldsem_latent_grad * (latents - latents.detach())
        tau, weight = self.infer_lags(x, latents, modality)
        nll, l1, _ = ldsem_terms(
            x, tau, weight, self.tau_max_samples(modality), c.likelihood, c.lag_impl, c.lag_band
        )
        stab = F.relu(stability_bound(weight.float()) - c.stability_max).square().mean()
        return nll, l1, stab

    def _ode_term(self, x, latents, modality):
        c = self.cfg
        b, ch, tp, d = latents.shape
        k = c.n_subwindows
        frames = tp // k
        sub_t = x.shape[-1] // k
        if k < 2 or frames < 1:
            raise ConfigError(f"stage 2 needs n_subwindows >= 2 and a window of at least {k} latent frames")
        # (B, K, C, D)
        s = latents[:, :, : frames * k].reshape(b, ch, k, frames, d).mean(3).transpose(1, 2).detach()
        xs = x[..., : sub_t * k].reshape(b, ch, k, sub_t).transpose(1, 2).reshape(b * k, ch, sub_t)
        _, w = self.lag[modality](xs, self.embed(s.reshape(b * k, ch, d)))
        graphs = w.reshape(b, k, ch, ch)
        if c.use_ode:
            times = torch.arange(k, device=x.device, dtype=torch.float32)
            pred = self.ode(s[:, 0].float(), graphs.float(), times)  # (K, B, C, D)
        else:
            pred = self.ode(s[:, 0].float(), graphs.float(), k - 1)
        target = s.transpose(0, 1).float()
        return F.mse_loss(pred[1:], target[1:]) / target.var().clamp_min(1e-6)

    # ------------------------------------------------------------------ contract
    def forward_loss(self, batch: dict) -> dict[str, torch.Tensor]:
        """Named, weighted loss terms for ``batch["x"]`` ``(B, C, T)`` (or ``(1, B, C, T)``, a block of one
        modality); optional ``modality`` (names or indices) and ``fs`` ``(B,)`` are checked."""
        c = self.cfg
        x = batch["x"]
        if x.ndim == 4:
            x = x.flatten(0, 1)
        self._check_x(x)
        modality = self._batch_modality(batch, x)
        check_option("modality", modality, c.modalities)
        mod_idx = torch.full((x.shape[0],), c.modalities.index(modality), device=x.device, dtype=torch.long)
        out = self.tokenizer(x, mod_idx, checkpoint=c.checkpoint_tokenizer)
        self.last_codes = out["codes"]
        terms = {"recon": c.recon_weight * F.mse_loss(out["recon"].float(), x.float())}
        if c.use_vq:
            terms["vq_commit"] = out["commit"]
        if c.checkpoint_lag and torch.is_grad_enabled():
            nll, l1, stab = checkpoint(self._ldsem_terms, x, out["latents"], modality, use_reentrant=False)
        else:
            nll, l1, stab = self._ldsem_terms(x, out["latents"], modality)
        terms["ldsem_nll"] = c.ldsem_weight * nll
        terms["l1"] = c.l1_weight * l1
        terms["stability"] = c.stability_weight * stab
        if self.stage == "stage2":
            terms["ode"] = c.ode_weight * self._ode_term(x, out["latents"], modality)
        return terms

    def codebook_stats(self) -> dict[str, float] | None:
        """Usage and perplexity of the codes of the last ``forward_loss`` batch."""
        if getattr(self, "last_codes", None) is None:
            return None
        s = codebook_stats(self.last_codes, self.cfg.codebook_size)
        return {"codebook_usage": s.usage, "codebook_perplexity": s.perplexity}

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, T)`` -> ``(B, latent_dim)``: motif latents pooled over channels and frames (at the
        modality of the model's ``sfreq``, which must be one it was trained on)."""
        self._check_x(x)
        self.check_modality(self.default_modality)
        mod = torch.full((x.shape[0],), self.cfg.modalities.index(self.default_modality), device=x.device)
        z = self.tokenizer.encode(x, mod)
        q, _, _ = self.tokenizer.quantize(z)
        return q.mean(dim=(1, 2))

    def forward_head(self, features: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        return features if pre_logits else self.head(features)

    @torch.no_grad()
    def lag_graph(
        self,
        x,
        channels: list[str] | None = None,
        fs: float | None = None,
        edge_threshold: float | None = None,
    ) -> LagGraph:
        """A recording's lag graph: ``x`` ``(C, T)`` (or ``(1, C, T)``) at its modality's rate ``fs``
        (default: the model's). Longer recordings are cut into windows of ``n_times`` samples whose
        ``tau`` and ``A`` are averaged. ``tau`` is returned in seconds; ``|A| < edge_threshold`` (default: the
        config's) is no edge."""
        x = torch.as_tensor(np.asarray(x) if not torch.is_tensor(x) else x)
        if x.ndim == 3:
            if x.shape[0] != 1:
                raise ConfigError(f"lag_graph takes one recording (C, T) or (1, C, T), got {tuple(x.shape)}")
            x = x[0]
        if x.ndim != 2:
            raise ConfigError(f"lag_graph takes (C, T), got shape {tuple(x.shape)}")
        fs = float(fs or self.sfreq)
        modality = self.modality_for_fs(fs)
        self.check_modality(modality)
        ch = x.shape[0]
        names = channels or [f"X{i}" for i in range(ch)]
        if len(names) != ch:
            raise ConfigError(f"{len(names)} channel names for {ch} channels")
        dev = next(self.parameters()).device
        x = x.to(dev, torch.float32)
        w_len = min(self.n_times, x.shape[-1])
        n_win = max(1, x.shape[-1] // w_len)
        xw = x[:, : n_win * w_len].reshape(ch, n_win, w_len).transpose(0, 1)  # (N, C, W)
        self._check_x(xw)
        xw = (xw - xw.mean(-1, keepdim=True)) / xw.std(-1, keepdim=True).clamp_min(1e-6)
        was = self.training
        self.eval()
        taus, ws = [], []
        mod_idx = self.cfg.modalities.index(modality)
        for blk in xw.split(16):
            z = self.tokenizer.encode(blk, torch.full((len(blk),), mod_idx, device=dev))
            q, _, _ = self.tokenizer.quantize(z)
            tau, w = self.infer_lags(blk, q, modality)
            taus.append(tau)
            ws.append(w)
        self.train(was)
        tau = torch.cat(taus).mean(0).double().cpu().numpy() / fs
        w = torch.cat(ws).mean(0).double().cpu().numpy()
        thr = self.cfg.edge_threshold if edge_threshold is None else edge_threshold
        keep = np.abs(w) >= thr
        np.fill_diagonal(keep, False)
        return LagGraph(np.where(keep, tau, 0.0), np.where(keep, w, 0.0), list(names), fs)

    def set_stage(self, stage: str) -> None:
        """Switch the training stage (:attr:`stages`): stage 2 adds the graph-ODE term to ``forward_loss`` and
        freezes the motif tokenizer (graph-ODE fine-tuning); stage 1 trains it again."""
        check_option("cldtrans.stage", stage, self.stages)
        self.stage = stage
        for p in self.tokenizer.parameters():
            p.requires_grad_(stage == "stage1")
        self.train(self.training)

    def train(self, mode: bool = True):
        super().train(mode)
        if getattr(self, "stage", None) == "stage2":
            self.tokenizer.eval()  # frozen: no codebook EMA updates either
        return self


def _inputs(cfg: CLDTransConfig) -> ModelInputs:
    """Waveforms of its modalities, each at its common rate, preprocessed as in pretraining."""
    return ModelInputs(
        modalities=tuple(cfg.modalities),
        rates=dict(zip(cfg.modalities, cfg.modality_fs)),
        preprocess={m: _PREPROCESS[m] for m in cfg.modalities if m in _PREPROCESS},
    )


RUN_STATE_KEYS = ("seeds", "stage", "objective", "task_weight", "kmeans_init", "trained_modalities")


def _upgrade(saved: dict) -> dict:
    """A config saved by an older version carried run state among the architecture: the protocol's
    ``seeds``, the ``stage``, ``objective`` and ``task_weight`` (now the run's: ``set_stage``,
    ``train.objective``), ``kmeans_init`` (the codebook of trained weights is initialised already) and
    ``trained_modalities``, which moves to the input spec."""
    out = {k: v for k, v in saved.items() if k not in RUN_STATE_KEYS}
    if saved.get("trained_modalities") is not None:
        out["input_spec"] = {"modalities": list(saved["trained_modalities"])}
    return out


register_model(
    "cldtrans",
    config=CLDTransConfig,
    inputs=_inputs,
    upgrade=_upgrade,
    # the contract test: one modality (every parameter then gets a gradient in one of the stages), narrow layers
    test_config={
        "sfreq": 160.0,
        "n_times": 320,
        "modalities": ["eeg"],
        "modality_fs": [160.0],
        "latent_dim": 8,
        "hidden": 8,
        "lag_hidden": 8,
        "lag_embed_dim": 4,
        "ode_hidden": 8,
        "codebook_size": 16,
        "ode_method": "rk4",
        "ode_step_size": 0.5,
        "n_subwindows": 2,
    },
)(CLDTrans)
