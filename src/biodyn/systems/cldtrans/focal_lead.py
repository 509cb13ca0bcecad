"""Zero-shot focal-lead localisation on CHB-MIT (CLD-Trans' headline experiment).

For every seizure, an ictal window (the seizure onset from the annotations plus ``offset_s``, ``span_s``
long) is fitted by each method; channels are ranked by ``argmin_i sum_j tau_ij``, ``tau_ij`` the signed lag
of ``i`` behind ``j`` that the method's asserted edges give (:meth:`biodyn.types.LagGraph.focal_scores`), and
compared with the clinician's onset channels: top-k accuracy is 1 when any onset channel is among the first k,
channels of equal score sharing the credit as a random tie-break would (a method that asserts no edge scores
chance; :func:`biodyn.causal.metrics.topk_accuracy`). Per seed and method one JSON
(``<results>/<experiment>/<method>/chbmit-focal/zeroshot/seed<k>.json``) holds top-1/3/5 accuracy with a
95 % Wilson interval over seizures, and every seizure's ranking; ``biodyn report`` aggregates the seeds.

Methods, each resolved by name:

- ``ldsem``: the per-recording LD-SEM fit (:func:`biodyn.causal.fit.fit_ldsem`), no labels;
- ``dynotears``, ``rhino``, ``varlingam``, ``pcmci``: :func:`biodyn.causal.baselines.fit_baseline`;
- a trained model that has a ``lag_graph(x)`` method (``x`` ``(1, C, T)`` -> a
  :class:`~biodyn.types.LagGraph`, or ``(tau_s, weight)`` arrays ``(C, C)``; given ``channels`` and ``fs``
  when it takes them): used as it is, no labels, on windows resampled to the model's own rate
  (``weights={"cldtrans": DIR}``; DIR is an export or a Trainer checkpoint, e.g. the ``train.out_dir`` of
  ``python -m biodyn.cldtrans``; any label works, e.g. ``{"cldtrans_no_vq": DIR}`` for an ablation);
- any other registered model (``biot``, ``bendr``, ``eeg_gcnn``): a channel **occlusion** read-out, our
  choice: the model is trained as an ictal-vs-background detector on the *other* patients' windows (leave
  one patient out; background = the window before the onset), and a channel's score is the drop of the
  seizure probability when that channel is set to zero; the largest drop ranks first. This uses labels of
  other patients, unlike the lag methods.

Clinician onset channels come from a CSV (``record,seizure_index,channels``): ``record`` as in CHB-MIT
(``chb01_03``), ``seizure_index`` counting the record's seizures from 0 in onset order, ``channels`` the onset
channels separated by ``;`` (bipolar names such as ``T7-P7``; case and ``EEG`` prefixes are normalised);
lines starting with ``#`` are comments. CHB-MIT publishes no onset channels: the user supplies them.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from biodyn.configs import PACKAGED
from biodyn.datasets.chbmit import IctalWindow
from biodyn.errors import ConfigError
from biodyn.metrics.stats import wilson_interval
from biodyn.train.fewshot import SEEDS

LAG_METHODS = ("ldsem", "dynotears", "rhino", "varlingam", "pcmci")
DEFAULT_METHODS = (*LAG_METHODS, "biot", "bendr", "eeg_gcnn")
DETERMINISTIC = ("dynotears", "varlingam", "pcmci")  # fitted once, the same result written for every seed
EXAMPLE_ONSETS = PACKAGED / "focal" / "chbmit_example_onsets.csv"


@dataclass
class FocalConfig:
    methods: tuple[str, ...] = DEFAULT_METHODS
    seeds: tuple[int, ...] = SEEDS
    offset_s: float = 0.0  # ictal window starts this long after the annotated onset
    span_s: float = 10.0  # ictal window length
    resample_hz: float = 128.0  # fits run at this rate (50 ms = 6.4 samples at 128 Hz)
    tau_max_s: float = 0.05
    ldsem_steps: int = 200
    rhino_steps: int = 600
    method_options: dict[str, dict] = field(default_factory=dict)  # e.g. {"pcmci": {"alpha": 0.01}}
    # occlusion read-out: the detector's model overrides and training
    model_params: dict[str, dict] = field(default_factory=dict)
    detector_epochs: int = 30
    detector_lr: float = 1e-3
    # trained lag models: |A| below this is no edge (None: the model's own threshold, e.g. CLD-Trans' config)
    edge_threshold: float | None = None
    # where the neural detectors train and every neural read-out runs: auto (CUDA when present) | cpu | cuda[:N]
    device: str = "auto"

    def __post_init__(self):
        import re

        if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", str(self.device)):
            raise ConfigError(f"invalid device={self.device!r}; expected auto, cpu or cuda[:N]")


@dataclass
class FocalRun(FocalConfig):
    """``biodyn train system=focal`` (alias ``biodyn focal``): the schema of ``configs/focal/`` (preset group
    ``preset/``: ``quick``), :class:`FocalConfig`'s settings and the run's inputs and outputs. Every value is
    checked here, before a recording is read; :func:`run_focal` runs it."""

    data: str | None = None  # CHB-MIT root (summary files + EDFs); default: <data root>/chbmit
    excerpts: bool = False  # the bundled npy_excerpts/ (10 s inside each seizure) instead of EDF annotations
    onsets: str | None = None  # CSV record,seizure_index,channels (default: the shipped EXAMPLE file)
    channels: list[str] | None = None  # the subset of channels to rank (default: every channel)
    per_patient: int | None = None  # at most this many seizures per patient
    weights: dict[str, str] = field(default_factory=dict)  # method label -> an export or Trainer checkpoint
    out: str = "results"  # results folder: per (method, seed) a JSON and its run folder run_seed<k>/
    experiment: str = "focal"
    force: bool = False  # run again, and replace, finished files whose settings differ from this run's
    keep_detectors: bool = True  # store the occlusion read-out's leave-one-patient-out detectors

    def __post_init__(self):
        from biodyn.errors import check_range

        super().__post_init__()
        check_range("span_s", self.span_s, low=0, low_open=True)
        check_range("offset_s", self.offset_s, low=0)
        check_range("tau_max_s", self.tau_max_s, low=0, low_open=True)
        check_range("resample_hz", self.resample_hz, low=0, low_open=True)
        check_range("detector_lr", self.detector_lr, low=0, low_open=True)
        for k in ("ldsem_steps", "rhino_steps", "detector_epochs"):
            check_range(k, getattr(self, k), low=1, integer=True)
        if self.edge_threshold is not None:
            check_range("edge_threshold", self.edge_threshold, low=0)
        if self.per_patient is not None:
            check_range("per_patient", self.per_patient, low=1, integer=True)
        _check_names("methods", self.methods)
        _check_names("seeds", self.seeds)
        for s in self.seeds:
            check_range("seeds", s, low=0, integer=True)
        if self.channels is not None:
            _check_names("channels", self.channels)
        if not str(self.out).strip() or not str(self.experiment).strip():
            raise ConfigError("out and experiment must be non-empty")
        unused = [w for w in self.weights if w not in self.methods]
        if unused:
            raise ConfigError(
                f"weights {', '.join(unused)}: not among the methods run ({', '.join(self.methods)}); "
                "add it to methods"
            )
        from biodyn.models import list_models

        known = (*LAG_METHODS, *list_models())
        unknown = [m for m in self.methods if m not in known and m not in self.weights]
        if unknown:  # before any data is read (it was found out per method, after the windows were cut)
            raise ConfigError(
                f"methods {', '.join(unknown)}: unknown focal-lead method; choose from {', '.join(known)}, "
                "or name its weights (weights.NAME=FOLDER)"
            )

    def focal_config(self) -> FocalConfig:
        """The :class:`FocalConfig` part (what a result records as its settings)."""
        own = {f.name: getattr(self, f.name) for f in fields(FocalConfig)}
        return FocalConfig(**{**own, "methods": tuple(self.methods), "seeds": tuple(self.seeds)})

    def window(self) -> dict[str, Any]:
        """The window settings recorded in a run folder's ``inputs``."""
        return {k: getattr(self, k) for k in ("span_s", "resample_hz", "channels", "per_patient")}


