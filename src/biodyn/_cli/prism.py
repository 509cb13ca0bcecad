"""``biodyn prism``: train PRISM (or a baseline) on ECG, images or audio, epoch by epoch: the flags PRISM's
document names, an alias of ``biodyn train system=prism``.

Each flag becomes an override of the same config that ``biodyn train system=prism`` composes
(``--epochs 3`` is ``epochs=3``, ``--config NAME|YAML`` is ``recipe=NAME|YAML``: a packaged recipe or a file
of PrismRunConfig keys, dashes or underscores); Hydra checks the keys and the types. Writes ``config.yaml``,
``results.json`` (test metrics under "test") and ``curves.png`` into ``--output-dir``; ``--json PATH`` writes
the results there too. Under ``torchrun`` the Trainer runs DDP.
"""

from __future__ import annotations

import argparse

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
    from biodyn._cli._common import add_typed_flags
    from biodyn.systems.prism import PrismRunConfig

    d = PrismRunConfig()
    add_typed_flags(parser, _FLAGS, d)
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
        "--config",
        default=None,
        help="a recipe: a packaged one's name (prism_cifar10, prism_ptbxl) or a YAML file of PrismRunConfig "
        "keys; flags override (= recipe=NAME|YAML of biodyn train system=prism)",
    )
    parser.add_argument("--json", default=None, help="also write the results JSON here")
    from biodyn._cli.train import add_common_arguments

    add_common_arguments(parser)  # --config-dir, --print-config
    parser.add_argument(
        "--predict",
        nargs="+",
        default=None,
        metavar="RUN_OR_EXPORT FILE",
        help="predict instead of training: the classes of the FILEs (WAV for an audio model; .npy "
        "arrays otherwise) with a trained run or export folder",
    )


# the store_true/false flags (--force is compose_prism's, as for biodyn train)
_SWITCHES = ("augment", "tensorboard", "resume", "progress")


def overrides(args) -> list[str]:
    """The flags as overrides of PRISM's config tree (``--epochs 3`` -> ``epochs=3``, ``--config X`` ->
    ``recipe=X``): ``biodyn train system=prism`` with these overrides composes the same config."""
    from biodyn._cli._common import flag_overrides

    out = [f"recipe={args.config}"] if args.config else []
    out += flag_overrides(args, _FLAGS)
    out += [f"{d}={str(getattr(args, d)).lower()}" for d in _SWITCHES if getattr(args, d) is not None]
    return out


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
    from biodyn._cli.train import compose_prism, run_prism_system

    if args.predict:
        return predict_files(args)
    cfg = compose_prism(args, overrides(args))
    if not args.print_config:
        _note_unused_flags(args, cfg)
        if args.json:  # checked before training, not found out after it
            from biodyn.rundir import check_out_file

            check_out_file(args.json, "--json")
    return run_prism_system(args, [], cfg=cfg, json_path=args.json)
