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


# a preset's keys that are not FocalConfig's
WINDOW_KEYS = (
    "span_s",
    "resample_hz",
    "channels",
    "per_patient",
)


def load_preset(name: str) -> dict[str, Any]:
    """A named preset of ``configs/focal/<name>.yaml`` (``quick``: CPU-sized) as a dict; every key is a
    :class:`FocalConfig` field or one of :data:`WINDOW_KEYS` (an unknown key is a :class:`ConfigError`)."""
    import yaml

    from biodyn.configs import config_path

    path = config_path("focal", f"{name}.yaml")
    if not path.is_file():
        raise ConfigError(f"no focal preset {name!r} ({path} does not exist)")
    preset = yaml.safe_load(path.read_text()) or {}
    known = {f.name for f in fields(FocalConfig)} | set(WINDOW_KEYS)
    bad = sorted(set(preset) - known)
    if bad:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(bad)}; allowed: {', '.join(sorted(known))}")
    return preset


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


def lag_ranking(
    method: str, x: np.ndarray, fs: float, channels: list[str], cfg: FocalConfig, seed: int, model=None
) -> tuple[list[str], list[float], int]:
    """Focal ranking, its scores (ascending, seconds) and the number of asserted edges of one lag method on
    ``x`` ``(C, T)`` (preprocessed)."""
    opts = dict(cfg.method_options.get(method, {}))
    if model is not None:
        graph = model_lag_graph(model, x, fs, channels, cfg.edge_threshold)
    elif method == "ldsem":
        from biodyn.causal.fit import FitConfig, fit_ldsem

        graph = fit_ldsem(
            x,
            fs,
            channels,
            FitConfig(tau_max_samples=cfg.tau_max_s * fs, steps=cfg.ldsem_steps, **opts),
            seed=seed,
        )
    else:
        from biodyn.causal.baselines import fit_baseline

        if method == "rhino":
            opts = {"steps": cfg.rhino_steps, "seed": seed, **opts}
        graph = fit_baseline(method, x, fs, cfg.tau_max_s, channels=channels, **opts)
    scores = graph.focal_scores()
    order = np.argsort(scores, kind="stable")
    return [graph.channels[i] for i in order], scores[order].tolist(), len(graph.edges())


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
    for _ in range(cfg.detector_epochs):
        perm = torch.randperm(len(x), generator=g)
        for k in range(0, len(x) - bs + 1, bs):
            i = perm[k : k + bs].to(dev)
            loss = classification_loss(model(x[i]), y[i])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval()


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


def run_focal_lead(
    windows: list[IctalWindow],
    onsets: dict[tuple[str, int], list[str]],
    cfg: FocalConfig,
    out_dir: str | os.PathLike,
    experiment: str = "focal",
    weights: dict[str, str] | None = None,
    progress: bool = True,
    force: bool = False,
) -> list[Path]:
    """Run every method x seed; writes one JSON per (method, seed) and returns their paths. A finished
    (method, seed) file run with the same settings is skipped (resumable); one run with others is an error
    (``force``: run again)."""
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
        cache: dict[str, Any] | None = None
        for seed in cfg.seeds:
            path = Path(out_dir) / experiment / method / "chbmit-focal" / "zeroshot" / f"seed{seed}.json"
            now = _settings(asdict(cfg), str(weights[method]) if method in weights else None)
            if reuse_finished(path, now, _stored_settings, force):
                written.append(path)
                continue
            t0 = time.perf_counter()
            if cache is not None and deterministic:
                per = cache
            else:
                per = _score_method(method, kind, model, prepared, onsets, cfg, seed)
                cache = per
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
                "git_commit": git_commit(),
                "versions": versions(),
            }
            atomic_write_json(path, result)
            written.append(path)
            if progress:
                m = result["metrics"]
                print(
                    f"{method:>10s} seed {seed:>3d}: top1 {m['top1']:.3f} top3 {m['top3']:.3f} top5 {m['top5']:.3f}"
                    f" over {m['n_seizures']} seizures ({result['fit_s']:.1f} s)",
                    flush=True,
                )
    return written


def _score_method(method, kind, model, prepared, onsets, cfg: FocalConfig, seed: int) -> list[dict]:
    from biodyn.causal.metrics import topk_accuracy

    per = []
    detectors: dict[str, Any] = {}
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
        if kind == "lag":
            rate = model_rate(model) if model is not None else None
            if rate is not None and abs(rate - fs) > 1e-6:  # a trained model reads windows at its own rate
                x, fs = _prepare(w, w.data, cfg, rate)
            ranking, ranked_scores, n_edges = lag_ranking(method, x, fs, w.channels, cfg, seed, model)
            entry["n_edges"], entry["focal_scores_s"] = n_edges, ranked_scores
        else:
            det = model
            if det is None:
                if w.subject not in detectors:
                    detectors[w.subject] = _lopo_detector(method, w.subject, prepared, cfg, seed)
                det = detectors[w.subject]
                if hasattr(det, "lag_graph"):
                    raise ConfigError(
                        f"{method} reads lags from trained weights: pass weights={{'{method}': FOLDER}}"
                    )
            if det is None:
                entry["error"] = "no training windows from other patients"
                per.append(entry)
                continue
            scores = occlusion_scores(det, x)
            order = np.argsort(-scores, kind="stable")
            ranking, ranked_scores = [w.channels[i] for i in order], (-scores[order]).tolist()
            entry["occlusion_drop"] = scores.tolist()
        entry["ranking"] = ranking
        if truth:  # a seizure none of whose onset channels is ranked is left out of the accuracies
            entry.update(topk_accuracy(ranking, truth, scores=ranked_scores))
        per.append(entry)
    return per


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


def _lopo_detector(method: str, subject: str, prepared, cfg: FocalConfig, seed: int):
    xs, ys = [], []
    for w, x, _fs in prepared:
        if w.subject == subject:
            continue
        xs.append(x)
        ys.append(1)
        if w.background is not None:
            xs.append(_prepare(w, w.background, cfg)[0])
            ys.append(0)
    if not xs or len(set(ys)) < 2:
        return None
    fs = prepared[0][2]
    return train_detector(
        method, np.stack(xs), np.asarray(ys), fs, cfg, seed, cfg.model_params.get(method, {})
    )