def _check_names(key: str, values) -> None:
    if (
        not values
        or len(set(values)) != len(values)
        or any(isinstance(v, str) and not v.strip() for v in values)
    ):
        raise ConfigError(f"invalid {key}={list(values)!r}; expected a non-empty list, each entry once")


def compose(overrides: list[str] | None = None, *, config_dir_: str | os.PathLike | None = None) -> FocalRun:
    """``configs/focal/config.yaml`` (schema :class:`FocalRun`, ``preset=quick``) with Hydra ``overrides``
    (``span_s=6 methods=[ldsem]``) as a checked :class:`FocalRun`."""
    from biodyn.systems.cldtrans.config import compose_root

    return compose_root("focal", FocalRun, overrides, config_dir_=config_dir_)


def check_run(run: FocalRun) -> Path:
    """What can be checked of ``run`` before a recording is read: the weights' folders, the device, the
    results folder, the data folder (returned)."""
    from biodyn.data_root import data_root
    from biodyn.errors import DataRootError
    from biodyn.rundir import check_device, check_out_dir

    for name, folder in run.weights.items():
        if not Path(folder).exists():
            raise ConfigError(f"weights {name}={folder}: no such folder")
    check_device(run.device, "device")
    check_out_dir(run.out, "out")
    root = Path(run.data) if run.data else (data_root(required=True) / "chbmit")
    if not root.is_dir():
        raise DataRootError(f"data {root}: no such folder")
    return root


