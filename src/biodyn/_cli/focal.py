"""``biodyn focal``: zero-shot focal-lead localisation on CHB-MIT ictal windows (top-1/3/5 accuracy)."""

from __future__ import annotations

from biodyn._cli._common import SEEDS_HELP
from biodyn._cli._common import seeds as parse_seeds


def add_arguments(p) -> None:
    p.add_argument(
        "--data",
        default=None,
        help="CHB-MIT root (summary files + EDFs); default: the sample data's chbmit/ folder",
    )
    p.add_argument(
        "--excerpts",
        action="store_true",
        help="use the bundled npy_excerpts/ (10 s inside each seizure) instead of EDF annotations",
    )
    p.add_argument(
        "--onsets",
        default=None,
        help="CSV record,seizure_index,channels (default: the shipped EXAMPLE file, not clinical truth)",
    )
    p.add_argument(
        "--methods",
        default=None,
        help="comma-separated (default: ldsem,dynotears,rhino,varlingam,"
        "pcmci,biot,bendr,eeg_gcnn; a registered model with lag_graph, e.g. cldtrans, joins by name)",
    )
    p.add_argument(
        "--weights",
        action="append",
        default=[],
        metavar="NAME=FOLDER",
        help="trained weights for a method label (an export, or a Trainer checkpoint such as the train.out_dir "
        "of python -m biodyn.cldtrans); the label may be new, e.g. cldtrans_no_vq=DIR",
    )
    p.add_argument("--seeds", default=None, help=SEEDS_HELP)
    p.add_argument("--offset-s", type=float, default=0.0, help="ictal window start after the annotated onset")
    p.add_argument(
        "--span-s", type=float, default=None, help="ictal window length (s; default 10, --quick 4)"
    )
    p.add_argument("--tau-max-s", type=float, default=0.05)
    p.add_argument(
        "--edge-threshold",
        type=float,
        default=None,
        help="trained lag models (cldtrans): |A| below this is no edge (default: the model's own)",
    )
    p.add_argument(
        "--resample-hz", type=float, default=None, help="rate of the fits (default 128, --quick 64)"
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="CPU-sized preset configs/focal/quick.yaml: 4 s windows, 64 Hz, fewer fit steps, tiny "
        "neural detectors; flags given win over it",
    )
    p.add_argument("--channels", default=None, help="comma-separated subset of channels to rank")
    p.add_argument("--per-patient", type=int, default=None, help="at most this many seizures per patient")
    p.add_argument(
        "--out",
        default="results",
        help="results folder (default: ./results, relative to the current folder; per-seed JSON; finished files are skipped, one run with other settings "
        "is an error)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="run again, and replace, finished files whose settings differ from this run's",
    )
    p.add_argument(
        "--device",
        default="auto",
        help="neural detectors and read-outs: auto (CUDA when present) | cpu | cuda[:N]",
    )
    p.add_argument("--experiment", default="focal")
    p.add_argument("--json", metavar="OUT", help="also write the summary table as JSON")
    p.add_argument(
        "--print-config",
        action="store_true",
        help="print the resolved settings (window and FocalConfig) and exit",
    )


def settings(args) -> tuple[dict, dict]:
    """``(window settings, FocalConfig overrides)``: a flag the user gave wins, then the ``--quick`` preset
    (``configs/focal/quick.yaml``), then the defaults. "Given" means not None: an explicit ``--span-s 10``
    under ``--quick`` stays 10."""
    from biodyn.systems.cldtrans.focal_lead import WINDOW_KEYS, FocalConfig, load_preset

    preset = load_preset("quick") if args.quick else {}
    defaults = FocalConfig()
    window = {
        k: getattr(args, k) if getattr(args, k) is not None else preset.get(k, getattr(defaults, k, None))
        for k in WINDOW_KEYS
    }
    if isinstance(window["channels"], str):
        window["channels"] = [c.strip() for c in window["channels"].split(",") if c.strip()]
    return window, {k: v for k, v in preset.items() if k not in WINDOW_KEYS}


