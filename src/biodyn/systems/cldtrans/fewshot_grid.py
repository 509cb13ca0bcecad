"""The few-shot transfer grid of CLD-Trans' evaluation: datasets x models x label budgets x seeds x
{linear probe, fine-tune}, patient-disjoint, resumable (a cell whose JSON exists is skipped).

Datasets (each with its metrics on the test split):

- ``chbmit``: seizure detection on windows (label 1 when any sample is ictal): AUROC, AUPRC;
- ``ptbxl``: 5 diagnostic superclasses, multi-label: macro-AUROC;
- ``sleepedf``: 5 stages on 30 s epochs (unlabelled epochs dropped): macro-F1, Cohen's kappa.

Splits are patient-disjoint: PTB-XL's official ``strat_fold`` (1-8 / 9 / 10, folds are patient-disjoint);
CHB-MIT and Sleep-EDF by subject (sorted, then 60 / 20 / 20 % of subjects, at least one each). With the
bundled CHB-MIT excerpts (two patients, ``source="excerpts"``) the last patient is the test set and the
validation set is the training patients' windows (model selection never sees the test patient). A budget is
a fraction of the training patients, or with ``budget_unit[dataset] = "window"`` of the training windows
(stratified by class): the CPU preset's choice for the excerpts, whose one training patient every patient
budget keeps whole, and the full preset's for CHB-MIT and Sleep-EDF (see ``FULL_GRID``). When two budgets of
a (dataset, seed) still select the same training windows (a stratum too small for a fraction to bite: the
bundled PTB-XL sample's 27 training records keep one per stratum at 1 % as at 10 %), :func:`run_grid` prints
one warning line and each such cell's JSON names the others in ``same_training_set_as``; ``biodyn report``
marks those cells.

Each cell is :func:`biodyn.train.experiment.run_experiment` and is written to
``<results>/<experiment>/<model>/<dataset>-<mode>/<budget>/seed<k>.json``, the layout ``biodyn report``
reads. Models are resolved by registered name, or by a label with trained weights
(``weights={"cldtrans": DIR, "cldtrans_no_vq": DIR2}``: CLD-Trans' stage-1 encoder and its ablations; the head
is new). CLD-Trans reads its windows at its modality's rate with its pretraining chain (EEG 160 Hz, ECG
500 Hz, z-scored) and is trained on the labels through ``train.objective=task``.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from biodyn.cache.views import ArrayWindows, LabelledView, patient_split
from biodyn.errors import ConfigError, check_option
from biodyn.train.fewshot import SEEDS

DATASETS = ("chbmit", "ptbxl", "sleepedf")
MODES = ("linear_probe", "finetune")
# the per-dataset settings (mappings dataset -> value) that say how a dataset is read: a cell stores them
READING = ("sources", "preprocess", "window_s", "stride_s", "budget_unit", "limit", "stored_fs")
TASK_OF = {"chbmit": ("multiclass", 2), "ptbxl": ("multilabel", 5), "sleepedf": ("multiclass", 5)}
PRIMARY = {
    "chbmit": ("test_auroc", "test_auprc"),
    "ptbxl": ("test_macro_auroc",),
    "sleepedf": ("test_macro_f1", "test_cohen_kappa"),
}


@dataclass
class GridConfig:
    datasets: tuple[str, ...] = DATASETS
    models: tuple[str, ...] = ("biot", "bendr", "eeg_gcnn")
    budgets: tuple[float, ...] = (0.01, 0.10, 1.0)
    seeds: tuple[int, ...] = SEEDS
    modes: tuple[str, ...] = MODES
    experiment: str = "fewshot"
    model_params: dict[str, dict] = field(default_factory=dict)  # per model: config overrides
    # TrainConfig overrides (max_steps, lr, batch_size ...)
    train: dict[str, Any] = field(default_factory=dict)
    roots: dict[str, str] = field(default_factory=dict)  # per dataset; default: the sample data root
    # chbmit: "corpus" (EDFs) or "excerpts" (bundled npy)
    sources: dict[str, str] = field(default_factory=dict)
    preprocess: dict[str, dict] = field(default_factory=dict)  # per dataset: PreprocessConfig overrides
    window_s: dict[str, float] = field(default_factory=dict)
    stride_s: dict[str, float] = field(default_factory=dict)  # chbmit excerpts: window hop (default window_s)
    # per dataset: what a budget counts, "subject" (default: a fraction of the training patients) or
    # "window" (a fraction of the training windows, by class: for the excerpts' one training patient)
    budget_unit: dict[str, str] = field(default_factory=dict)
    cache_dir: str = "cache/fewshot"
    limit: dict[str, int] = field(default_factory=dict)  # per dataset: first N records (CPU-sized runs)
    # per dataset stored at several rates (PTB-XL: 100 / 500 Hz): the copy every model reads, resampled to its
    # own rate, so that all models see the same records (default: each model's lowest copy at or above its
    # rate; the bundled PTB-XL sample has a 500 Hz copy of 45 of its 500 records only)
    stored_fs: dict[str, int] = field(default_factory=dict)
    # per model label: trained weights (an export or a Trainer checkpoint, e.g. CLD-Trans stage 1); the
    # label may be new (cldtrans_no_vq): the architecture is the checkpoint's, every weight but the head is
    # copied, the head is trained
    weights: dict[str, str] = field(default_factory=dict)


def excerpt_data(
    folder: str | os.PathLike,
    fs_out: float | None = None,
    zscore: bool = False,
    window_s: float | None = None,
    stride_s: float | None = None,
) -> dict[str, Any]:
    """CHB-MIT seizure detection on the bundled npy excerpts (windows from
    :func:`biodyn.datasets.chbmit_excerpts.excerpt_windows`): the last patient is the test set, the others
    train and validate."""
    from biodyn.datasets.chbmit_excerpts import excerpt_windows
    from biodyn.provenance import stable_hash

    w = excerpt_windows(folder, fs_out, zscore=zscore, window_s=window_s, stride_s=stride_s)
    x, ys, subs, fs, channels = w["x"], w["labels"], w["subjects"], w["fs"], w["channels"]
    test_subj = sorted(set(subs))[-1]
    tr = subs != test_subj
    mk = lambda m: ArrayWindows(x[m], ys[m], subs[m], fs, channels)  # noqa: E731
    return {
        "train": mk(tr),
        "val": mk(tr),
        "test": mk(~tr),
        "manifest_hash": stable_hash([sorted(w["files"]), w["window"], w["stride"]]),
        "channels": list(channels),
    }


def corpus_data(
    dataset: str,
    root,
    cache_dir,
    preprocess: dict | None = None,
    window_s: float | None = None,
    limit: int | None = None,
    stored_fs: int | None = None,
) -> dict[str, Any]:
    """Build (or reuse) the window cache of a corpus and open patient-disjoint train / val / test views.

    ``stored_fs``: the stored copy to read for a corpus kept at several rates (PTB-XL: 100 or 500); default:
    the lowest at or above the preprocessing rate."""
    from dataclasses import replace

    from biodyn.cache import CacheError, WindowDataset, build_cache
    from biodyn.cache.dataset import read_manifest
    from biodyn.datasets import CORPORA, get_corpus
    from biodyn.provenance import stable_hash

    check_option("dataset", dataset, CORPORA)
    cfg = replace(CORPORA[dataset].default_preprocess, **(preprocess or {}))
    # without stored_fs: PTB-XL at 500 Hz for CLD-Trans' ECG chain, 100 Hz below
    copy = {} if stored_fs is None else {"sampling_rate": int(stored_fs)}
    corpus = get_corpus(dataset, root, fs=cfg.fs, **copy)
    refs = corpus.records()
    ids = sorted(r.record_id for r in refs)[:limit] if limit else None
    rep = build_cache(corpus, cache_dir, records=ids, preprocess=cfg, window_s=window_s, progress=False)
    if rep.all_failed:
        raise ConfigError(f"{dataset}: no record could be cached: {rep.failed}")
    out: dict[str, Any] = {"manifest_hash": stable_hash(read_manifest(cache_dir))}
    splits = {r.split for r in refs if ids is None or r.record_id in ids}
    if {"train", "val", "test"} <= splits:  # an official patient-disjoint split (PTB-XL's strat_fold)
        for k in ("train", "val", "test"):
            out[k] = LabelledView(WindowDataset(cache_dir, split=k))
    else:
        every = WindowDataset(cache_dir, records=ids)
        part = patient_split(every.subjects)
        for k, subs in part.items():
            idx = np.flatnonzero(np.isin(every.subjects, subs) & (np.asarray(every.labels) >= 0))
            if not len(idx):
                raise CacheError(f"{dataset}: no labelled window for the {k} subjects {subs}")
            out[k] = LabelledView(every, idx)
        out["subjects"] = part
    out["channels"] = out["train"].ds.channels
    return out


def load_dataset(
    dataset: str, grid: GridConfig, preprocess: dict | None = None, tag: str = ""
) -> dict[str, Any]:
    """The dataset's train / val / test views, preprocessed by ``preprocess`` (default: the grid's settings
    for it); ``tag`` names its own cache folder (``<cache_dir>/<dataset><tag>``, ``_from<rate>hz`` appended when
    the grid's ``stored_fs`` names the copy to read)."""
    from biodyn.data_root import data_root

    check_option("dataset", dataset, DATASETS)
    root = grid.roots.get(dataset)
    if root is None:
        base = data_root(required=True)
        root = base / {"sleepedf": "sleep_edf"}.get(dataset, dataset)
    pre = grid.preprocess.get(dataset, {}) if preprocess is None else preprocess
    if dataset == "chbmit" and grid.sources.get("chbmit", "corpus") == "excerpts":
        folder = Path(root) / "npy_excerpts" if (Path(root) / "npy_excerpts").is_dir() else Path(root)
        return excerpt_data(
            folder,
            pre.get("fs"),
            bool(pre.get("zscore", False)),
            grid.window_s.get("chbmit"),
            grid.stride_s.get("chbmit"),
        )
    stored = grid.stored_fs.get(dataset)
    cache = Path(grid.cache_dir) / f"{dataset}{tag}{'' if stored is None else f'_from{stored}hz'}"
    return corpus_data(dataset, root, cache, pre, grid.window_s.get(dataset), grid.limit.get(dataset), stored)


MODALITY_OF = {"chbmit": "eeg", "ptbxl": "ecg", "sleepedf": "eeg"}


def resolve_model(label: str, grid: GridConfig) -> tuple[str, dict, str | None]:
    """``(registered name, create_model overrides, weights folder or None)`` of the grid's model ``label``.

    With weights, the architecture is the checkpoint's (its config, without the signal's shape) under the
    grid's overrides for ``label``. Every cell trains on the task's loss (``train.objective=task``), so a
    self-supervised encoder (CLD-Trans) is fine-tuned or probed on the labels like every other model."""
    from biodyn.models import list_models

    folder = grid.weights.get(label)
    params = dict(grid.model_params.get(label, {}))
    if folder:
        from biodyn.train.pretrained import trained_config

        name, cfg = trained_config(folder)
        params = {**cfg, **params}
    elif label in list_models():
        name = label
    else:
        raise ConfigError(
            f"unknown model {label!r} in the few-shot grid; registered: {', '.join(list_models())}"
            f" (or give its trained weights: weights={{'{label}': FOLDER}})"
        )
    return name, params, str(folder) if folder else None


def model_preprocess(name: str, params: dict, dataset: str, grid: GridConfig) -> tuple[dict, str]:
    """``(preprocessing, cache tag)`` of ``dataset`` for model ``name``: the grid's, except for a model the
    registry binds to its modalities' rates (:func:`~biodyn.models.model_inputs`, e.g. CLD-Trans): its
    modality's chain as in its pretraining (CLD-Trans: EEG 0.5-40 Hz at 160 Hz, ECG 0.05-150 Hz at 500 Hz,
    z-scored) at the rate the model is bound to."""
    from dataclasses import asdict

    from biodyn.models import model_inputs
    from biodyn.signal import config as sigcfg

    inputs = model_inputs(name, **params)
    if not inputs.rates:
        return grid.preprocess.get(dataset, {}), ""
    modality = MODALITY_OF[dataset]
    if modality not in inputs.rates:
        raise ConfigError(f"{name} reads {', '.join(inputs.modalities)}; {dataset} is {modality}")
    named = inputs.preprocess.get(modality)
    chain = asdict(getattr(sigcfg, named)) if named else dict(grid.preprocess.get(dataset, {}))
    chain["fs"] = float(inputs.rates[modality])
    keys = ("fs", "l_freq", "h_freq", "zscore")
    return {k: chain[k] for k in keys if k in chain}, f"_{modality}{chain['fs']:g}hz"


CELL_FILE = "fewshot_cell.json"  # in a cell's run folder: the grid and data settings it was trained with


def evaluate_cell(run_dir: str | os.PathLike, *, which: str = "best", split: str = "test") -> dict[str, Any]:
    """``biodyn eval`` of a few-shot cell's run folder (``.../<budget>/run_seed<k>``): its data rebuilt as the
    grid built it (dataset, preprocessing, cache), then the task's metrics of its checkpoint on ``split``."""
    from dataclasses import fields

    from biodyn.train.evaluate import evaluate_run

    f = Path(run_dir) / CELL_FILE
    if not f.is_file():
        raise ConfigError(f"{run_dir}: not a few-shot cell's run folder (no {CELL_FILE})")
    cell = json.loads(f.read_text())
    defaults = GridConfig()
    saved = {k.name: cell["grid"][k.name] for k in fields(GridConfig) if k.name in cell["grid"]}
    grid = GridConfig(
        **{k: tuple(v) if isinstance(getattr(defaults, k), tuple) else v for k, v in saved.items()}
    )
    data = load_dataset(cell["dataset"], grid, cell["preprocess"], cell["tag"])
    res = evaluate_run(run_dir, which=which, split=split, data=data)
    return {**res, "system": "cldtrans_fewshot", "dataset": cell["dataset"]}


def _on_scalp(channels) -> bool:
    if not channels:
        return False
    from biodyn.montage import positions

    try:
        positions(list(channels))
    except Exception:  # ECG leads, unknown names: EEG-GCNN then weights edges by coherence alone
        return False
    return True


def cell_path(
    results: Path, grid: GridConfig, model: str, dataset: str, mode: str, budget: float, seed: int
) -> Path:
    from biodyn.train.fewshot import budget_name

    return results / grid.experiment / model / f"{dataset}-{mode}" / budget_name(budget) / f"seed{seed}.json"


def same_training_sets(
    data: dict, budgets, seeds, unit: str = "subject"
) -> dict[tuple[float, int], list[str]]:
    """``{(budget, seed): [names of the other budgets that select the identical training windows]}`` for the
    budgets of ``data["train"]`` (what :func:`biodyn.train.fewshot.fewshot_indices` draws), only where
    some coincide: two such budgets are one measurement, not two points of the budget curve."""
    from biodyn.train.fewshot import budget_name, fewshot_indices

    train = data["train"]
    out: dict[tuple[float, int], list[str]] = {}
    for seed in seeds:
        idx = {b: fewshot_indices(train.labels, train.subjects, float(b), seed, unit) for b in budgets}
        for b in budgets:
            same = [budget_name(o) for o in budgets if o != b and np.array_equal(idx[o], idx[b])]
            if same:
                out[(b, seed)] = same
    return out


def _warn_same(dataset: str, tag: str, same: dict[tuple[float, int], list[str]]) -> None:
    import sys

    from biodyn.train.fewshot import budget_name

    groups: dict[tuple[str, ...], list[int]] = {}
    for (b, seed), others in same.items():
        key = tuple(sorted({budget_name(b), *others}, key=lambda n: float(n.removesuffix("pct"))))
        if seed not in groups.setdefault(key, []):
            groups[key].append(seed)
    shown = "; ".join(f"{' = '.join(k)} for seed {', '.join(map(str, v))}" for k, v in groups.items())
    where = f" ({tag.strip('_')})" if tag else ""
    print(
        f"biodyn: warning: {dataset}{where}: budgets select the same training windows ({shown}): one measurement, "
        f"not several; the cells say so in same_training_set_as",
        file=sys.stderr,
        flush=True,
    )


def cell_settings(grid: GridConfig, model: str, dataset: str) -> dict[str, Any]:
    """What a cell's result depends on besides its place in the grid (model label, dataset, mode, budget and
    seed are in its path): the model's config and weights, the training overrides and the dataset's reading.
    Stored in every cell; a finished cell is reused only when they are the same (the data folder itself may
    move)."""
    return json.loads(
        json.dumps(
            {
                "model_params": grid.model_params.get(model, {}),
                "weights": grid.weights.get(model),
                "train": grid.train,
                **{k: getattr(grid, k).get(dataset) for k in READING},
            },
            sort_keys=True,
            default=str,
        )
    )


def run_grid(
    grid: GridConfig, results_dir: str | os.PathLike, progress: bool = True, force: bool = False
) -> list[Path]:
    """Run every missing cell of ``grid``; returns the paths of all its cells' JSON. A finished cell is skipped
    when it was run with the same :func:`cell_settings`; one run with others is an error (``force``: run again).
    A cell whose training windows are those of another budget of its (dataset, seed) lists that budget in
    ``same_training_set_as`` (one warning line per dataset and preprocessing)."""
    from dataclasses import asdict

    from biodyn.atomic import atomic_write_json
    from biodyn.models import model_inputs
    from biodyn.train.config import DataConfig, ExperimentConfig, FewShotConfig, ModelConfig, TrainConfig
    from biodyn.train.experiment import run_experiment
    from biodyn.train.fewshot import reuse_finished

    specs = {m: resolve_model(m, grid) for m in grid.models}  # a typo or a bad folder fails before any data
    for mode in grid.modes:
        check_option("mode", mode, MODES)
    results = Path(results_dir)
    paths = []
    for dataset in grid.datasets:
        cells = [
            (m, mode, b, s)
            for m in grid.models
            for mode in grid.modes
            for b in grid.budgets
            for s in grid.seeds
        ]
        todo = [
            c
            for c in cells
            if not reuse_finished(
                cell_path(results, grid, c[0], dataset, c[1], c[2], c[3]),
                cell_settings(grid, c[0], dataset),
                lambda old: old.get("cell_settings"),
                force,
            )
        ]
        paths += [cell_path(results, grid, c[0], dataset, c[1], c[2], c[3]) for c in cells]
        if not todo:
            continue
        loaded: dict[str, dict] = {}  # one copy of the data per preprocessing
        same: dict[str, dict] = {}  # per preprocessing: budgets with the same training windows
        unit = grid.budget_unit.get(dataset, "subject")
        task, n_out = TASK_OF[dataset]
        for model, mode, budget, seed in todo:
            path = cell_path(results, grid, model, dataset, mode, budget, seed)
            name, params, init = specs[model]
            pre, tag = model_preprocess(name, params, dataset, grid)
            if tag not in loaded:
                loaded[tag] = load_dataset(dataset, grid, pre, tag)
                same[tag] = same_training_sets(loaded[tag], grid.budgets, grid.seeds, unit)
                if same[tag]:
                    _warn_same(dataset, tag, same[tag])
            data = loaded[tag]
            needs_names = model_inputs(name, **params).channel_names
            if needs_names and "channels" not in params and _on_scalp(data.get("channels")):
                params = {
                    **params,
                    "channels": list(data["channels"]),
                }  # e.g. EEG-GCNN's spatial edge weights
            tcfg = TrainConfig(
                out_dir=str(path.parent / f"run_seed{seed}"),
                task=task,
                progress=False,
                tensorboard=False,
                **{"objective": "task", **grid.train},
            )
            exp = ExperimentConfig(
                name=grid.experiment,
                model=ModelConfig(name, params),
                data=DataConfig(corpus=dataset, n_outputs=n_out),
                train=tcfg,
                fewshot=FewShotConfig(budget=float(budget), mode=mode, init_from=init, unit=unit),
            )
            res = run_experiment(copy.deepcopy(exp), seed=seed, data=data)
            # what `biodyn eval` of the cell's run folder needs to rebuild its data (evaluate_cell)
            atomic_write_json(
                res.run_dir / CELL_FILE,
                {
                    "system": "cldtrans_fewshot",
                    "dataset": dataset,
                    "preprocess": pre,
                    "tag": tag,
                    "grid": asdict(grid),
                },
            )
            res["model"] = model  # the grid's label (an ablation's checkpoint is a cldtrans model)
            res["init_from"] = init
            res["preprocess"] = pre
            res["stored_fs"] = grid.stored_fs.get(dataset)  # the copy read (a corpus kept at several rates)
            res["task"] = f"{dataset}-{mode}"
            res["primary_metrics"] = list(PRIMARY[dataset])
            res["split_subjects"] = data.get("subjects")
            res["same_training_set_as"] = same[tag].get((budget, seed), [])  # other budgets, same windows
            res["cell_settings"] = cell_settings(grid, model, dataset)
            atomic_write_json(path, res)
            if progress:
                shown = ", ".join(f"{k} {res['metrics'].get(k, float('nan')):.3f}" for k in PRIMARY[dataset])
                print(f"{dataset} {model} {mode} {budget:g} seed {seed}: {shown}", flush=True)
    return paths


@dataclass
class FewshotRun(GridConfig):
    """``biodyn train system=fewshot`` (alias ``biodyn fewshot``): the schema of ``configs/fewshot/`` (preset
    group ``preset/``: ``cpu``, the default, and ``full``), :class:`GridConfig`'s settings and the results
    folder. Every value is checked here, before a cache folder is made or data read; :func:`run_fewshot`
    runs it."""

    cache_dir: str | None = None  # window caches (default: <out>/cache; a shared folder reuses caches)
    out: str = "results"  # results folder; finished cells are skipped (one run with other settings: an error)
    force: bool = False  # run again, and replace, finished cells whose settings differ from this run's

    def __post_init__(self):
        from biodyn.errors import check_range
        from biodyn.train.config import BUDGET_UNITS

        for key, allowed in (("datasets", DATASETS), ("models", None), ("modes", MODES), ("seeds", None)):
            values = list(getattr(self, key))
            if not values or len(set(values)) != len(values) or any(str(v).strip() == "" for v in values):
                raise ConfigError(f"invalid {key}={values!r}; expected a non-empty list, each entry once")
            for v in values if allowed else ():
                check_option(key, v, allowed)
        if not self.budgets:
            raise ConfigError("invalid budgets=[]; expected fractions in (0, 1]")
        for b in self.budgets:
            check_range("budgets", b, low=0, high=1, low_open=True)
        for key in ("roots", *READING):
            for dataset in getattr(self, key):
                check_option(f"{key} dataset", dataset, DATASETS)
        for unit in self.budget_unit.values():
            check_option("budget_unit", unit, BUDGET_UNITS)
        for s in self.seeds:
            check_range("seeds", s, low=0, integer=True)
        _check_train(self.train)
        if not str(self.out).strip() or not str(self.experiment).strip():
            raise ConfigError("out and experiment must be non-empty")

    def grid(self) -> GridConfig:
        """The :class:`GridConfig` part, ``cache_dir`` resolved (default ``<out>/cache``)."""
        own = {f.name: getattr(self, f.name) for f in fields(GridConfig)}
        tuples = {k: tuple(own[k]) for k in ("datasets", "models", "budgets", "seeds", "modes")}
        return GridConfig(**{**own, **tuples, "cache_dir": self.resolved_cache_dir()})

    def resolved_cache_dir(self) -> str:
        return self.cache_dir or str(Path(self.out) / "cache")


# TrainConfig keys that each cell sets itself (its run folder, the dataset's task, no progress bar or TensorBoard)
_CELL_SETS = ("out_dir", "task", "progress", "tensorboard")


def _check_train(train: dict[str, Any]) -> None:
    """``train`` (a cell's TrainConfig overrides) range-checked as the cells' training config will be."""
    from biodyn.train.config import TrainConfig, validate_train_config

    allowed = sorted({f.name for f in fields(TrainConfig)} - set(_CELL_SETS))
    bad = sorted(set(train) - set(allowed))
    if bad:
        raise ConfigError(f"unknown train settings {bad}; allowed: {', '.join(allowed)}")
    try:
        cfg = TrainConfig(**{"objective": "task", **train})
    except TypeError as e:
        raise ConfigError(f"invalid train settings: {e}") from None
    validate_train_config(cfg)


def compose(
    overrides: list[str] | None = None, *, config_dir_: str | os.PathLike | None = None
) -> FewshotRun:
    """``configs/fewshot/config.yaml`` (schema :class:`FewshotRun`, ``preset=cpu|full``, ``cpu`` unless
    named) with Hydra ``overrides`` (``models=[biot] budgets=[0.5]``) as a checked :class:`FewshotRun`."""
    from biodyn.systems.cldtrans.config import compose_root

    return compose_root("fewshot", FewshotRun, overrides, config_dir_=config_dir_)


def run_fewshot(run: FewshotRun, progress: bool = True) -> list[Path]:
    """Check the results and cache folders, then :func:`run_grid` of ``run.grid()`` into ``run.out``."""
    from biodyn.errors import DataRootError
    from biodyn.rundir import check_out_dir

    for key, given in (("roots", run.roots), ("weights", run.weights)):
        for name, folder in given.items():
            if not Path(folder).exists():  # a missing data folder is exit 6, as everywhere
                raise (DataRootError if key == "roots" else ConfigError)(
                    f"{key}.{name}={folder}: no such folder"
                )
    check_out_dir(run.out, "out")
    check_out_dir(run.resolved_cache_dir(), "cache_dir")
    return run_grid(run.grid(), run.out, progress=progress, force=run.force)
