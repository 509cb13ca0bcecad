"""The few-shot protocol: label budgets drawn stratified by subject or window (:func:`fewshot_indices`), the
protocol's seeds and budgets, result-folder names, and the resume check of finished results
(:func:`reuse_finished`). :func:`biodyn.train.experiment.run_fewshot` runs an experiment over budgets x seeds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from biodyn.errors import ConfigError


def budget_name(budget: float) -> str:
    """A label budget's folder name: ``0.01`` -> ``1pct``, ``1.0`` -> ``100pct``."""
    return f"{round(budget * 100):g}pct"


SEEDS = (42, 123, 7, 0, 256)  # the protocol's seeds (every system's multi-seed runs)
BUDGETS = (0.01, 0.10, 1.0)


def _primary_label(lab: np.ndarray) -> np.ndarray:
    """Each row's stratum: its class, or for multi-hot rows the first positive class (-1 when none)."""
    if lab.ndim == 1:
        return lab.astype(np.int64)
    flat = lab.reshape(len(lab), -1)
    return np.where(flat.any(1), flat.argmax(1), -1).astype(np.int64)


def _stratified_draw(strata: np.ndarray, budget: float, rng: np.random.Generator) -> np.ndarray:
    """Sorted positions of a ``budget`` fraction of each stratum's members (at least one each)."""
    keep = []
    for st in np.unique(strata):
        members = np.flatnonzero(strata == st)
        keep.append(rng.choice(members, size=max(1, round(budget * len(members))), replace=False))
    return np.sort(np.concatenate(keep))


def fewshot_indices(
    labels: np.ndarray, subjects: np.ndarray, budget: float, seed: int, unit: str = "subject"
) -> np.ndarray:
    """Window indices of a label budget, stratified, at least one member per stratum; ``budget=1`` keeps
    everything.

    ``unit="subject"``: a ``budget`` fraction of the training subjects (all their windows), a subject's
    stratum being its primary label (argmax of the summed multi-hot, or its most common class).
    ``unit="window"``: a ``budget`` fraction of the training windows, by class (multi-hot: first positive
    class); for training sets of one or a few patients, where a fraction of the patients is all of them."""
    from biodyn.errors import check_option
    from biodyn.train.config import BUDGET_UNITS

    check_option("fewshot.unit", unit, BUDGET_UNITS)
    if not 0 < budget <= 1:
        raise ConfigError(f"fewshot.budget={budget} must be in (0, 1]")
    if budget >= 1:
        return np.arange(len(labels))
    lab = np.asarray(labels)
    rng = np.random.default_rng(seed)
    if unit == "window":
        return _stratified_draw(_primary_label(lab), budget, rng)
    subjects = np.asarray(subjects)
    uniq, inv = np.unique(subjects, return_inverse=True)
    strata = np.empty(len(uniq), dtype=np.int64)
    for s in range(len(uniq)):
        ls = lab[inv == s]
        strata[s] = (
            int(ls.reshape(len(ls), -1).sum(0).argmax())
            if ls.ndim > 1
            else int(np.bincount(ls - ls.min()).argmax() + ls.min())
        )
    return np.flatnonzero(np.isin(inv, _stratified_draw(strata, budget, rng)))


def reuse_finished(path: Path, settings: dict[str, Any], stored, force: bool = False) -> bool:
    """Whether the finished result at ``path`` can be skipped on a rerun (the few-shot grid's cells, the focal
    runner's (method, seed) files): yes when ``stored(old_json)`` equals ``settings`` (both compared as JSON)
    or is None (written before settings were stored); no when the file is missing or unreadable (cut short) or,
    with ``force``, when they differ; otherwise an error naming the keys that differ."""
    import json

    if not path.exists():
        return False
    try:
        old = stored(json.loads(path.read_text()))
    except (OSError, ValueError):
        return False  # unreadable (cut short): run it again
    if old is None:
        return True
    was, now = (json.loads(json.dumps(d, sort_keys=True, default=str)) for d in (old, settings))
    if was == now:
        return True
    if force:
        return False
    keys = sorted(k for k in set(was) | set(now) if was.get(k) != now.get(k))
    raise ConfigError(
        f"{path}: finished with other settings ({', '.join(keys)} differ); use another --out or --experiment, "
        "or --force to run it again and replace it"
    )