def run_focal(run: FocalRun, progress: bool = True) -> tuple[list[Path], int]:
    """Read the ictal windows ``run`` names and run :func:`run_focal_lead` on them: ``(the per-seed JSON
    paths, the number of windows)``."""
    from biodyn.datasets.chbmit import ictal_windows
    from biodyn.datasets.chbmit_excerpts import excerpt_ictal_windows
    from biodyn.io.events import read_onset_csv

    root = check_run(run)
    if run.excerpts:
        windows = excerpt_ictal_windows(
            root / "npy_excerpts" if (root / "npy_excerpts").is_dir() else root, run.span_s
        )
    else:
        windows = ictal_windows(root, run.offset_s, run.span_s)
        if not windows:
            from biodyn.errors import NothingMatchedError

            raise NothingMatchedError(
                f"no annotated seizure with its EDF under {root}; for the bundled sample use excerpts=true"
            )
    windows = select(windows, run.channels or None, run.per_patient)
    onsets = read_onset_csv(run.onsets or EXAMPLE_ONSETS)
    if not run.onsets and progress:
        print(f"onset channels: {EXAMPLE_ONSETS} (an EXAMPLE, not clinical truth)")
    cfg = run.focal_config()
    # a model that places its graph by channel name (the registry says which, e.g. EEG-GCNN) gets the windows'
    from biodyn.models import list_models, model_inputs

    for m in cfg.methods:
        if m in list_models() and model_inputs(m, **cfg.model_params.get(m, {})).channel_names:
            cfg.model_params = {
                **cfg.model_params,
                m: {**cfg.model_params.get(m, {}), "channels": windows[0].channels},
            }
    inputs = {
        "data": str(root),
        "excerpts": bool(run.excerpts),
        "onsets": str(run.onsets or EXAMPLE_ONSETS),
        "window": run.window(),
    }
    paths = run_focal_lead(
        windows,
        onsets,
        cfg,
        run.out,
        run.experiment,
        dict(run.weights),
        progress=progress,
        force=run.force,
        inputs=inputs,
        keep_detectors=run.keep_detectors,
    )
    return paths, len(windows)


def torch_device(cfg: FocalConfig):
    """The ``torch.device`` of ``cfg.device``; asking for CUDA without one is an error naming it."""
    import torch

    if cfg.device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if cfg.device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device={cfg.device!r}: no CUDA device is available here (use cpu or auto)")
    return torch.device(cfg.device)


def _model_device(model):
    p = next(model.parameters(), None)
    return p.device if p is not None else None


def select(
    windows: list[IctalWindow], channels: list[str] | None = None, per_patient: int | None = None
) -> list[IctalWindow]:
    """Keep ``channels`` (in that order) and at most ``per_patient`` windows per subject (CPU-sized runs)."""
    out, seen = [], {}
    for w in windows:
        if per_patient is not None and seen.get(w.subject, 0) >= per_patient:
            continue
        seen[w.subject] = seen.get(w.subject, 0) + 1
        if channels:
            missing = [c for c in channels if c not in w.channels]
            if missing:
                raise ConfigError(f"{w.record}: no channel(s) {missing}; it has {w.channels}")
            rows = [w.channels.index(c) for c in channels]
            bg = None if w.background is None else w.background[rows]
            w = IctalWindow(
                w.record, w.seizure_index, w.subject, w.data[rows], w.fs, list(channels), bg, w.source
            )
        out.append(w)
    return out


def _prepare(
    w: IctalWindow, x: np.ndarray, cfg: FocalConfig, fs: float | None = None
) -> tuple[np.ndarray, float]:
    """Band-pass 0.5-40 Hz (below 0.45 x the rate), resample to ``fs`` (default ``cfg.resample_hz``), z-score."""
    from biodyn.signal import PreprocessConfig, preprocess

    fs = fs or cfg.resample_hz
    pcfg = PreprocessConfig(l_freq=0.5, h_freq=min(40.0, 0.45 * fs), fs=fs, zscore=True)
    return preprocess(x, w.fs, pcfg)


