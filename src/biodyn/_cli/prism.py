"""``biodyn prism``: train PRISM (or a baseline) on ECG, images or audio, epoch by epoch.

Flags override ``--config YAML`` (whose keys are PrismRunConfig's field names, dashes or underscores; an
unknown key is an error). Writes ``config.yaml``, ``results.json`` (test metrics under "test") and
``curves.png`` into ``--output-dir``; ``--json PATH`` writes the results there too. Under ``torchrun`` the
Trainer runs DDP.
"""

from __future__ import annotations

import argparse
from pathlib import Path

# flag -> (PrismRunConfig field, type, help); defaults come from PrismRunConfig
_FLAGS = {
    "--modality": ("modality", str, "image | ecg | audio (mode single)"),
    "--mode": ("mode", str, "single | joint (ecg + image (+ audio) on one backbone, alternating batches)"),
    "--model": ("model", str, "prism | resnet1d | transformer"),
    "--block-pattern": ("block_pattern", str, "hybrid (S4 : Delta = 3 : 1) | s4 | delta (ablations)"),
    "--ffn": ("ffn", str, "swiglu | moe (PRISM's feed-forward: dense SwiGLU or DeepSeekMoE-style experts)"),
    "--epochs": ("epochs", int, "training epochs"),
    "--batch-size": ("batch_size", int, "batch size"),
    "--lr": ("lr", float, "AdamW learning rate (cosine schedule)"),
    "--hidden-dim": ("hidden_dim", int, "model width (PRISM hidden_dim, Transformer d_model)"),
    "--num-layers": ("num_layers", int, "total blocks"),
    "--num-heads": ("num_heads", int, "heads of both block types"),
    "--data-root": (
        "data_root",
        str,
        "the dataset folder, or a parent holding ptbxl/, cifar*/, fsdd/ (default: biodyn's data root)",
    ),
    "--data": ("data", str, "real | synthetic (random class-templated sequences: smoke runs only)"),
    "--patch-size": ("patch_size", int, "image patch size (4 -> 48-dim patches, 64 tokens)"),
    "--early-stopping": ("early_stopping", int, "patience in epochs on the validation metric (0 = off)"),
    "--output-dir": ("output_dir", str, "run folder (checkpoints, logs, results.json, curves.png)"),
    "--seed": ("seed", int, "random seed"),
    "--limit": (
        "limit",
        int,
        "at most this many items per split (smoke runs): a subset seeded by --seed with about N/K of each of "
        "the K classes (ecg: the first N records of each split)",
    ),
    "--wandb-project": (
        "wandb_project",
        str,
        "log to this Weights & Biases project (extra `wandb`; WANDB_MODE=offline logs without a network)",
    ),
    "--device": ("device", str, "auto | cpu | cuda[:N]"),
    "--num-workers": ("num_workers", int, "data loader workers"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from biodyn.systems.prism import PrismRunConfig

    d = PrismRunConfig()
    for flag, (dest, typ, help_) in _FLAGS.items():
        parser.add_argument(
            flag, dest=dest, type=typ, default=None, help=f"{help_} (default: {getattr(d, dest)})"
        )
    parser.add_argument(
        "--augment",
        dest="augment",
        action="store_true",
        default=None,
        help="image: random crop + horizontal flip",
    )
    parser.add_argument(
        "--tensorboard", dest="tensorboard", action="store_true", default=None, help="log to --output-dir/tb"
    )
    parser.add_argument(
        "--resume",
        dest="resume",
        action="store_true",
        default=None,
        help="resume from --output-dir/checkpoints/last (the run's settings must match)",
    )
    parser.add_argument(
        "--force",
        dest="force",
        action="store_true",
        default=None,
        help="replace the run already in --output-dir (without --resume or --force it is refused)",
    )
    parser.add_argument("--no-progress", dest="progress", action="store_false", default=None)
    parser.add_argument(
        "--config", default=None, help="YAML of defaults (PrismRunConfig keys); flags override"
    )
    parser.add_argument("--json", default=None, help="also write the results JSON here")
    parser.add_argument("--print-config", action="store_true", help="print the resolved run config and exit")
    parser.add_argument(
        "--predict",
        nargs="+",
        default=None,
        metavar="RUN_OR_EXPORT FILE",
        help="predict instead of training: the classes of the FILEs (WAV for an audio model; .npy "
        "arrays otherwise) with a trained run or export folder",
    )


def resolve(args) -> dict:
    """The run config as a dict: PrismRunConfig defaults < --config YAML < flags."""
    from biodyn.errors import ConfigError

    cfg: dict = {}
    if args.config:
        import yaml

        path = Path(args.config)
        from biodyn.configs import config_path

        packaged = config_path("prism", f"{args.config}.yaml")
        if not path.exists() and packaged.is_file():  # a packaged recipe by name: prism_cifar10, prism_ptbxl
            path = packaged
        try:
            with open(path) as f:
                raw = yaml.safe_load(f) or {}
        except OSError as e:
            raise ConfigError(f"--config {args.config}: {e.strerror}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"--config {args.config}: not a UTF-8 text file") from None
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
            raise ConfigError(
                f"--config {args.config}: not valid YAML{where}: {getattr(e, 'problem', e)}"
            ) from None
        if not isinstance(raw, dict):
            raise ConfigError(f"--config {args.config}: expected a mapping of keys to values")
        cfg.update({str(k).replace("-", "_"): v for k, v in raw.items()})
    dests = [d for d, _, _ in _FLAGS.values()] + ["augment", "tensorboard", "resume", "force", "progress"]
    cfg.update({d: getattr(args, d) for d in dests if getattr(args, d) is not None})
    return cfg


def _note_unused_flags(args, cfg) -> None:
    """Say (on stderr) which given flags the chosen model has no use for, instead of dropping them silently: the
    ResNet-1D has its own widths (Wang et al.), the Transformer no block pattern. A note, not an error, so one
    command line can be run with each --model."""
    import sys

    unused = {
        "resnet1d": ("--block-pattern", "--ffn", "--hidden-dim", "--num-layers", "--num-heads"),
        "transformer": ("--block-pattern", "--ffn"),
    }.get(cfg.model, ())
    given = [f for f in unused if getattr(args, _FLAGS[f][0], None) is not None]
    if given:
        print(
            f"biodyn: note: --model {cfg.model} does not use {', '.join(given)}", file=sys.stderr, flush=True
        )


def predict_files(args) -> int:
    """``biodyn prism --predict RUN FILE...``: one line per file (its top class and probability)."""
    import numpy as np

    from biodyn.atomic import atomic_write_json
    from biodyn.errors import ConfigError
    from biodyn.systems.prism import predict

    folder, files = args.predict[0], args.predict[1:]
    if not files:
        raise ConfigError("--predict RUN_OR_EXPORT FILE...: give at least one file to predict")
    inputs = [f if not f.endswith(".npy") else np.load(f) for f in files]
    pred = predict(folder, inputs if isinstance(inputs[0], str) else np.stack(inputs))
    rows = []
    for f, label, p in zip(files, pred.labels, pred.probs):
        print(f"{f}: {label} (p={float(p.max()):.3f})")
        rows.append({"file": f, "label": label, "probs": dict(zip(pred.classes, map(float, p)))})
    if args.json:
        atomic_write_json(args.json, {"model": folder, "predictions": rows})
    return 0


def run(args) -> int:
    from dataclasses import asdict

    from biodyn.atomic import atomic_write_json
    from biodyn.systems.prism import PrismRunConfig, run_prism
    from biodyn.train.distributed import init_from_env, shutdown

    if args.predict:
        return predict_files(args)
    cfg = PrismRunConfig.from_dict(resolve(args))
    if args.print_config:
        import yaml

        print(yaml.safe_dump(asdict(cfg), sort_keys=False), end="")
        return 0
    _note_unused_flags(args, cfg)
    if args.json:  # checked before training, not found out after it
        from biodyn.rundir import check_out_file

        check_out_file(args.json, "--json")
    init_from_env()
    try:
        res = run_prism(cfg)
    finally:
        shutdown()
    if res.get("mode") == "joint":
        for m, met in res["test"].items():
            print(f"test [{m}]: " + ", ".join(f"{k}={v:.4f}" for k, v in met.items()))
    else:
        print(
            f"test [{res['modality']}, {res['model']}]: "
            + ", ".join(f"{k}={v:.4f}" for k, v in res["test"].items())
        )
    print(f"results: {cfg.output_dir}/results.json")
    if args.json:
        atomic_write_json(args.json, res)
    return 0
