"""Export without pickle: ``save_pretrained(model, folder)`` / ``from_pretrained(path)``; the read side of
the Trainer's checkpoints.

An export folder holds ``config.json`` (``{"format": "biodyn-model", "format_version", "name", "config",
"input_spec"}``: the registered name, the keyword arguments of ``create_model`` and what the model needs to be
applied, see :class:`~biodyn.models.InputSpec`) ``model.safetensors`` (the state dict) and ``README.md`` (a model card with the
Hugging Face Hub's front matter, :mod:`biodyn.models._hub`). All are written atomically, ``config.json`` last,
so a folder with a ``config.json`` is complete. ``from_pretrained`` also takes a Hub repository id
(``org/name[@revision]``) and :func:`push_to_hub` uploads an export (the optional extra ``hub``).

:func:`from_pretrained` also takes any training run: a Trainer checkpoint folder (``state.json`` +
``model.safetensors``, written by :mod:`biodyn.train.checkpoint`), ``checkpoints/best|last`` under a run folder,
or a staged run (``stage2/``, ``stage1/``) -- :func:`find_checkpoint` says which folder is read. An export is
recognised by its ``config.json``'s content, so a run's own ``config.json`` is never taken for one.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from biodyn.errors import CheckpointError, ConfigError
from biodyn.models._hub import CONFIG_FILE, WEIGHTS_FILE, parse_repo_id, require_hub

FORMAT_VERSION = 1
EXPORT_FORMAT = "biodyn-model"  # config.json's "format": what tells an export from a run's config.json
STATE_FILE = "state.json"  # a Trainer checkpoint's JSON state
CHECKPOINT_FORMAT_VERSION = 1
# where a run keeps its checkpoints, in order of preference (the best one first, a later stage first)
CHECKPOINT_PLACES = (
    "checkpoints/best",
    "checkpoints/last",
    "stage2/checkpoints/best",
    "stage2/checkpoints/last",
    "stage1/checkpoints/best",
    "stage1/checkpoints/last",
)


def save_weights(model: torch.nn.Module, path: str | os.PathLike) -> None:
    """Write ``model``'s state dict to ``path`` as safetensors (copied to CPU, contiguous)."""
    sd = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    save_file(sd, str(path))