def lag_graph_of(
    method: str, x: np.ndarray, fs: float, channels: list[str], cfg: FocalConfig, seed: int, model=None
):
    """The :class:`~biodyn.types.LagGraph` one lag method (or a trained ``model``'s ``lag_graph``) fits on
    ``x`` ``(C, T)`` (preprocessed) at ``fs``."""
    opts = dict(cfg.method_options.get(method, {}))
    if model is not None:
        return model_lag_graph(model, x, fs, channels, cfg.edge_threshold)
    if method == "ldsem":
        from biodyn.causal.fit import FitConfig, fit_ldsem

        return fit_ldsem(
            x,
            fs,
            channels,
            FitConfig(tau_max_samples=cfg.tau_max_s * fs, steps=cfg.ldsem_steps, **opts),
            seed=seed,
        )
    from biodyn.causal.baselines import fit_baseline

    if method == "rhino":
        opts = {"steps": cfg.rhino_steps, "seed": seed, **opts}
    return fit_baseline(method, x, fs, cfg.tau_max_s, channels=channels, **opts)


def graph_ranking(graph) -> tuple[list[str], list[float]]:
    """A lag graph's focal ranking (earliest first) and its scores (ascending, seconds)."""
    scores = graph.focal_scores()
    order = np.argsort(scores, kind="stable")
    return [graph.channels[i] for i in order], scores[order].tolist()


def occlusion_ranking(channels: list[str], drop: np.ndarray) -> tuple[list[str], list[float]]:
    """The occlusion read-out's ranking (largest drop of the seizure probability first) and its scores
    (the negated drops, ascending) for ``drop`` ``(C,)`` over ``channels``."""
    drop = np.asarray(drop, dtype=np.float64)
    order = np.argsort(-drop, kind="stable")
    return [channels[i] for i in order], (-drop[order]).tolist()


def lag_ranking(
    method: str, x: np.ndarray, fs: float, channels: list[str], cfg: FocalConfig, seed: int, model=None
) -> tuple[list[str], list[float], int]:
    """Focal ranking, its scores (ascending, seconds) and the number of asserted edges of one lag method on
    ``x`` ``(C, T)`` (preprocessed)."""
    graph = lag_graph_of(method, x, fs, channels, cfg, seed, model)
    return (*graph_ranking(graph), len(graph.edges()))


def model_lag_graph(
    model, x: np.ndarray, fs: float, channels: list[str], edge_threshold: float | None = None
):
    """The lag graph a trained model infers for ``x`` ``(C, T)`` at ``fs``, under ``channels``' names.

    ``lag_graph`` gets the channel names, the rate and ``edge_threshold`` (when not None) when it takes them
    (CLD-Trans does); its result, a
    :class:`~biodyn.types.LagGraph` or ``(tau_s, weight)`` arrays ``(C, C)``, is returned under ``channels``
    (rows and columns in the order of ``x``), so that the ranking names the window's channels."""
    import inspect

    import torch

    from biodyn.types import LagGraph

    params = inspect.signature(model.lag_graph).parameters
    kw = {
        k: v
        for k, v in (("channels", list(channels)), ("fs", float(fs)), ("edge_threshold", edge_threshold))
        if k in params and v is not None
    }
    if edge_threshold is not None and "edge_threshold" not in params:
        raise ConfigError(f"{type(model).__name__}.lag_graph takes no edge_threshold")
    with torch.no_grad():
        out = model.lag_graph(
            torch.as_tensor(x, dtype=torch.float32, device=_model_device(model))[None], **kw
        )
    if isinstance(out, LagGraph):
        tau, weight = out.tau, out.weight
    else:
        tau, weight = (
            np.asarray(v.detach().cpu() if hasattr(v, "detach") else v, dtype=np.float64) for v in out
        )
    c = len(channels)
    if np.shape(tau) != (c, c) or np.shape(weight) != (c, c):
        raise ConfigError(
            f"{type(model).__name__}.lag_graph gave tau {np.shape(tau)} and weight "
            f"{np.shape(weight)} for {c} channels; expected ({c}, {c})"
        )
    return LagGraph(
        np.asarray(tau, dtype=np.float64), np.asarray(weight, dtype=np.float64), list(channels), fs
    )


def model_rate(model) -> float | None:
    """The sampling rate a trained model reads (its ``sfreq``), or None."""
    fs = getattr(model, "sfreq", None)
    return float(fs) if fs else None


def occlusion_scores(model, x) -> np.ndarray:
    """``(C,)`` drop of the seizure probability (class 1) when each channel of ``x`` ``(C, T)`` is zeroed."""
    import torch

    model.eval()
    xt = torch.as_tensor(x, dtype=torch.float32, device=_model_device(model))
    c = xt.shape[0]
    batch = xt[None].repeat(c + 1, 1, 1)
    idx = torch.arange(c, device=xt.device)
    batch[idx + 1, idx] = 0.0  # row k + 1 has channel k occluded
    with torch.no_grad():
        p = torch.softmax(model(batch).float(), -1)[:, 1]
    return (p[0] - p[1:]).cpu().numpy()


