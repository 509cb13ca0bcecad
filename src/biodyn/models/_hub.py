"""Model cards and the Hugging Face Hub for exported models.

:func:`model_card` renders the ``README.md`` that :func:`~biodyn.models.save_pretrained` writes beside
``config.json`` and ``model.safetensors``: the Hub's YAML front matter (``library_name: biodyn``, tags,
licence, datasets, metric names and a ``model-index`` with the run's test figures) and a body with the exact
config, the command that trained it, where the figures come from and biodyn's version and commit.

:func:`resolve` turns a Hub repository id (``org/name``, ``org/name@revision``) into a local snapshot through
``huggingface_hub.snapshot_download`` (only the three files of an export are fetched; nothing is unpickled:
the folder is then loaded as any export). ``HF_HUB_OFFLINE=1``, ``HF_HUB_CACHE`` and ``HF_ENDPOINT`` (a
mirror) are read when the call is made, so a populated cache serves a repository without the network.
:func:`push_to_hub` uploads an export. ``huggingface_hub`` is the optional extra ``hub``
(``pip install 'biodyn[hub]'``).
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

from biodyn.errors import CheckpointError, ConfigError

HUB_EXTRA = "hub"
CARD_FILE = "README.md"
# org/name as the Hub spells repository ids (letters, digits, '-', '_', '.'; no '--' or '..'), optional @revision
_REPO_ID = re.compile(r"^(?P<repo>[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95})(?:@(?P<rev>[\w./-]+))?$")
_TASK_TYPES = {"seizure": "seizure-detection", "prism": "time-series-classification"}


CONFIG_FILE = "config.json"  # an export: its config (the registered name and the architecture) ...
WEIGHTS_FILE = "model.safetensors"  # ... and its weights, no pickle


def require_hub(what: str = "the Hugging Face Hub"):
    """``huggingface_hub``, or a one-line :class:`ConfigError` naming the extra that installs it."""
    try:
        import huggingface_hub
    except ImportError:
        raise ConfigError(
            f"{what} needs the optional extra '{HUB_EXTRA}': pip install 'biodyn[{HUB_EXTRA}]'"
        ) from None
    return huggingface_hub


def parse_repo_id(text: str) -> tuple[str, str | None] | None:
    """``("org/name", revision or None)`` when ``text`` is a Hub repository id, else None."""
    m = _REPO_ID.match(str(text))
    if m is None or "--" in m.group("repo") or ".." in m.group("repo"):
        return None
    return m.group("repo"), m.group("rev")


def resolve(source: str | os.PathLike, revision: str | None = None, *, token: str | None = None) -> Path:
    """The local folder of an export: ``source`` itself when it exists on disk, else the snapshot of the Hub
    repository it names (``revision`` or an ``@revision`` suffix: a branch, tag or commit; default ``main``).
    A local folder with a ``revision`` is a :class:`ConfigError`; a repository or revision that cannot be
    found (or, offline, is not in the cache) is a :class:`CheckpointError`."""
    p = Path(source)
    if p.exists():
        if revision is not None:
            raise ConfigError(
                f"revision={revision!r} given for the local folder {p} (revisions are for Hub ids)"
            )
        return p
    parsed = parse_repo_id(str(source))
    if parsed is None:
        return p  # not on disk and not a repository id: the loader names the missing folder
    repo_id, rev = parsed
    if rev is not None and revision is not None and rev != revision:
        raise ConfigError(f"{source}: revision given twice ({rev!r} and revision={revision!r})")
    rev = rev or revision
    hf = require_hub(f"{source}: no such local folder; loading it as a Hub repository id")

    offline = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
    try:
        folder = hf.snapshot_download(
            repo_id,
            revision=rev,
            cache_dir=os.environ.get("HF_HUB_CACHE") or None,
            local_files_only=offline,
            allow_patterns=[CONFIG_FILE, WEIGHTS_FILE, CARD_FILE],
            token=token,
            endpoint=os.environ.get("HF_ENDPOINT") or None,
        )
    except Exception as e:  # huggingface_hub's errors differ across versions; all name what went wrong
        if not (type(e).__module__.startswith("huggingface_hub") or isinstance(e, OSError)):
            raise
        where = f"{repo_id}@{rev}" if rev else repo_id
        why = " ".join(str(e).split()) or type(e).__name__
        raise CheckpointError(
            f"{where}: no such local folder, and cannot fetch it from the Hugging Face Hub"
            f"{' (offline)' if offline else ''}: "
            f"{type(e).__name__}: {why}"
        ) from None
    return Path(folder)


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(float(x))


def card_from_results(results: dict[str, Any]) -> dict[str, Any]:
    """The card fields a run's ``results.json`` gives: datasets, metrics (the test split's, else all finite
    scalars), the experiment config, the training command, and the run's git commit and versions. Reads the
    ``biodyn train`` shape (``metrics`` with ``test_``/``val_`` keys, ``config.data.corpus``) and the
    ``biodyn prism`` one (``test`` metrics, ``data`` or ``modality``)."""
    cfg = results.get("config") or {}
    corpus = (
        (cfg.get("data") or {}).get("corpus")
        if isinstance(cfg, dict) and isinstance(cfg.get("data"), dict)
        else None
    )
    data = results.get("data")
    corpus = (
        corpus
        or (data if isinstance(data, str) else None)
        or results.get("dataset")
        or results.get("modality")
    )
    metrics = {k: float(v) for k, v in (results.get("metrics") or {}).items() if _finite(v)}
    if isinstance(results.get("test"), dict):
        metrics.update({f"test_{k}": float(v) for k, v in results["test"].items() if _finite(v)})
    test = {k: v for k, v in metrics.items() if k.startswith("test")}
    task = results.get("task")
    return {
        "datasets": [str(corpus)] if corpus else [],
        "metrics": test or metrics,
        "experiment": cfg or None,
        "command": results.get("command"),
        "trained_commit": results.get("git_commit"),
        "trained_versions": results.get("versions"),
        "task": task if isinstance(task, str) else None,
    }


def model_card(
    name: str,
    config: dict[str, Any],
    *,
    repo_name: str | None = None,
    license: str = "other",
    tags: list[str] | tuple[str, ...] = (),
    datasets: list[str] | tuple[str, ...] = (),
    metrics: dict[str, float] | None = None,
    experiment: dict | None = None,
    command: str | None = None,
    task: str | None = None,
    trained_commit: str | None = None,
    trained_versions: dict | None = None,
    inputs: dict | None = None,
    description: str | None = None,
) -> str:
    """``README.md`` of an export (module docstring). ``name``/``config``: the registered model and its
    ``create_model`` arguments; ``metrics``: ``{name: value}`` as measured by the run (never re-measured);
    ``experiment``: the run's resolved config; ``command``: the command line that trained it; ``inputs``: what
    the model expects (a detector's montage, rate, window and preprocessing)."""
    import yaml

    from biodyn import __version__
    from biodyn.provenance import git_commit

    metrics = {k: float(v) for k, v in (metrics or {}).items() if _finite(v)}
    family = name.split("_")[0]
    all_tags = ["biodyn", name, *([family] if family != name else []), *tags]
    if family == "seizure":
        all_tags += ["eeg", "seizure-detection"]
    front: dict[str, Any] = {
        "library_name": "biodyn",
        "license": license,
        "tags": list(dict.fromkeys(str(t) for t in all_tags)),
    }
    if datasets:
        front["datasets"] = [str(d) for d in datasets]
    if metrics:
        front["metrics"] = sorted({re.sub(r"^(test|val)[_/]", "", k) for k in metrics})
        ds = str(datasets[0]) if datasets else "unknown"
        front["model-index"] = [
            {
                "name": repo_name or name,
                "results": [
                    {
                        "task": {
                            "type": _TASK_TYPES.get(family, "other"),
                            **({"name": task} if task else {}),
                        },
                        "dataset": {"name": ds, "type": ds, "split": "test"},
                        "metrics": [
                            {"type": re.sub(r"^(test|val)[_/]", "", k), "name": k, "value": v}
                            for k, v in sorted(metrics.items())
                        ],
                    }
                ],
            }
        ]
    head = yaml.safe_dump(front, sort_keys=False, allow_unicode=True).strip()
    loader = repo_name or "path/to/this/folder"
    body = [
        f"# {repo_name or name}",
        "",
        description
        or f"A `{name}` model exported by biodyn (`config.json` + `model.safetensors`; loading "
        "never unpickles).",
        "",
        "## Load",
        "",
        "```python",
        "from biodyn.models import from_pretrained",
        "",
        f'model = from_pretrained("{loader}")  # a local folder, or org/name[@revision] with biodyn[hub]',
        "```",
        "",
        "## Results",
        "",
    ]
    if metrics:
        body += [
            "As recorded by the training run in its `results.json` (split named in each metric), not "
            "measured again at export:",
            "",
            "| metric | value |",
            "|---|---:|",
        ]
        body += [f"| {k} | {v:.4g} |" for k, v in sorted(metrics.items())]
    else:
        body += ["No results were recorded with these weights."]
    if inputs:
        body += ["", "## Input", "", "```json", json.dumps(inputs, indent=2, default=str), "```"]
    body += ["", "## Training", ""]
    body += [f"Command: `{command}`" if command else "Command: not recorded by the run."]
    if experiment:
        body += [
            "",
            "Resolved experiment config:",
            "",
            "```json",
            json.dumps(experiment, indent=2, default=str),
            "```",
        ]
    body += [
        "",
        "Model config (the `create_model` arguments):",
        "",
        "```json",
        json.dumps({"name": name, "config": config}, indent=2, default=str),
        "```",
        "",
        "## Provenance",
        "",
    ]
    body += [f"- exported with biodyn {__version__}, commit {git_commit() or 'unknown'}"]
    if trained_commit:
        body += [f"- trained at commit {trained_commit}"]
    if trained_versions:
        body += ["- trained with " + ", ".join(f"{k} {v}" for k, v in sorted(trained_versions.items()))]
    return f"---\n{head}\n---\n\n" + "\n".join(body) + "\n"
