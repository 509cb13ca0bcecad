"""``biodyn focal``: zero-shot focal-lead localisation on CHB-MIT ictal windows (top-1/3/5 accuracy), an alias of
``biodyn train system=focal``.

Each flag becomes an override of the config that ``biodyn train system=focal`` composes (schema
:class:`~biodyn.systems.cldtrans.focal_lead.FocalRun`): ``--span-s 6`` is ``span_s=6``, ``--quick`` is
``preset=quick``, ``--methods a,b`` is ``methods=[a,b]``, ``--weights L=DIR`` is ``++weights.L=DIR``,
``--no-detectors`` is ``keep_detectors=false``; only the flags given become overrides, so a flag wins over the
preset and the preset over the defaults. Hydra and the schema check the keys, types and ranges.
"""

from __future__ import annotations

from biodyn._cli._common import SEEDS_HELP, add_typed_flags

# flag -> (FocalRun field, type, help); defaults come from FocalRun
_FLAGS = {
    "--data": ("data", str, "CHB-MIT root (summary files + EDFs); default: the sample data's chbmit/ folder"),
    "--onsets": (
        "onsets",
        str,
        "CSV record,seizure_index,channels (default: the shipped EXAMPLE file, not clinical truth)",
    ),
    "--offset-s": ("offset_s", float, "ictal window start after the annotated onset"),
    "--span-s": ("span_s", float, "ictal window length (s; --quick: 4)"),
    "--tau-max-s": ("tau_max_s", float, "largest lag of the fits (s)"),
    "--edge-threshold": (
        "edge_threshold",
        float,
        "trained lag models (cldtrans): |A| below this is no edge (default: the model's own threshold)",
    ),
    "--resample-hz": ("resample_hz", float, "rate of the fits (--quick: 64)"),
    "--per-patient": ("per_patient", int, "at most this many seizures per patient (default: all)"),
    "--out": (
        "out",
        str,
        "results folder, relative to the current folder: per (method, seed) a JSON and its run folder "
        "run_seed<k>/; finished ones are skipped, one run with other settings is an error",
    ),
    "--device": ("device", str, "neural detectors and read-outs: auto (CUDA when present) | cpu | cuda[:N]"),
    "--experiment": ("experiment", str, "the results' experiment folder"),
}
# comma-separated flags -> list fields
_LISTS = {
    "--methods": (
        "methods",
        "comma-separated; a registered model with lag_graph, e.g. cldtrans, joins by name",
    ),
    "--channels": ("channels", "comma-separated subset of channels to rank"),
}


def add_arguments(p) -> None:
    from biodyn.systems.cldtrans.focal_lead import FocalRun

    d = FocalRun()
    add_typed_flags(p, _FLAGS, d)
    for flag, (dest, help_) in _LISTS.items():
        shown = ",".join(map(str, getattr(d, dest))) if getattr(d, dest) else "all"
        p.add_argument(flag, dest=dest, default=None, help=f"{help_} (default: {shown})")
    p.add_argument(
        "--excerpts",
        action="store_true",
        help="use the bundled npy_excerpts/ (10 s inside each seizure) instead of EDF annotations",
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
    p.add_argument(
        "--quick",
        action="store_true",
        help="CPU-sized preset (preset=quick, configs/focal/preset/quick.yaml): 4 s windows, 64 Hz, fewer fit "
        "steps, tiny neural detectors; flags given win over it",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="run again, and replace, finished files whose settings differ from this run's",
    )
    p.add_argument(
        "--no-detectors",
        action="store_true",
        help="do not store the occlusion read-out's leave-one-patient-out detectors in the run folders "
        "(BENDR's are 0.6 GB each at its default size); the read-outs and biodyn eval are unaffected",
    )
    p.add_argument("--json", metavar="OUT", help="also write the summary table as JSON")
    from biodyn._cli.train import add_common_arguments

    add_common_arguments(p)  # --config-dir, --print-config


def overrides(args) -> list[str]:
    """The flags as overrides of ``configs/focal/`` (``--span-s 6`` -> ``span_s=6.0``): ``biodyn train
    system=focal`` with these overrides composes the same config (``--force`` is added as ``force=true`` by
    the one compose of both commands)."""
    from biodyn._cli._common import flag_overrides, listed, pairs, quoted
    from biodyn._cli._common import seeds as parse_seeds

    out = ["preset=quick"] if args.quick else []
    out += flag_overrides(args, _FLAGS, _LISTS)
    if args.seeds is not None:
        out.append(f"seeds={listed(parse_seeds(args.seeds))}")
    out += [f"++weights.{k}={quoted(v)}" for k, v in pairs(args.weights, "--weights", "NAME=FOLDER").items()]
    if args.excerpts:
        out.append("excerpts=true")
    if args.no_detectors:
        out.append("keep_detectors=false")
    return out


def run(args) -> int:
    from biodyn._cli.train import compose_experiment, run_focal_system

    cfg = compose_experiment("focal", args, overrides(args))  # every flag checked before anything is read
    if args.json and not args.print_config:
        from biodyn.rundir import check_out_file

        check_out_file(args.json, "--json")
    return run_focal_system(args, [], cfg=cfg, json_path=args.json)