def train_detector(
    name: str, xs: np.ndarray, ys: np.ndarray, fs: float, cfg: FocalConfig, seed: int, params: dict
):
    """A small ictal-vs-background detector: model ``name`` trained with Adam on windows ``xs`` ``(N, C, T)``."""
    return fit_detector(name, xs, ys, fs, cfg, seed, params).model


@dataclass
class FittedDetector:
    """A trained occlusion detector, what its checkpoint stores: the model, the mean training loss of every
    epoch, its number of optimiser steps and the records it was trained on."""

    model: Any
    losses: list[float]
    steps: int
    trained_on: list[str] = field(default_factory=list)


def fit_detector(
    name: str, xs: np.ndarray, ys: np.ndarray, fs: float, cfg: FocalConfig, seed: int, params: dict
) -> FittedDetector:
    """:func:`train_detector` with its per-epoch mean loss and step count kept (for its checkpoint and the
    run's ``log.jsonl``)."""
    import torch

    from biodyn.models import create_model
    from biodyn.nn.losses import classification_loss
    from biodyn.train.seed import seed_everything

    seed_everything(seed)
    dev = torch_device(cfg)
    model = create_model(name, n_chans=xs.shape[1], n_outputs=2, n_times=xs.shape[2], sfreq=fs, **params).to(
        dev
    )
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.detector_lr)
    x = torch.as_tensor(xs, dtype=torch.float32, device=dev)
    y = torch.as_tensor(ys, dtype=torch.long, device=dev)
    g = torch.Generator().manual_seed(seed)
    model.train()
    bs = min(16, len(x))
    losses, steps = [], 0
    for _ in range(cfg.detector_epochs):
        perm = torch.randperm(len(x), generator=g)
        total, n = torch.zeros((), device=dev), 0  # summed on the device: no host sync per step
        for k in range(0, len(x) - bs + 1, bs):
            i = perm[k : k + bs].to(dev)
            loss = classification_loss(model(x[i]), y[i])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total, n, steps = total + loss.detach(), n + 1, steps + 1
        losses.append(float(total) / max(n, 1))
    return FittedDetector(model.eval(), losses, steps)


def summarise(per_seizure: list[dict], ks=(1, 3, 5)) -> dict[str, float]:
    """Top-k accuracies and their Wilson intervals over the scored seizures."""
    scored = [s for s in per_seizure if s.get("onset_channels") and "top1" in s]
    out: dict[str, float] = {"n_seizures": len(scored)}
    for k in ks:
        hits = sum(s[f"top{k}"] for s in scored)
        lo, hi = wilson_interval(hits, len(scored))
        out[f"top{k}"] = hits / len(scored) if scored else float("nan")
        out[f"top{k}_ci95_low"], out[f"top{k}_ci95_high"] = lo, hi
    return out


def _resolve(method: str, weights: dict[str, str]):
    """``("lag", None)`` for causal methods; for a registered model with weights, ``("lag", model)`` when it
    has ``lag_graph`` else ``("occlusion", model)``; without weights ``("occlusion", None)`` (trained per
    left-out patient)."""
    if method in LAG_METHODS:
        return "lag", None
    from biodyn import models

    if method in weights:  # any label (e.g. cldtrans_no_vq): the folder says which model it is
        from biodyn.models import from_pretrained

        model = from_pretrained(weights[method])
        return ("lag", model) if hasattr(model, "lag_graph") else ("occlusion", model)
    if method not in models.list_models():
        allowed = ", ".join((*LAG_METHODS, *models.list_models()))
        raise ConfigError(
            f"unknown focal-lead method {method!r}; choose from {allowed}, or name its weights "
            f"with --weights {method}=FOLDER"
        )
    return "occlusion", None


def _settings(config: dict, weights) -> dict:
    """What a (method, seed) result depends on besides its path: the run's config but its method and seed lists
    and its device, and the method's weights."""
    return {
        **{k: v for k, v in config.items() if k not in ("methods", "seeds", "device")},
        "weights": weights,
    }


def _stored_settings(result: dict) -> dict:
    """The settings a finished (method, seed) file was run with, from the config and weights it records."""
    return _settings(result.get("config", {}), result.get("weights"))


RUN_FOLDER = "run_seed{seed}"  # beside seed<k>.json, as a few-shot cell's run folder
FOCAL_SYSTEM = "cldtrans_focal"  # config.yaml's system: what biodyn eval dispatches on
READOUT_FILE = "readout.npz"  # per seizure the arrays its ranking is computed from (no pickle)