def safetensors_shapes(path: str | os.PathLike) -> dict[str, tuple[int, ...]]:
    """``{name: shape}`` from a safetensors file's header, after checking that the file holds every byte the
    header promises; a truncated or garbled file is a :class:`CheckpointError` naming it (nothing is loaded)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise CheckpointError(f"{path}: truncated: {size} bytes, not a safetensors file")
            n = int.from_bytes(head, "little")
            if n <= 0 or 8 + n > size:
                raise CheckpointError(f"{path}: truncated: header of {n} bytes, file holds {size}")
            meta = json.loads(f.read(n))
    except OSError as e:
        raise CheckpointError(f"{path}: cannot read: {e.strerror or e}") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{path}: not a safetensors file (bad header: {e})") from None
    end, shapes = 0, {}
    for name, info in meta.items():
        if name == "__metadata__":
            continue
        try:
            end = max(end, int(info["data_offsets"][1]))
            shapes[name] = tuple(int(d) for d in info["shape"])
        except (KeyError, TypeError, ValueError, IndexError):
            raise CheckpointError(f"{path}: not a safetensors file (bad entry {name!r})") from None
    if 8 + n + end != size:
        raise CheckpointError(
            f"{path}: truncated or padded: header promises {8 + n + end} bytes, file holds {size}"
        )
    return shapes


def load_weights(model: torch.nn.Module, path: str | os.PathLike, *, where: str = "") -> None:
    """Load a safetensors state dict into ``model``; a key or shape mismatch is a :class:`CheckpointError`,
    and so is a truncated or unreadable file (naming it)."""
    safetensors_shapes(path)
    try:
        sd = load_file(str(path))
    except Exception as e:  # safetensors' own errors name no file
        raise CheckpointError(f"{path}: cannot load: {e}") from None
    own = model.state_dict()
    missing, extra = sorted(set(own) - set(sd)), sorted(set(sd) - set(own))
    bad = [k for k in own if k in sd and tuple(own[k].shape) != tuple(sd[k].shape)]
    if missing or extra or bad:
        raise CheckpointError(
            f"{where or path}: weights do not fit this model (missing {missing[:5]}, unexpected {extra[:5]}, "
            f"shape mismatch {bad[:5]}); was it saved from another model?"
        )
    model.load_state_dict(sd)


def save_pretrained(model, folder: str | os.PathLike, *, input_spec=None, card: dict | None = None) -> Path:
    """Write ``model`` (built by ``create_model``) to ``folder``: ``config.json`` + ``model.safetensors`` +
    ``README.md``, the model card rendered by :func:`biodyn.models._hub.model_card` with ``card`` (licence,
    tags, datasets, metrics, command, ...).

    ``input_spec`` (an :class:`~biodyn.models.InputSpec` or its dict; default: ``model.input_spec``) records
    what applying the model needs (channels, rate, window, preprocessing, threshold, normalisation statistics);
    :func:`from_pretrained` sets it back as ``model.input_spec``."""
    from biodyn.atomic import atomic_path, atomic_write_json, atomic_write_text
    from biodyn.models._base import InputSpec
    from biodyn.models._hub import CARD_FILE, model_card

    name = getattr(model, "model_name", None)
    if not name or not callable(getattr(model, "init_config", None)):
        raise CheckpointError(
            f"save_pretrained: {type(model).__name__} has no registered name (build it with create_model)"
        )
    spec = InputSpec.from_dict(input_spec if input_spec is not None else getattr(model, "input_spec", None))
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / WEIGHTS_FILE) as tmp:
        save_weights(model, tmp)
    atomic_write_text(folder / CARD_FILE, model_card(name, model.init_config(), **(card or {})))
    atomic_write_json(
        folder / CONFIG_FILE,
        {
            "format": EXPORT_FORMAT,
            "format_version": FORMAT_VERSION,
            "name": name,
            "config": model.init_config(),
            "input_spec": spec.to_dict() if spec is not None else None,
        },
    )
    return folder


def _read_json(f: Path) -> object:
    try:
        return json.loads(f.read_text())
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{f}: not valid JSON ({e})") from e
    except OSError as e:
        raise CheckpointError(f"{f}: cannot read: {e.strerror or e}") from None


def is_export(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` holds an export, judged by its ``config.json``'s content: the ``"format"`` marker,
    or (exports written before the marker) a ``"name"`` string and a ``"config"`` dict. A training run's
    ``config.json`` (a run config) is not one."""
    f = Path(folder) / CONFIG_FILE
    if not f.is_file():
        return False
    try:
        cfg = json.loads(f.read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(cfg, dict):
        return False
    if "format" in cfg:
        return cfg["format"] == EXPORT_FORMAT
    return isinstance(cfg.get("name"), str) and isinstance(cfg.get("config"), dict)


def read_pretrained_config(folder: str | os.PathLike) -> dict:
    """``config.json`` of a :func:`save_pretrained` folder, checked."""
    f = Path(folder) / CONFIG_FILE
    if not f.is_file():
        raise CheckpointError(f"{folder}: not an exported model (no {CONFIG_FILE})")
    cfg = _read_json(f)
    if (
        not isinstance(cfg, dict)
        or cfg.get("format", EXPORT_FORMAT) != EXPORT_FORMAT
        or not isinstance(cfg.get("name"), str)
        or not isinstance(cfg.get("config"), dict)
    ):
        raise CheckpointError(
            f'{f}: not an exported model (expected {{"format": "{EXPORT_FORMAT}", "name": str, '
            '"config": {...}})'
        )
    ver = cfg.get("format_version", 0)
    if not isinstance(ver, int) or ver > FORMAT_VERSION:
        raise CheckpointError(
            f"{f}: export format {ver!r} is newer than this biodyn understands ({FORMAT_VERSION})"
        )
    return cfg


# ---------------------------------------------------------------------------------- Trainer checkpoints
def previous_checkpoint(folder: str | os.PathLike) -> Path:
    """Where the checkpoint being replaced waits while a new one is renamed into ``folder``."""
    folder = Path(folder)
    return folder.parent / f".{folder.name}.old"


def resolve_checkpoint(folder: str | os.PathLike) -> Path | None:
    """``folder`` if it holds a checkpoint, else the previous one left by an interrupted swap, else None."""
    for cand in (Path(folder), previous_checkpoint(folder)):
        if (cand / STATE_FILE).exists():
            return cand
    return None


def find_checkpoint(folder: str | os.PathLike) -> Path | None:
    """The Trainer checkpoint folder (holding ``state.json``) ``folder`` names: ``folder`` itself, or in a run
    folder ``checkpoints/best``, ``checkpoints/last``, then a staged run's ``stage2/...`` and ``stage1/...``;
    each with the fallback to the previous checkpoint of an interrupted swap (``.best.old``). None if none."""
    folder = Path(folder)
    for cand in (folder, *(folder / p for p in CHECKPOINT_PLACES)):
        found = resolve_checkpoint(cand)
        if found is not None:
            return found
    return None


def checkpoint_intact(folder: str | os.PathLike) -> bool:
    """True when ``folder`` holds a complete checkpoint: a readable ``state.json`` and whole safetensors files."""
    folder = Path(folder)
    try:
        json.loads((folder / STATE_FILE).read_text())
        safetensors_shapes(folder / WEIGHTS_FILE)
        safetensors_shapes(folder / "trainer.safetensors")
    except (OSError, ValueError, CheckpointError):
        return False
    return True


def intact_note(folder: Path | None) -> str:
    """``"; the 'best' checkpoint (...) is intact"`` (or damaged too, or none) for an error about ``folder``."""
    if folder is None or folder.parent.name != "checkpoints":
        return ""
    others = [w for w in ("last", "best") if w != folder.name]
    good = [w for w in others if checkpoint_intact(folder.parent / w)]
    bad = [w for w in others if w not in good and (folder.parent / w).exists()]
    if good:
        return f"; the {good[0]!r} checkpoint ({folder.parent / good[0]}) is intact"
    if bad:
        return f"; the {bad[0]!r} checkpoint is damaged too"
    return "; there is no other checkpoint"


def read_state(folder: str | os.PathLike, *, model_name: str | None = None) -> dict[str, Any]:
    """A Trainer checkpoint's ``state.json``, checked (format version, and ``model_name`` when given)."""
    folder = Path(folder)
    f = folder / STATE_FILE
    if not f.is_file():
        raise CheckpointError(f"{folder}: not a checkpoint (no {STATE_FILE}){intact_note(folder)}")
    try:
        st = json.loads(f.read_text())
    except (OSError, ValueError) as e:
        raise CheckpointError(f"{f}: unreadable checkpoint state ({e}){intact_note(folder)}") from None
    ver = st.get("format_version") if isinstance(st, dict) else None
    if not isinstance(ver, int) or ver > CHECKPOINT_FORMAT_VERSION:
        raise CheckpointError(
            f"{folder}: checkpoint format {ver!r} is newer than this biodyn understands "
            f"({CHECKPOINT_FORMAT_VERSION}); upgrade"
        )
    if model_name is not None and st.get("model_name") not in (None, model_name):
        raise CheckpointError(
            f"{folder}: checkpoint is of model {st.get('model_name')!r}, not {model_name!r}"
        )
    return st


# ---------------------------------------------------------------------------------- loading
def run_about(folder: str | os.PathLike) -> str | None:
    """The one line a run folder's ``config.yaml`` gives under ``about`` to say what it holds when it holds no
    checkpoint of its own (a focal-lead run: its detectors' folders, or that it trains no model); None when
    it gives none or cannot be read."""
    import yaml

    f = Path(folder) / "config.yaml"
    try:
        raw = yaml.safe_load(f.read_text()) if f.is_file() else None
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return None
    about = raw.get("about") if isinstance(raw, dict) else None
    return " ".join(about.split()) if isinstance(about, str) and about.strip() else None


def build_saved(name: str, config: dict, where: str | os.PathLike):
    """The model a saved ``(name, config)`` describes (an export's or a checkpoint's), built but not loaded;
    older names and keys are read through the registry's aliases and ``upgrade`` hooks."""
    from biodyn.models._base import InputSpec
    from biodyn.models._registry import SIGNAL_ARGS, create_model, resolve_saved

    name, kwargs = resolve_saved(name, config)
    moved = kwargs.pop("input_spec", None)  # an upgrade hook may move a saved key into the input spec
    missing = [k for k in SIGNAL_ARGS if k != "n_times" and k not in kwargs]
    if missing:
        raise CheckpointError(
            f"{where}: the saved config of model {name!r} lacks {', '.join(missing)} (the "
            "signal's shape; written by an older biodyn): it cannot be rebuilt"
        )
    model = create_model(name, **kwargs)
    if moved:
        model.input_spec = InputSpec.from_dict(moved)
    return model


def from_pretrained(
    path: str | os.PathLike, *, revision: str | None = None, device: str | torch.device | None = None
):
    """The trained model in ``path``, in eval mode (nothing is unpickled): an export folder
    (:func:`save_pretrained`), a Trainer checkpoint folder, or a training run holding one (see
    :func:`find_checkpoint`). ``path`` may also be a Hub repository id (``org/name``, optionally ``@revision``
    or ``revision=``), fetched through ``huggingface_hub`` (the extra ``hub``). ``model.input_spec`` holds
    what the export or the run recorded about the input."""
    from biodyn.models._base import InputSpec
    from biodyn.models._hub import resolve

    path = Path(resolve(path, revision))
    if not path.is_dir() and resolve_checkpoint(path) is None:  # a checkpoint mid-swap is read from its .old
        raise CheckpointError(f"{path}: no such folder (expected an export or a training run)")
    if is_export(path):
        cfg = read_pretrained_config(path)
        model = build_saved(cfg["name"], cfg["config"], path)
        weights, where, spec = path / WEIGHTS_FILE, path, cfg.get("input_spec")
        if not weights.is_file():
            raise CheckpointError(f"{path}: {WEIGHTS_FILE} is missing")
    else:
        found = find_checkpoint(path)
        if found is None and (about := run_about(path)):
            raise CheckpointError(f"{path}: {about}")
        if found is None:
            raise CheckpointError(
                f"{path}: neither an export (config.json naming a model) nor a training run "
                f"(state.json in it or in {', '.join(CHECKPOINT_PLACES)})"
            )
        st = read_state(found)
        name, cfg = st.get("model_name"), st.get("model_config")
        if not isinstance(name, str) or not isinstance(cfg, dict) or not cfg:
            raise CheckpointError(f"{found}: the checkpoint names no model or model config")
        model = build_saved(name, cfg, found)
        weights, where, spec = found / WEIGHTS_FILE, found, st.get("input_spec")
    try:
        load_weights(model, weights, where=str(where))
    except CheckpointError as e:
        raise CheckpointError(f"{e}{intact_note(Path(where))}") from None
    if spec is not None:
        try:
            model.input_spec = InputSpec.from_dict(spec)
        except (TypeError, ValueError) as e:
            raise CheckpointError(f"{where}: bad input_spec ({e})") from None
    if device is not None:
        model.to(device)
    return model.eval()


def push_to_hub(
    source,
    repo_id: str,
    *,
    revision: str | None = None,
    private: bool | None = None,
    token: str | None = None,
    commit_message: str = "Upload biodyn export",
    card: dict | None = None,
    api=None,
) -> str:
    """Upload an export to the Hub repository ``repo_id`` (created if absent) and return the commit's URL.

    ``source``: an export folder, or a model (saved first with :func:`~biodyn.models.save_pretrained` and
    ``card``). ``revision``: a branch (created from ``main`` if absent). ``api``: an ``HfApi``-like object
    (default ``huggingface_hub.HfApi(token=token)``)."""
    if parse_repo_id(repo_id) is None or "@" in repo_id:
        raise ConfigError(f"invalid repo_id={repo_id!r}; expected 'org/name'")
    if api is None:
        api = require_hub().HfApi(token=token)
    with tempfile.TemporaryDirectory(prefix="biodyn-push-") as tmp:
        if isinstance(source, (str, os.PathLike)):
            folder = Path(source)
            if not (folder / CONFIG_FILE).is_file():
                raise CheckpointError(f"{folder}: not an exported model (no {CONFIG_FILE})")
        else:
            folder = save_pretrained(
                source, Path(tmp) / "export", card={"repo_name": repo_id, **(card or {})}
            )
        api.create_repo(repo_id, private=private, exist_ok=True)
        if revision is not None:
            api.create_branch(repo_id, branch=revision, exist_ok=True)
        info = api.upload_folder(
            repo_id=repo_id, folder_path=str(folder), commit_message=commit_message, revision=revision
        )
    return str(getattr(info, "commit_url", info))
