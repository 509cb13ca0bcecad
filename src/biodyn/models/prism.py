"""PRISM (Parallel Recurrent Integrated Signal Model; kaelvalen/prism): one modality-agnostic backbone of
S4D-complex blocks interleaved with Gated-Delta blocks, a Linear input projection and a head per modality.

::

    x (B, T, input_dim) -> ModalityProjection (Linear per modality) -> PRISMBackbone -> mean over T
        -> PerModalityHead (LayerNorm -> Linear per modality) -> logits (B, num_classes)

Layer ``i`` of the backbone is a :class:`~biodyn.nn.GatedDeltaBlock` when ``(i + 1) % delta_every == 0``
and an :class:`~biodyn.nn.S4Block` otherwise (3:1 at ``delta_every=4``); ``force_block_type`` ("s4" or
"delta") makes every layer one kind (the block ablations). Both kinds are causal and carry a fixed-size
state, so the whole backbone streams: :meth:`PRISMBackbone.step` one token at a time equals the full pass.

Two front ends share these parts, both under biodyn's model contract (``x`` ``(B, C, T)``, the ``C``
channels being the features of each of the ``T`` tokens; :class:`PRISMForClassification` also takes the PRISM
quick start's ``(B, T, input_dim)`` tokens, see there):

* :class:`PRISM`, one modality ``n_chans -> n_outputs`` (:class:`PRISMBackboneConfig`); registered as ``prism``,
  ``prism_tiny``, ``prism_moe``, ``prism_s4`` and ``prism_delta``.
* :class:`PRISMForClassification`, several modalities on one backbone (:class:`PRISMConfig` with a
  :class:`ModalityConfig` each, as in the quick start): ``model(x, modality="ecg")`` -> logits ``(B, K_ecg)``,
  ``model(x, modality="ecg", labels=y) -> {"loss", "logits"}``; registered as ``prism_multimodal``
  (its first modality is the default one and gives ``n_chans`` / ``n_outputs``).

``ffn="moe"`` replaces every block's SwiGLU by a DeepSeekMoE-style mixture (:class:`~biodyn.nn.moe.MoESwiGLU`:
an always-on shared expert and ``moe_num_experts`` routed experts, top-``moe_top_k``) sized to use as many
parameters per token as the dense SwiGLU (:meth:`PRISMBackboneConfig.moe_dims_for`); its load-balancing (and
optional z-) loss reaches the Trainer through :attr:`PRISM.forward_loss`. ``PRISM.param_counts()`` gives the
total and the active (per-token) parameters.

Parameter count at the defaults with the quick start's two modalities (ECG 12 -> 5, image 48 -> 10):
8,808,255 (9 S4 blocks of 755,968, 3 Delta blocks of 661,264, projections 15,872, heads 4,879). The
published model reports "~8.1M": its S4 layer averaged the input and the step over each head's channels, so
its per-channel ``A, B, C`` and step were per head; ours keeps every channel's own input, step and modes.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from biodyn.errors import ConfigError, check_option
from biodyn.models._base import BiodynModel
from biodyn.models._registry import ModelInputs, register_model
from biodyn.nn import GatedDeltaBlock, S4Block
from biodyn.nn.losses import classification_loss
from biodyn.nn.moe import MoESwiGLU, moe_aux_losses, param_counts

BLOCK_TYPES = ("s4", "delta")
FFN_TYPES = ("swiglu", "moe")


@dataclass
class ModalityConfig:
    """One input modality: its name, the width of each token and the number of classes of its head."""

    name: str
    input_dim: int
    num_classes: int

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError(f"ModalityConfig.name must be a non-empty string, got {self.name!r}")
        for k in ("input_dim", "num_classes"):
            v = getattr(self, k)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(f"ModalityConfig({self.name!r}).{k} must be a positive int, got {v!r}")


@dataclass
class PRISMBackboneConfig:
    """Hyperparameters of PRISM's backbone (defaults of the published configuration table): the config of the
    registered single-modality models (``prism``, ``prism_tiny``, ``prism_s4``, ``prism_delta``)."""

    hidden_dim: int = 256  # model dimension
    num_heads: int = 8  # heads in both block types
    num_layers: int = 12  # total blocks
    delta_every: int = 4  # a DeltaBlock every Nth layer (3:1 S4:Delta)
    s4_state_mult: int = 2  # SSM state size (complex modes per channel) = head_dim x mult
    s4_dt_min: float = 0.001  # step size range at initialisation
    s4_dt_max: float = 0.1
    delta_chunk_size: int = 64  # chunk size of the chunked delta rule (training / prefill)
    qk_norm: bool = True  # L2-normalise q and k
    gate_bias_init: float = 4.0  # sigmoid(4) ~ 0.98: forget gate starts near 1 (long memory)
    conv_kernel_size: int = 4  # short causal conv kernel
    ffn_expand: int = 2  # SwiGLU hidden multiplier
    force_block_type: str | None = None  # ablation: "s4" / "delta" / None for the hybrid
    # ablation only: the FFN width of every block set so the stack has the hybrid's parameter count (PRISM's
    # ablation keeps the parameter budget); False keeps ffn_expand
    match_hybrid_params: bool = True
    # feed-forward of every block: "swiglu" (dense) or "moe" (DeepSeekMoE-style mixture of SwiGLU experts, see
    # biodyn.nn.moe). PRISM's document names the option but no sizes: the defaults below are small
    # DeepSeekMoE-like values (Dai et al. 2024), chosen so the MoE block uses as many parameters per token
    # ("active") as the dense SwiGLU it replaces
    ffn: str = "swiglu"
    moe_num_experts: int = 8  # routed experts
    moe_top_k: int = 2  # routed experts per token
    moe_shared_expert_dim: int | None = None  # shared expert's width; None: half the dense SwiGLU's width
    moe_expert_dim: int | None = None  # each routed expert's width; None: sized for equal active parameters
    moe_aux_loss_weight: float = 0.01  # load-balancing loss (DeepSeekMoE's expert-level balance factor)
    moe_z_loss_weight: float = 0.0  # router z-loss (ST-MoE, Zoph et al. 2022, used 1e-3); 0 = off
    moe_capacity_factor: float | None = None  # None: nothing dropped; else a training capacity, drops counted

    def __post_init__(self):
        for k in (
            "hidden_dim",
            "num_heads",
            "num_layers",
            "delta_every",
            "s4_state_mult",
            "delta_chunk_size",
            "conv_kernel_size",
        ):
            v = getattr(self, k)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(f"{type(self).__name__}.{k} must be a positive int, got {v!r}")
        if self.hidden_dim % self.num_heads:
            raise ConfigError(
                f"{type(self).__name__}.hidden_dim={self.hidden_dim} must be divisible by num_heads={self.num_heads}"
            )
        if not 0 < self.s4_dt_min <= self.s4_dt_max:
            raise ConfigError(
                f"{type(self).__name__} needs 0 < s4_dt_min <= s4_dt_max, got {self.s4_dt_min}, {self.s4_dt_max}"
            )
        if not self.ffn_expand > 0:
            raise ConfigError(f"{type(self).__name__}.ffn_expand must be > 0, got {self.ffn_expand!r}")
        check_option(f"{type(self).__name__}.force_block_type", self.force_block_type, (None, *BLOCK_TYPES))
        check_option(f"{type(self).__name__}.ffn", self.ffn, FFN_TYPES)
        for k in ("moe_num_experts", "moe_top_k"):
            v = getattr(self, k)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(f"{type(self).__name__}.{k} must be a positive int, got {v!r}")
        if self.moe_top_k > self.moe_num_experts:
            raise ConfigError(
                f"{type(self).__name__}.moe_top_k={self.moe_top_k} exceeds moe_num_experts={self.moe_num_experts}"
            )
        for k, low in (("moe_shared_expert_dim", 0), ("moe_expert_dim", 1)):
            v = getattr(self, k)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < low):
                raise ConfigError(f"{type(self).__name__}.{k} must be null or an int >= {low}, got {v!r}")
        for k in ("moe_aux_loss_weight", "moe_z_loss_weight"):
            v = getattr(self, k)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0:
                raise ConfigError(f"{type(self).__name__}.{k} must be a number >= 0, got {v!r}")
        c = self.moe_capacity_factor
        if c is not None and (isinstance(c, bool) or not isinstance(c, (int, float)) or not c > 0):
            raise ConfigError(f"{type(self).__name__}.moe_capacity_factor must be null or > 0, got {c!r}")

    @property
    def head_dim(self) -> int:
        return self.hidden_dim // self.num_heads

    @property
    def s4_state_size(self) -> int:
        return self.head_dim * self.s4_state_mult

    def block_types(self) -> list[str]:
        """The kind of each layer: "delta" when ``(i + 1) % delta_every == 0``, else "s4"."""
        if self.force_block_type is not None:
            return [self.force_block_type] * self.num_layers
        return self._hybrid_types()

    def _hybrid_types(self) -> list[str]:
        return ["delta" if (i + 1) % self.delta_every == 0 else "s4" for i in range(self.num_layers)]

    def ffn_expand_for(self, kind: str) -> float:
        """The SwiGLU multiplier of a ``kind`` block: ``ffn_expand``, or for an ablation with
        ``match_hybrid_params`` the width at which ``num_layers`` blocks of ``kind`` hold as many parameters as
        the hybrid stack (to one FFN unit per layer; S4 and Delta mixers differ in size)."""
        if self.force_block_type is None or not self.match_hybrid_params:
            return self.ffn_expand
        d, base = self.hidden_dim, int(self.hidden_dim * self.ffn_expand)
        mixer = {k: _mixer_params(self, k) for k in BLOCK_TYPES}
        # to spend on FFNs
        extra = sum(mixer[k] for k in self._hybrid_types()) - self.num_layers * mixer[kind]
        width = max(1, base + round(extra / (3 * d * self.num_layers)))  # SwiGLU: 3 d f parameters
        return (width + 0.5) / d  # SwiGLU takes int(d * expand)

    def moe_dims_for(self, kind: str) -> tuple[int, int]:
        """``(shared_dim, expert_dim)`` of the MoE FFN of a ``kind`` block. The dense SwiGLU it stands in for
        has width ``F = int(hidden_dim * ffn_expand_for(kind))`` and ``3 d F`` parameters; a token of the MoE
        uses the router (``d E``), the shared expert (``3 d S``) and ``k`` routed experts (``3 d H`` each), so
        unless given, ``S = F // 2`` and ``H = round((3 F - 3 S - E) / (3 k))`` (at least 1): the same active
        parameters to within one expert unit per layer."""
        d = self.hidden_dim
        f = int(d * self.ffn_expand_for(kind))
        s = f // 2 if self.moe_shared_expert_dim is None else self.moe_shared_expert_dim
        if self.moe_expert_dim is not None:
            return s, self.moe_expert_dim
        e, k = self.moe_num_experts, self.moe_top_k
        return s, max(1, round((3 * f - 3 * s - e) / (3 * k)))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class PRISMConfig(PRISMBackboneConfig):
    """The PRISM quick start's config: the backbone's hyperparameters plus the modalities of
    :class:`PRISMForClassification` (a projection and a head each; the first is the default modality; entries
    may be given as dicts). The registered single-modality PRISM takes :class:`PRISMBackboneConfig`, which has
    no ``modalities``."""

    modalities: list[ModalityConfig] = field(default_factory=list)

    def __post_init__(self):
        super().__post_init__()
        mods = [m if isinstance(m, ModalityConfig) else ModalityConfig(**m) for m in self.modalities]
        names = [m.name for m in mods]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ConfigError(f"PRISMConfig.modalities: duplicate names {dup}")
        self.modalities = mods


def _mixer_params(cfg: PRISMBackboneConfig, kind: str) -> int:
    """Parameters of one ``kind`` block without its FFN (counted on the meta device: nothing allocated)."""
    with torch.device("meta"):
        blk = _make_block(cfg, kind, cfg.ffn_expand)
    return sum(p.numel() for n, p in blk.named_parameters() if not n.startswith(("mlp.", "ffn.")))


def _make_block(cfg: PRISMBackboneConfig, kind: str, ffn_expand: float, moe: bool = False) -> nn.Module:
    """A ``kind`` block; with ``moe`` its SwiGLU (``mlp`` of S4, ``ffn`` of Delta) is an :class:`MoESwiGLU`."""
    ffn = None
    if moe:
        shared, expert = cfg.moe_dims_for(kind)
        ffn = MoESwiGLU(
            cfg.hidden_dim,
            num_experts=cfg.moe_num_experts,
            top_k=cfg.moe_top_k,
            expert_dim=expert,
            shared_dim=shared,
            aux_loss_weight=cfg.moe_aux_loss_weight,
            z_loss_weight=cfg.moe_z_loss_weight,
            capacity_factor=cfg.moe_capacity_factor,
        )
    if kind == "s4":
        return S4Block(
            cfg.hidden_dim,
            d_state=cfg.s4_state_size,
            conv_kernel_size=cfg.conv_kernel_size,
            mlp_expand=ffn_expand,
            dt_min=cfg.s4_dt_min,
            dt_max=cfg.s4_dt_max,
            ffn=ffn,
        )
    return GatedDeltaBlock(
        cfg.hidden_dim,
        num_heads=cfg.num_heads,
        conv_kernel_size=cfg.conv_kernel_size,
        ffn_expand=ffn_expand,
        qk_norm=cfg.qk_norm,
        gate_bias_init=cfg.gate_bias_init,
        chunk_size=cfg.delta_chunk_size,
        ffn=ffn,
    )


def _check_tokens(x: torch.Tensor, width: int, what: str) -> None:
    if not torch.is_tensor(x) or x.ndim != 3:
        shape = tuple(x.shape) if torch.is_tensor(x) else type(x).__name__
        raise ConfigError(f"{what}: expected a (B, T, {width}) tensor, got shape {shape}")
    if x.shape[-1] != width:
        raise ConfigError(f"{what}: expected input_dim {width} (last axis), got {tuple(x.shape)}")
    if x.shape[1] == 0:
        raise ConfigError(f"{what}: empty sequence (T = 0), shape {tuple(x.shape)}")


class ModalityProjection(nn.Module):
    """One ``Linear(input_dim -> hidden_dim)`` per modality: ``(B, T, input_dim) -> (B, T, hidden_dim)``."""

    def __init__(self, modalities: list[ModalityConfig], hidden_dim: int):
        super().__init__()
        self.input_dims = {m.name: m.input_dim for m in modalities}
        self.proj = nn.ModuleDict({m.name: nn.Linear(m.input_dim, hidden_dim) for m in modalities})

    def check(self, modality: str) -> None:
        if modality not in self.proj:
            raise ConfigError(
                f"unknown modality {modality!r}; this model has: {', '.join(self.proj) or '(none)'}"
            )

    def forward(self, x: torch.Tensor, modality: str) -> torch.Tensor:
        self.check(modality)
        _check_tokens(x, self.input_dims[modality], f"modality {modality!r}")
        return self.proj[modality](x)


class PerModalityHead(nn.Module):
    """``LayerNorm -> Linear(hidden_dim -> num_classes)`` per modality: ``(B, hidden_dim) -> (B, K)``."""

    def __init__(self, modalities: list[ModalityConfig], hidden_dim: int):
        super().__init__()
        self.heads = nn.ModuleDict(
            {
                m.name: nn.Sequential(nn.LayerNorm(hidden_dim), nn.Linear(hidden_dim, m.num_classes))
                for m in modalities
            }
        )

    def forward(self, h: torch.Tensor, modality: str) -> torch.Tensor:
        if modality not in self.heads:
            raise ConfigError(f"unknown modality {modality!r}; heads: {', '.join(self.heads)}")
        return self.heads[modality](h)


class PRISMBackbone(nn.Module):
    """The stack of S4 / Delta blocks: ``(B, T, D) -> (B, T, D)``.

    Streaming: ``allocate_state(batch)`` returns one state per layer (S4: conv buffer ``(B, D, k - 1)`` and
    complex modes ``(B, D, N)``; Delta: conv buffer and memory ``(B, H, Dh, Dh)``), whose size does not grow
    with the number of tokens; ``step(x_t (B, D), state) -> (y_t (B, D), state)``.
    """

    def __init__(self, cfg: PRISMBackboneConfig):
        super().__init__()
        self.cfg = cfg
        self.block_types = cfg.block_types()
        expand = {kind: cfg.ffn_expand_for(kind) for kind in set(self.block_types)}  # once per kind
        moe = cfg.ffn == "moe"
        layers = [_make_block(cfg, kind, expand[kind], moe) for kind in self.block_types]
        self.layers = nn.ModuleList(layers)

    def aux_losses(self) -> dict[str, torch.Tensor]:
        """The MoE auxiliary terms of the last forward pass (already weighted, summed over layers): ``moe_balance``
        (and ``moe_z`` with a z-loss weight); empty for the dense SwiGLU."""
        return moe_aux_losses(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x

    def allocate_state(self, batch_size: int, device=None, dtype=None) -> list[dict[str, torch.Tensor]]:
        return [layer.allocate_state(batch_size, device, dtype) for layer in self.layers]

    def step(self, x_t: torch.Tensor, state: list) -> tuple[torch.Tensor, list]:
        new = []
        for layer, st in zip(self.layers, state):
            x_t, st = layer.step(x_t, st)
            new.append(st)
        return x_t, new


def _state_numel(state) -> int:
    if torch.is_tensor(state):
        return state.numel()
    if isinstance(state, dict):
        return sum(_state_numel(v) for v in state.values())
    if isinstance(state, (list, tuple)):
        return sum(_state_numel(v) for v in state)
    return 0


def state_numel(state) -> int:
    """Number of scalars held in a (nested) streaming state; complex entries count once."""
    return _state_numel(state)


class _StreamingMean:
    """Streaming of a PRISM front end whose logits are the head of the mean of the backbone's outputs:
    ``allocate_state`` holds the backbone's per-layer states, the running sum ``(B, hidden_dim)`` and the
    count; ``_stream(h_t, state)`` feeds one projected token ``(B, hidden_dim)`` and returns the mean so far."""

    def allocate_state(self, batch_size: int, device=None, dtype=None) -> dict:
        """The streaming state, on the parameters' device and dtype unless given."""
        param = next(self.parameters())
        dtype, device = dtype or param.dtype, device or param.device
        return {
            "layers": self.backbone.allocate_state(batch_size, device, dtype),
            "sum": torch.zeros(batch_size, self.cfg.hidden_dim, device=device, dtype=dtype),
            "count": torch.zeros((), device=device, dtype=dtype),
        }

    def _stream(self, h_t: torch.Tensor, state: dict) -> tuple[torch.Tensor, dict]:
        y, layers = self.backbone.step(h_t, state["layers"])
        s, n = state["sum"] + y, state["count"] + 1
        return s / n, {"layers": layers, "sum": s, "count": n}


