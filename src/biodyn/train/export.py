"""``biodyn export RUN DIR``: a training run's best weights as a Hub-ready export with its model card.

``RUN`` is a run folder (``train.out_dir``: ``checkpoints/best`` and ``results.json``), one of its checkpoint
folders, or an export. The card takes the datasets, the test figures, the resolved config and the training
command from the run's ``results.json`` (figures are copied, never measured again) and, for a seizure
detector, the montage, rate, window and preprocessing its checkpoint carries.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from biodyn.errors import CheckpointError


def _is_export(folder: Path) -> bool:
    """Whether ``folder`` holds a :func:`~biodyn.models.save_pretrained` export (not a run's own config.json)."""
    from biodyn.models._pretrained import CONFIG_FILE, read_pretrained_config

    if not (folder / CONFIG_FILE).is_file():
        return False
    try:
        read_pretrained_config(folder)
    except CheckpointError:
        return False
    return True


def _run_folder(path: Path, checkpoint: Path | None) -> Path:
    """The folder holding ``results.json``: ``path``, or the run above a ``checkpoints/<name>`` folder."""
    for cand in (path, path.parent, *([checkpoint.parent.parent] if checkpoint is not None else [])):
        if (cand / "results.json").is_file():
            return cand
    return path


def export_run(
    run: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    license: str = "other",
    tags: tuple[str, ...] | list[str] = (),
    repo_name: str | None = None,
) -> dict[str, Any]:
    """Export ``run``'s best weights to ``out_dir`` (``config.json``, ``model.safetensors``, ``README.md``);
    returns ``{"folder", "model", "checkpoint", "results", "card"}``."""
    from biodyn.models import find_checkpoint, from_pretrained, save_pretrained
    from biodyn.models._hub import card_from_results

    run = Path(run)
    if not run.exists():
        raise CheckpointError(f"{run}: no such run folder")
    ckpt = None
    if _is_export(run):
        source = run
    elif _is_export(run / "model"):  # biodyn prism's joint runs export their model there
        source = run / "model"
    else:
        ckpt = find_checkpoint(run)
        if ckpt is None:
            raise CheckpointError(
                f"{run}: neither an export nor a run with a checkpoint (state.json in it or in "
                "checkpoints/best|last)"
            )
        source = ckpt
    model = from_pretrained(source)
    folder = _run_folder(run, ckpt)
    card: dict[str, Any] = {"license": license, "tags": list(tags), "repo_name": repo_name}
    results_path = folder / "results.json"
    if results_path.is_file():
        try:
            card.update(card_from_results(json.loads(results_path.read_text())))
        except ValueError as e:
            raise CheckpointError(f"{results_path}: not valid JSON ({e})") from None
    if ckpt is not None:
        from biodyn.models._pretrained import read_state

        spec = (read_state(ckpt).get("extra") or {}).get("data")
        if spec:
            card["inputs"] = spec
    out = save_pretrained(model, out_dir, card=card)
    return {
        "folder": str(out),
        "model": getattr(model, "model_name", type(model).__name__),
        "checkpoint": str(ckpt or run),
        "results": str(results_path) if results_path.is_file() else None,
        "card": str(Path(out) / "README.md"),
    }
