"""Export without pickle: ``save_pretrained(model, folder)`` / ``from_pretrained(folder)``.

A folder holds ``config.json`` (``{"format_version", "name", "config"}``: the registered name and the
keyword arguments of ``create_model``), ``model.safetensors`` (the state dict) and ``README.md`` (a model
card with the Hugging Face Hub's front matter, :mod:`biodyn.models._hub`). All are written atomically,
``config.json`` last, so a folder with a ``config.json`` is complete. ``from_pretrained`` also takes a Hub
repository id (``org/name[@revision]``) and ``push_to_hub`` uploads an export (the optional extra ``hub``).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from biodyn.errors import CheckpointError, ConfigError
from biodyn.models._hub import CONFIG_FILE, WEIGHTS_FILE, parse_repo_id, require_hub

FORMAT_VERSION = 1


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


# the export name of PRISMForClassification (several modalities on one backbone, PRISMConfig as its config)
MULTIMODAL_PRISM = "prism_multimodal"


def save_pretrained(model, folder: str | os.PathLike, *, card: dict | None = None) -> Path:
    """Write ``model`` (built by ``create_model``, or a multi-modality ``PRISMForClassification``) to ``folder``:
    ``config.json`` + ``model.safetensors`` + ``README.md``, the model card rendered by
    :func:`biodyn.models._hub.model_card` with ``card`` (licence, tags, datasets, metrics, command, ...)."""
    from biodyn.atomic import atomic_path, atomic_write_json, atomic_write_text
    from biodyn.models._hub import CARD_FILE, model_card
    from biodyn.models.prism import PRISMForClassification

    name = getattr(model, "model_name", None)
    if isinstance(model, PRISMForClassification):  # several modalities: not a registered (C -> K) model
        name, config = MULTIMODAL_PRISM, model.config.to_dict()
    elif name:
        config = model.init_config()
    if not name:
        raise CheckpointError(
            f"save_pretrained: {type(model).__name__} has no registered name (build it with create_model)"
        )
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / WEIGHTS_FILE) as tmp:
        save_weights(model, tmp)
    atomic_write_text(folder / CARD_FILE, model_card(name, config, **(card or {})))
    atomic_write_json(folder / CONFIG_FILE,
                      {"format_version": FORMAT_VERSION, "name": name, "config": config})  # fmt: skip
    return folder


def read_pretrained_config(folder: str | os.PathLike) -> dict:
    """``config.json`` of a :func:`save_pretrained` folder, checked."""
    f = Path(folder) / CONFIG_FILE
    if not f.is_file():
        raise CheckpointError(f"{folder}: not an exported model (no {CONFIG_FILE})")
    try:
        cfg = json.loads(f.read_text())
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{f}: not valid JSON ({e})") from e
    if (
        not isinstance(cfg, dict)
        or not isinstance(cfg.get("name"), str)
        or not isinstance(cfg.get("config"), dict)
    ):
        raise CheckpointError(f'{f}: expected {{"name": str, "config": {{...}}}}')
    ver = cfg.get("format_version", 0)
    if not isinstance(ver, int) or ver > FORMAT_VERSION:
        raise CheckpointError(
            f"{f}: export format {ver!r} is newer than this biodyn understands ({FORMAT_VERSION})"
        )
    return cfg


def from_pretrained(folder: str | os.PathLike, *, revision: str | None = None,
                    device: str | torch.device | None = None):  # fmt: skip
    """Rebuild the model saved by :func:`save_pretrained` in ``folder`` and load its weights (nothing is
    unpickled). Returns it in eval mode. ``folder`` may be a Hub repository id (``org/name``, optionally
    ``@revision`` or ``revision=``), fetched through ``huggingface_hub`` (the extra ``hub``)."""
    from biodyn.models._hub import resolve
    from biodyn.models._registry import create_model

    folder = resolve(folder, revision)
    cfg = read_pretrained_config(folder)
    if cfg["name"] == MULTIMODAL_PRISM:
        from biodyn.models.prism import PRISMConfig, PRISMForClassification

        model = PRISMForClassification(PRISMConfig(**cfg["config"]))
    else:
        model = create_model(cfg["name"], **cfg["config"])
    weights = Path(folder) / WEIGHTS_FILE
    if not weights.is_file():
        raise CheckpointError(f"{folder}: {WEIGHTS_FILE} is missing")
    load_weights(model, weights, where=str(folder))
    if device is not None:
        model.to(device)
    return model.eval()


def push_to_hub(source, repo_id: str, *, revision: str | None = None, private: bool | None = None,
                token: str | None = None, commit_message: str = "Upload biodyn export", card: dict | None = None,
                api=None) -> str:  # fmt: skip
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
        info = api.upload_folder(repo_id=repo_id, folder_path=str(folder), commit_message=commit_message,
                                 revision=revision)  # fmt: skip
    return str(getattr(info, "commit_url", info))