def _about(result: dict, detectors: list[str], kept: bool = True) -> str:
    """One line that says what a focal run folder holds (``from_pretrained`` of the folder prints it)."""
    method, seed = result["model"], result["seed"]
    if result["weights"] is not None:
        return (
            f"a focal-lead run ({method}, seed {seed}) of the trained model in {result['weights']}, which it "
            f"applies and does not copy: load that folder"
        )
    if result["uses_labels"]:
        if not detectors:
            return f"a focal-lead run ({method}, seed {seed}) whose occlusion read-out trained no detector"
        if not kept:
            return (
                f"a focal-lead run ({method}, seed {seed}) that did not keep its {len(detectors)} "
                "leave-one-patient-out detectors (keep_detectors=False, biodyn focal --no-detectors)"
            )
        return (
            f"a focal-lead run ({method}, seed {seed}) of {len(detectors)} leave-one-patient-out detectors, "
            f"one per left-out patient: load one of {', '.join(f'detectors/{d}' for d in detectors)}"
        )
    return (
        f"a zero-shot focal-lead run ({method}, seed {seed}): it fits a lag graph per seizure "
        f"({READOUT_FILE}) and trains no model"
    )


def write_run_folder(
    run_dir: Path,
    result: dict,
    scored: Scored,
    kind: str,
    windows: list[IctalWindow],
    inputs: dict | None,
    keep_detectors: bool = True,
) -> Path:
    """Write one (method, seed)'s run folder in the project's layout:

    - ``config.yaml``: ``system: cldtrans_focal``, what the folder holds (``about``), the method, seed and
      read-out, the resolved :class:`FocalConfig`, the weights applied, and the inputs (the CLI's data and
      onset settings, every window's record, seizure, subject, rate and channels);
    - ``log.jsonl``: per detector epoch its mean training loss (``kind: detector``), per seizure its
      scores (``kind: seizure``), then the summary (``kind: summary``);
    - ``results.json``: the result (the per-seed JSON's content);
    - ``readout.npz``: per seizure ``s<i>_channels`` and either the lag graph (``s<i>_tau``, ``s<i>_weight``,
      ``s<i>_fs``) or the occlusion drops (``s<i>_drop``), from which ``biodyn eval`` recomputes the rankings;
    - ``detectors/<subject>/checkpoints/last``: each leave-one-patient-out detector the occlusion read-out
      trained (a Trainer checkpoint of the weights, no optimiser state: :func:`biodyn.models.from_pretrained`
      loads it); ``keep_detectors=False`` stores none (BENDR's are 0.6 GB each at its default size). A
      zero-shot lag method and a method applied to given weights train nothing and store no model.

    No ``config.json`` or ``model.safetensors`` at the top: nothing an export's loader takes for an export.
    A folder left by an interrupted run is replaced."""
    import shutil

    import yaml

    from biodyn.atomic import atomic_path, atomic_write_json, atomic_write_text, dumps_json
    from biodyn.models import InputSpec
    from biodyn.train.checkpoint import save_checkpoint

    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    trained = {s: d for s, d in scored.detectors.items() if d is not None}
    config = {
        "system": FOCAL_SYSTEM,
        "about": _about(result, sorted(trained), keep_detectors),
        "experiment": result["experiment"],
        "method": result["model"],
        "seed": result["seed"],
        "kind": kind,
        "readout": result["readout"],
        "uses_labels": result["uses_labels"],
        "weights": result["weights"],
        "focal": result["config"],
        "inputs": {
            **(inputs or {}),
            "windows": [
                {
                    "record": w.record,
                    "seizure_index": w.seizure_index,
                    "subject": w.subject,
                    "fs": float(w.fs),
                    "n_samples": int(w.data.shape[-1]),
                    "channels": list(w.channels),
                    "source": getattr(w, "source", None),
                }
                for w in windows
            ],
        },
    }
    text = yaml.safe_dump(json.loads(dumps_json(config)), sort_keys=False)
    atomic_write_text(run_dir / "config.yaml", text)
    cfg = result["config"]
    for subject, det in sorted(trained.items() if keep_detectors else ()):
        spec = InputSpec(
            channels=list(windows[0].channels),
            sfreq=float(cfg["resample_hz"]),
            window_s=float(cfg["span_s"]),
            preprocessing={
                "l_freq": 0.5,
                "h_freq": min(40.0, 0.45 * cfg["resample_hz"]),
                "fs": cfg["resample_hz"],
                "zscore": True,
            },
            classes=["background", "ictal"],
            extra={"left_out_subject": subject, "trained_on": det.trained_on},
        )
        save_checkpoint(  # weights only: a detector is never trained further (BENDR's AdamW moments: 1.2 GB)
            run_dir / "detectors" / subject / "checkpoints" / "last",
            model=det.model,
            optimizer=None,
            state={
                "model_name": det.model.model_name,
                "model_config": det.model.init_config(),
                "input_spec": spec.to_dict(),
                "step": det.steps,
            },
        )
    lines = [
        {"kind": "detector", "subject": subject, "epoch": e + 1, "loss": loss}
        for subject, det in sorted(trained.items())
        for e, loss in enumerate(det.losses)
    ]
    for entry in result["per_seizure"]:
        keep = ("record", "seizure_index", "n_edges", "top1", "top3", "top5", "error")
        lines.append({"kind": "seizure", **{k: entry[k] for k in keep if k in entry}})
    lines.append({"kind": "summary", **result["metrics"], "fit_s": result["fit_s"]})
    atomic_write_text(run_dir / "log.jsonl", "".join(dumps_json(r) + "\n" for r in lines))
    arrays = {f"s{i}_{k}": np.asarray(v) for i, a in enumerate(scored.arrays) for k, v in a.items()}
    with atomic_path(run_dir / READOUT_FILE) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    atomic_write_json(run_dir / "results.json", result)
    return run_dir