def run(args) -> int:
    import json
    from pathlib import Path

    from biodyn._cli._common import names, pairs, write_json
    from biodyn.data_root import data_root
    from biodyn.datasets.chbmit import ictal_windows
    from biodyn.datasets.chbmit_excerpts import excerpt_ictal_windows
    from biodyn.errors import ConfigError, check_range
    from biodyn.io.events import read_onset_csv
    from biodyn.rundir import check_device, check_out_dir, check_out_file
    from biodyn.systems.cldtrans import focal_lead as fl

    # every flag checked before a recording is read or a file written
    window, overrides = settings(args)
    if args.print_config:
        import yaml

        cfg = {**{k: v for k, v in vars(fl.FocalConfig()).items()}, **overrides}
        cfg.update(
            {"seeds": list(parse_seeds(args.seeds)), "offset_s": args.offset_s, "tau_max_s": args.tau_max_s}
        )
        print(
            yaml.safe_dump(
                json.loads(json.dumps({"window": window, "focal": cfg}, default=list)), sort_keys=False
            ),
            end="",
        )
        return 0
    span = window["span_s"]
    check_range("--span-s", span, low=0, low_open=True)
    check_range("--offset-s", args.offset_s, low=0)
    check_range("--tau-max-s", args.tau_max_s, low=0, low_open=True)
    check_range("--resample-hz", window["resample_hz"], low=0, low_open=True)
    if args.edge_threshold is not None:
        check_range("--edge-threshold", args.edge_threshold, low=0)
    if window["per_patient"] is not None:
        check_range("--per-patient", window["per_patient"], low=1, integer=True)
    seeds = parse_seeds(args.seeds)
    methods = names(args.methods, "--methods") if args.methods else None
    weights = pairs(args.weights, "--weights", "NAME=FOLDER")
    run_methods = tuple(methods or overrides.get("methods") or fl.FocalConfig().methods)
    from biodyn.models import list_models

    unknown = [m for m in run_methods if m not in (*fl.LAG_METHODS, *list_models()) and m not in weights]
    if unknown:  # before any data is read (it was found out per method, after the windows were cut)
        raise ConfigError(
            f"--methods {', '.join(unknown)}: unknown focal-lead method; choose from "
            f"{', '.join((*fl.LAG_METHODS, *list_models()))}, or name its weights with --weights NAME=FOLDER"
        )
    unused = [w for w in weights if w not in run_methods]
    if unused:
        raise ConfigError(
            f"--weights {', '.join(unused)}: not among the methods run ({', '.join(run_methods)}); "
            "add it to --methods"
        )
    for name, folder in weights.items():
        if not Path(folder).exists():
            raise ConfigError(f"--weights {name}={folder}: no such folder")
    check_device(args.device, "--device")
    check_out_dir(args.out, "--out")
    if args.json:
        check_out_file(args.json, "--json")
    root = Path(args.data) if args.data else (data_root(required=True) / "chbmit")
    if not root.is_dir():
        from biodyn.errors import DataRootError

        raise DataRootError(f"--data {root}: no such folder")
    if args.excerpts:
        windows = excerpt_ictal_windows(
            root / "npy_excerpts" if (root / "npy_excerpts").is_dir() else root, span
        )
    else:
        windows = ictal_windows(root, args.offset_s, span)
        if not windows:
            from biodyn.errors import NothingMatchedError

            raise NothingMatchedError(
                f"no annotated seizure with its EDF under {root}; for the bundled sample use --excerpts"
            )
    windows = fl.select(windows, window["channels"] or None, window["per_patient"])
    onsets = read_onset_csv(args.onsets or fl.EXAMPLE_ONSETS)
    if not args.onsets:
        print(f"onset channels: {fl.EXAMPLE_ONSETS} (an EXAMPLE, not clinical truth)")
    cfg = fl.FocalConfig(
        seeds=seeds,
        offset_s=args.offset_s,
        span_s=span,
        tau_max_s=args.tau_max_s,
        resample_hz=window["resample_hz"],
        edge_threshold=args.edge_threshold,
        device=args.device,
    )
    if methods:
        cfg.methods = methods
    for k, v in overrides.items():
        setattr(cfg, k, v)
    # a model that places its graph by channel name (the registry says which, e.g. EEG-GCNN) gets the windows'
    from biodyn.models import list_models, model_inputs

    for m in cfg.methods:
        if m in list_models() and model_inputs(m, **cfg.model_params.get(m, {})).channel_names:
            cfg.model_params = {
                **cfg.model_params,
                m: {**cfg.model_params.get(m, {}), "channels": windows[0].channels},
            }
    paths = fl.run_focal_lead(windows, onsets, cfg, args.out, args.experiment, weights, force=args.force)
    rows = []
    for p in paths:
        r = json.loads(Path(p).read_text())
        rows.append({"method": r["model"], "seed": r["seed"], "readout": r["readout"], **r["metrics"]})
    print(f"\n{len(windows)} ictal windows; per-seed JSON under {Path(args.out) / args.experiment}")
    print("| method | seed | top-1 [95 % CI] | top-3 | top-5 | seizures |\n|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['method']} | {r['seed']} | {r['top1']:.3f} [{r['top1_ci95_low']:.2f}, {r['top1_ci95_high']:.2f}] | "
            f"{r['top3']:.3f} | {r['top5']:.3f} | {r['n_seizures']} |"
        )
    print(f"aggregate over seeds: biodyn report {args.out}")
    write_json(args.json, {"rows": rows, "files": [str(p) for p in paths]})
    return 0