class PRISMForClassification(_StreamingMean, BiodynModel):
    """PRISM with several modalities on one backbone: a ``Linear`` projection and a ``LayerNorm -> Linear``
    head per modality (:class:`PRISMConfig`).

    ``forward(x (B, C, T), modality=None, labels=None)``: ``C`` is the modality's ``input_dim``; returns the
    logits ``(B, K)`` of the modality's head, or with ``labels`` ``{"logits": (B, K), "loss": scalar}``
    (integer ``(B,)`` -> cross-entropy, float multi-hot ``(B, K)`` -> BCE). ``modality=None`` is the default
    (first) modality, whose ``input_dim`` / ``num_classes`` are the contract's ``n_chans`` / ``n_outputs``.
    The quick start's token layout ``(B, T, input_dim)`` is taken too, told apart by which axis has
    ``input_dim`` entries; when both do (``T == input_dim``) ``x`` is read as ``(B, C, T)``.

    Args:
        cfg: the config; its ``modalities`` may be empty when ``n_chans`` and ``n_outputs`` are given (one
            modality named ``"default"``).
        n_chans, n_outputs: the default modality's sizes (checked against ``cfg.modalities[0]``).
        n_times: tokens per window the model is built for (``None``: any).
        sfreq: tokens per second (``1.0`` when the tokens are not samples in time, e.g. image patches).
    """

    output = "clip"

    def __init__(
        self,
        cfg: PRISMConfig | None = None,
        n_chans: int | None = None,
        n_outputs: int | None = None,
        n_times: int | None = None,
        sfreq: float = 1.0,
    ):
        cfg = cfg if cfg is not None else PRISMConfig()
        if not isinstance(cfg, PRISMConfig):
            raise ConfigError(f"PRISMForClassification takes a PRISMConfig, got {type(cfg).__name__}")
        if not cfg.modalities:
            if n_chans is None or n_outputs is None:
                raise ConfigError("PRISMConfig.modalities is empty; give at least one ModalityConfig")
            cfg = copy.deepcopy(cfg)
            cfg.modalities = [ModalityConfig("default", int(n_chans), int(n_outputs))]
        first = cfg.modalities[0]
        for k, given, own in (
            ("n_chans", n_chans, first.input_dim),
            ("n_outputs", n_outputs, first.num_classes),
        ):
            if given is not None and int(given) != own:
                raise ConfigError(
                    f"PRISMForClassification: {k}={given} but the default modality {first.name!r} has {own}"
                )
        super().__init__(first.input_dim, first.num_classes, n_times, sfreq, cfg)
        self.model_name = "prism_multimodal"  # its registered name, also when built directly (quick start)
        self.projection = ModalityProjection(cfg.modalities, cfg.hidden_dim)
        self.backbone = PRISMBackbone(cfg)
        self.head = PerModalityHead(cfg.modalities, cfg.hidden_dim)

    @property
    def config(self) -> PRISMConfig:
        """The config (the quick start's name for ``cfg``)."""
        return self.cfg

    @property
    def modalities(self) -> list[str]:
        return [m.name for m in self.cfg.modalities]

    def _modality(self, modality: str | None) -> str:
        if modality is None:
            return self.cfg.modalities[0].name
        self.projection.check(modality)
        return modality

    def forward_features(self, x: torch.Tensor, modality: str | None = None) -> torch.Tensor:
        """``(B, C, T) -> (B, hidden_dim, T)`` through ``modality``'s projection and the backbone."""
        m = self._modality(modality)
        dim = self.projection.input_dims[m]
        if not torch.is_tensor(x) or x.ndim != 3 or dim not in x.shape[1:] or 0 in x.shape[1:]:
            shape = tuple(x.shape) if torch.is_tensor(x) else type(x).__name__
            raise ConfigError(
                f"modality {m!r}: expected x (B, C={dim}, T > 0) (or the quick start's tokens "
                f"(B, T, {dim})), got {shape}"
            )
        tokens = x.transpose(1, 2) if x.shape[1] == dim else x  # (B, T, C)
        return self.backbone(self.projection(tokens, m)).transpose(1, 2)

    def forward_head(self, features: torch.Tensor, pre_logits: bool = False, modality: str | None = None):
        """``(B, D, T)`` (or pooled ``(B, D)``) -> mean over T -> ``modality``'s head (LayerNorm, Linear)."""
        if features.ndim == 3:
            features = features.mean(dim=-1)
        return features if pre_logits else self.head(features, self._modality(modality))

    def forward(self, x: torch.Tensor, modality: str | None = None, labels: torch.Tensor | None = None):
        logits = self.forward_head(self.forward_features(x, modality), modality=modality)
        if labels is None:
            return logits
        return {"logits": logits, "loss": classification_loss(logits, labels)}

    def forward_loss(self, batch: dict) -> dict[str, torch.Tensor]:
        """The loss of one modality's batch, named after the modality: ``x`` ``(B, C, T)`` (or a block
        ``(1, B, C, T)``), labels ``y`` (or ``labels``), ``modality`` a name or an index into
        :attr:`modalities` (one per batch; default: the first modality)."""
        x = batch["x"]
        y = batch["y"] if batch.get("y") is not None else batch.get("labels")
        if y is None:
            raise ConfigError("PRISMForClassification.forward_loss needs labels (batch 'y')")
        if x.ndim == 4:
            x, y = x.flatten(0, 1), y.flatten(0, 1)
        m = batch.get("modality")
        if torch.is_tensor(m):
            idx = sorted(set(m.reshape(-1).tolist()))
            if len(idx) != 1:
                raise ConfigError(f"PRISMForClassification.forward_loss: one modality per batch, got {idx}")
            m = self.modalities[int(idx[0])]
        m = self._modality(m)
        return {
            m: classification_loss(self(x, modality=m), y),
            **self.backbone.aux_losses(),
        }  # MoE terms, if any

    def reset_head(self, n_outputs: int, modality: str | None = None) -> None:
        """A fresh ``LayerNorm -> Linear`` head of ``n_outputs`` classes for ``modality`` (default: the first),
        on the same device and dtype; the config records the new size."""
        n_outputs, m = int(n_outputs), self._modality(modality)
        if n_outputs < 1:
            raise ValueError(f"reset_head: n_outputs={n_outputs} must be >= 1")
        old = self.head.heads[m]
        w = old[1].weight
        self.head.heads[m] = nn.Sequential(
            nn.LayerNorm(self.cfg.hidden_dim), nn.Linear(self.cfg.hidden_dim, n_outputs)
        ).to(w.device, w.dtype)
        self.cfg = copy.deepcopy(self.cfg)
        i = self.modalities.index(m)
        self.cfg.modalities[i] = ModalityConfig(m, self.cfg.modalities[i].input_dim, n_outputs)
        if i == 0:
            self.n_outputs = n_outputs

    def step(self, x_t: torch.Tensor, state: dict, modality: str | None = None) -> tuple[torch.Tensor, dict]:
        """One token ``(B, C)`` -> logits ``(B, K)`` of the tokens seen so far, and the new state."""
        m = self._modality(modality)
        if x_t.ndim != 2:
            raise ConfigError(f"step: expected one token (B, C), got {tuple(x_t.shape)}")
        mean, state = self._stream(self.projection(x_t[:, None], m)[:, 0], state)
        return self.head(mean, m), state