def run_focal_lead(
    windows: list[IctalWindow],
    onsets: dict[tuple[str, int], list[str]],
    cfg: FocalConfig,
    out_dir: str | os.PathLike,
    experiment: str = "focal",
    weights: dict[str, str] | None = None,
    progress: bool = True,
    force: bool = False,
    inputs: dict | None = None,
    keep_detectors: bool = True,
) -> list[Path]:
    """Run every method x seed; writes one JSON per (method, seed) and its run folder beside it (see
    :func:`write_run_folder`) and returns the JSON paths. A finished (method, seed) file run with the same
    settings is skipped (resumable); one run with others is an error (``force``: run again). ``inputs``: where
    the windows and onsets came from (the CLI's data folder, window settings and onset file), recorded in each
    run's ``config.yaml``. ``keep_detectors=False``: the occlusion detectors are not stored (not a setting of
    the results: their read-outs are the same)."""
    from biodyn.atomic import atomic_write_json
    from biodyn.provenance import git_commit, versions
    from biodyn.train.fewshot import reuse_finished

    weights = dict(weights or {})
    if not windows:
        raise ConfigError("no ictal windows to score")
    unmatched = [
        f"{w.record}#{w.seizure_index}" for w in windows if (w.record, w.seizure_index) not in onsets
    ]
    prepared = [(w, *_prepare(w, w.data, cfg)) for w in windows]
    written = []
    for method in cfg.methods:
        kind, model = _resolve(method, weights)
        if model is not None:
            model = model.to(torch_device(cfg))
        # a trained model's read-out does not depend on the seed either (one forward pass per window)
        deterministic = method in DETERMINISTIC or model is not None
        cache: Scored | None = None
        for seed in cfg.seeds:
            path = Path(out_dir) / experiment / method / "chbmit-focal" / "zeroshot" / f"seed{seed}.json"
            now = _settings(asdict(cfg), str(weights[method]) if method in weights else None)
            if reuse_finished(path, now, _stored_settings, force):
                written.append(path)
                continue
            t0 = time.perf_counter()
            if cache is not None and deterministic:
                scored = Scored(cache.per_seizure, cache.arrays)  # nothing trained again
            else:
                scored = _score_method(method, kind, model, prepared, onsets, cfg, seed)
                cache = scored
            per = scored.per_seizure
            run_dir = path.parent / RUN_FOLDER.format(seed=seed)
            result = {
                "experiment": experiment,
                "model": method,
                "task": "chbmit-focal",
                "budget": "zeroshot",
                "seed": seed,
                "readout": "occlusion (LOPO detector)" if kind == "occlusion" else "argmin_i sum_j tau_ij",
                "uses_labels": kind == "occlusion",
                "deterministic": deterministic,
                "weights": str(weights[method]) if method in weights else None,
                "metrics": summarise(per),
                "per_seizure": per,
                "unmatched_windows": unmatched,
                "config": asdict(cfg),
                "fit_s": time.perf_counter() - t0,
                "run_dir": str(run_dir),
                "git_commit": git_commit(),
                "versions": versions(),
            }
            write_run_folder(run_dir, result, scored, kind, windows, inputs, keep_detectors)
            atomic_write_json(path, result)  # last: the per-seed file marks the (method, seed) finished
            written.append(path)
            if progress:
                m = result["metrics"]
                print(
                    f"{method:>10s} seed {seed:>3d}: top1 {m['top1']:.3f} top3 {m['top3']:.3f} top5 {m['top5']:.3f}"
                    f" over {m['n_seizures']} seizures ({result['fit_s']:.1f} s)",
                    flush=True,
                )
    return written


@dataclass
class Scored:
    """One (method, seed)'s read-out: the per-seizure entries of its result, per seizure the arrays the ranking
    is computed from (``readout.npz`` of its run folder: a lag graph's ``tau``/``weight``/``fs`` or the
    occlusion drops, and the channel order) and the detectors it trained (by left-out subject)."""

    per_seizure: list[dict]
    arrays: list[dict[str, np.ndarray]]
    detectors: dict[str, FittedDetector | None] = field(default_factory=dict)


def _score_method(method, kind, model, prepared, onsets, cfg: FocalConfig, seed: int) -> Scored:
    from biodyn.causal.metrics import topk_accuracy

    out = Scored([], [])
    for w, x, fs in prepared:
        listed = onsets.get((w.record, w.seizure_index), [])
        truth = [c for c in listed if c in w.channels]  # onset channels outside the ranked set are not scored
        entry: dict[str, Any] = {
            "record": w.record,
            "seizure_index": w.seizure_index,
            "onset_channels": truth,
        }
        if len(truth) < len(listed):
            entry["unknown_onset_channels"] = sorted(set(listed) - set(truth))
        arrays: dict[str, np.ndarray] = {"channels": np.asarray(w.channels, dtype=str)}
        if kind == "lag":
            rate = model_rate(model) if model is not None else None
            if rate is not None and abs(rate - fs) > 1e-6:  # a trained model reads windows at its own rate
                x, fs = _prepare(w, w.data, cfg, rate)
            graph = lag_graph_of(method, x, fs, w.channels, cfg, seed, model)
            ranking, ranked_scores = graph_ranking(graph)
            entry["n_edges"], entry["focal_scores_s"] = len(graph.edges()), ranked_scores
            arrays.update(
                channels=np.asarray(graph.channels, dtype=str),
                tau=graph.tau,
                weight=graph.weight,
                fs=graph.fs,
            )
        else:
            det = model
            if det is None:
                if w.subject not in out.detectors:
                    out.detectors[w.subject] = _lopo_detector(method, w.subject, prepared, cfg, seed)
                fitted = out.detectors[w.subject]
                det = fitted.model if fitted is not None else None
                if hasattr(det, "lag_graph"):
                    raise ConfigError(
                        f"{method} reads lags from trained weights: pass weights={{'{method}': FOLDER}}"
                    )
            if det is None:
                entry["error"] = "no training windows from other patients"
                out.per_seizure.append(entry)
                out.arrays.append(arrays)
                continue
            scores = occlusion_scores(det, x)
            ranking, ranked_scores = occlusion_ranking(w.channels, scores)
            entry["occlusion_drop"] = scores.tolist()
            arrays["drop"] = np.asarray(scores, dtype=np.float64)
        entry["ranking"] = ranking
        if truth:  # a seizure none of whose onset channels is ranked is left out of the accuracies
            entry.update(topk_accuracy(ranking, truth, scores=ranked_scores))
        out.per_seizure.append(entry)
        out.arrays.append(arrays)
    return out


def example_onsets(windows: list[IctalWindow], n_channels: int = 2) -> dict[tuple[str, int], list[str]]:
    """The rule behind the shipped example onset file (NOT clinical truth): per window, the ``n_channels``
    channels with the largest ratio of ictal to background line length (mean absolute first difference)."""
    out = {}
    for w in windows:
        if w.background is None:
            continue
        ratio = np.abs(np.diff(w.data, axis=1)).mean(1) / np.maximum(
            np.abs(np.diff(w.background, axis=1)).mean(1), 1e-12
        )
        out[(w.record, w.seizure_index)] = [
            w.channels[i] for i in np.argsort(-ratio, kind="stable")[:n_channels]
        ]
    return out


def _lopo_detector(method: str, subject: str, prepared, cfg: FocalConfig, seed: int) -> FittedDetector | None:
    xs, ys, records = [], [], []
    for w, x, _fs in prepared:
        if w.subject == subject:
            continue
        xs.append(x)
        ys.append(1)
        records.append(f"{w.record}#{w.seizure_index}")
        if w.background is not None:
            xs.append(_prepare(w, w.background, cfg)[0])
            ys.append(0)
    if not xs or len(set(ys)) < 2:
        return None
    fs = prepared[0][2]
    det = fit_detector(method, np.stack(xs), np.asarray(ys), fs, cfg, seed, cfg.model_params.get(method, {}))
    det.trained_on = records
    return det