class PRISM(_StreamingMean, BiodynModel):
    """Single-modality PRISM under the model contract: ``x`` ``(B, C, T)`` -> logits ``(B, n_outputs)``.

    Each of the ``T`` time steps is one token whose ``C`` channels are its features (ECG: 12 leads per
    sample; image patches: 48 values per patch; log-mel: ``n_mels`` per frame). ``forward_features``:
    ``(B, C, T) -> (B, hidden_dim, T)`` (Linear projection and backbone); ``forward_head``: mean over T,
    LayerNorm, Linear. ``allocate_state(batch)`` / ``step(x_t (B, C), state)`` stream the logits of the
    running mean, equal to ``forward`` on the prefix seen so far. The head's LayerNorm (``head_norm``) sits
    outside ``head``: :meth:`reset_head` keeps it and :meth:`freeze_features` freezes it, so a linear probe
    reads normalised features (in :class:`PRISMForClassification` it is part of each modality's head).
    """

    output = "clip"

    def __init__(
        self,
        n_chans: int,
        n_outputs: int,
        n_times: int | None,
        sfreq: float,
        cfg: PRISMBackboneConfig | None = None,
    ):
        super().__init__(
            n_chans, n_outputs, n_times, sfreq, cfg if cfg is not None else PRISMBackboneConfig()
        )
        cfg = self.cfg
        self.projection = nn.Linear(self.n_chans, cfg.hidden_dim)
        self.backbone = PRISMBackbone(cfg)
        self.head_norm = nn.LayerNorm(cfg.hidden_dim)
        self.head = nn.Linear(cfg.hidden_dim, self.n_outputs)

    def _tokens(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.is_tensor(x) or x.ndim != 3 or x.shape[1] != self.n_chans:
            shape = tuple(x.shape) if torch.is_tensor(x) else type(x).__name__
            raise ConfigError(f"PRISM: expected x (B, C={self.n_chans}, T), got {shape}")
        if x.shape[2] == 0:
            raise ConfigError(f"PRISM: empty sequence (T = 0), shape {tuple(x.shape)}")
        return self.projection(x.transpose(1, 2))  # (B, T, D)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, T) -> (B, hidden_dim, T)``."""
        return self.backbone(self._tokens(x)).transpose(1, 2)

    def forward_head(self, features: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """``(B, D, T)`` (or pooled ``(B, D)``) -> mean over T -> LayerNorm -> Linear."""
        if features.ndim == 3:
            features = features.mean(dim=-1)
        h = self.head_norm(features)
        return h if pre_logits else self.head(h)

    @property
    def forward_loss(self):
        """Only with ``cfg.ffn == "moe"``: ``forward_loss(batch) -> {"task", "moe_balance"[, "moe_z"]}``, the
        task loss of ``model(batch["x"])`` against ``batch["y"]`` (float targets with one value per logit:
        BCE, as the multilabel task; else cross-entropy on class indices, as the multiclass task) and the MoE
        auxiliary terms of that pass (already weighted by ``moe_aux_loss_weight`` / ``moe_z_loss_weight``),
        which the Trainer sums and logs one by one (``loss_moe_balance``). A dense PRISM has none (the
        attribute is absent), so the Trainer applies its task's loss to ``model(x)`` as for any model."""
        if self.cfg.ffn != "moe":
            raise AttributeError("forward_loss: only an MoE PRISM (cfg.ffn='moe') has one")
        return self._moe_forward_loss

    def _moe_forward_loss(self, batch: dict) -> dict[str, torch.Tensor]:
        logits = self(batch["x"])
        y = batch["y"]
        y = y.view(logits.shape) if y.is_floating_point() and y.numel() == logits.numel() else y.reshape(-1)
        return {"task": classification_loss(logits, y), **self.backbone.aux_losses()}

    def param_counts(self) -> dict[str, int]:
        """``{"total", "active"}`` parameters; active: those one token uses (all of them for the dense FFN;
        with MoE the routed experts a token is not sent to are left out)."""
        return param_counts(self)

    def step(self, x_t: torch.Tensor, state: dict) -> tuple[torch.Tensor, dict]:
        """One time step ``(B, C)`` -> logits ``(B, n_outputs)`` of the prefix, and the new state."""
        if x_t.ndim != 2 or x_t.shape[1] != self.n_chans:
            raise ConfigError(f"PRISM.step: expected x_t (B, C={self.n_chans}), got {tuple(x_t.shape)}")
        mean, state = self._stream(self.projection(x_t), state)
        return self.forward_head(mean), state


_TEST = {"hidden_dim": 8, "num_heads": 2, "num_layers": 2, "delta_every": 2, "delta_chunk_size": 8}


@dataclass
class PRISMTinyConfig(PRISMBackboneConfig):
    """A CPU-sized PRISM: 64 wide, 4 heads, 4 layers (S4, S4, S4, Delta)."""

    hidden_dim: int = 64
    num_heads: int = 4
    num_layers: int = 4


@dataclass
class PRISMMoEConfig(PRISMBackboneConfig):
    """PRISM (published sizes) with the mixture-of-experts SwiGLU in every block (``ffn="moe"``)."""

    ffn: str = "moe"


@dataclass
class PRISMS4Config(PRISMBackboneConfig):
    """Ablation: every layer an S4 block (published sizes)."""

    force_block_type: str | None = "s4"


@dataclass
class PRISMDeltaConfig(PRISMBackboneConfig):
    """Ablation: every layer a Gated-Delta block (published sizes)."""

    force_block_type: str | None = "delta"


def _upgrade_multimodal(saved: dict) -> dict:
    """A config saved before ``prism_multimodal`` was registered (an export named ``prism_multimodal``, a
    joint run's checkpoint named ``prism_joint``): the bare config fields; the default modality gives the
    signal's shape, and tokens without a rate get ``sfreq=1``."""
    saved = dict(saved)
    mods = saved.get("modalities") or []
    if "n_chans" not in saved and mods:
        first = mods[0] if isinstance(mods[0], dict) else asdict(mods[0])
        saved.update(n_chans=first["input_dim"], n_outputs=first["num_classes"], n_times=None, sfreq=1.0)
    return saved


_TOKENS = ModelInputs(form="tokens")  # each time step is one token of C features
register_model("prism", config=PRISMBackboneConfig, test_config=_TEST, inputs=_TOKENS)(PRISM)
register_model(
    "prism_tiny", config=PRISMTinyConfig, test_config={"hidden_dim": 16, "num_heads": 2}, inputs=_TOKENS
)(PRISM)
register_model(
    "prism_moe", config=PRISMMoEConfig, test_config={**_TEST, "moe_num_experts": 4}, inputs=_TOKENS
)(PRISM)
register_model("prism_s4", config=PRISMS4Config, test_config=_TEST, inputs=_TOKENS)(PRISM)
register_model("prism_delta", config=PRISMDeltaConfig, test_config=_TEST, inputs=_TOKENS)(PRISM)
# the contract test: one modality (a batch trains one modality's projection and head; every parameter must
# get a gradient); tests/models/test_prism.py checks several
register_model(
    "prism_multimodal",
    config=PRISMConfig,
    inputs=_TOKENS,
    aliases=("prism_joint",),
    upgrade=_upgrade_multimodal,
    test_config={**_TEST, "modalities": [{"name": "a", "input_dim": 3, "num_classes": 2}]},
)(PRISMForClassification)
