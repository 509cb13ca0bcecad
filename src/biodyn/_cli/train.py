"""``biodyn train [system=NAME] key=value ...``: train any system from the one Hydra config tree (torchrun-aware).

``system=`` is read first and chooses the root of the tree that the other overrides compose:

- ``seizure`` (the default): ``configs/config.yaml``, the generic model/data/train tree of Brain-Go-Brr's
  detectors and every registered model (``experiment=NAME``), run by :mod:`biodyn.train.experiment`;
- ``prism``: ``configs/prism/config.yaml`` (schema ``PrismRunConfig``; ``recipe=``, ``preset=``), run by
  :func:`biodyn.systems.prism.run_prism`; ``biodyn prism --flag ...`` is an alias;
- ``cldtrans``: ``configs/cldtrans/config.yaml`` (schema ``CLDTransRun``; ``mode=``, ``profile=``,
  ``ablation=``), run by :func:`biodyn.systems.cldtrans.run_cldtrans`; ``biodyn cldtrans`` and
  ``python -m biodyn.cldtrans`` are aliases;
- ``focal``: CLD-Trans' focal-lead experiment, ``configs/focal/config.yaml`` (schema ``FocalRun``;
  ``preset=quick``), run by :func:`biodyn.systems.cldtrans.focal_lead.run_focal`; ``biodyn focal`` is an alias;
- ``fewshot``: CLD-Trans' few-shot grid, ``configs/fewshot/config.yaml`` (schema ``FewshotRun``;
  ``preset=cpu|full``), run by :func:`biodyn.systems.cldtrans.fewshot_grid.run_fewshot`; ``biodyn fewshot``
  is an alias.

Every system: ``--print-config`` prints the resolved config and runs nothing, ``--config-dir`` replaces the
packaged tree, a run folder that already holds a run is refused without ``--force`` (replace) or the system's
resume key, and the run folder gets the resolved ``config.yaml``.
"""

from __future__ import annotations

import argparse

from biodyn._cli._common import SEEDS_HELP
from biodyn._cli._common import seeds as parse_seeds

PASS_THROUGH = True  # key=value arguments reach run() as args.overrides

# system=NAME; seizure is the generic tree (registered models too), focal and fewshot CLD-Trans' experiments
SYSTEMS = ("seizure", "prism", "cldtrans", "focal", "fewshot")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.usage = "%(prog)s [system=seizure|prism|cldtrans|focal|fewshot] [options] [KEY=VALUE ...]"
    add_common_arguments(parser)
    parser.add_argument(
        "--fewshot",
        action="store_true",
        help="run the few-shot protocol (budgets x seeds; system=seizure's tree)",
    )
    parser.add_argument(
        "--budgets", default=None, help="few-shot label budgets (fractions; default: 0.01,0.1,1.0)"
    )
    parser.add_argument("--seeds", default=None, help=f"few-shot seeds; {SEEDS_HELP}")
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace the run already in the run folder (without the system's resume key or --force it is "
        "refused)",
    )


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """``--config-dir`` and ``--print-config``: every command over the tree has them (the aliases too)."""
    parser.add_argument(
        "--config-dir",
        default=None,
        help="Hydra config tree (default: $BIODYN_CONFIG_DIR or the packaged biodyn/configs)",
    )
    parser.add_argument("--print-config", action="store_true", help="print the resolved config and exit")


def split_system(overrides: list[str]) -> tuple[str, list[str]]:
    """``(system, the other overrides)``: ``system=NAME`` chooses the tree (default ``seizure``); every
    argument must be a ``key=value`` override."""
    from biodyn.errors import ConfigError, check_option

    bad = [o for o in overrides if "=" not in o]
    if bad:
        raise ConfigError(f"arguments must be key=value Hydra overrides, got {bad}")
    system, rest = "seizure", []
    for o in overrides:
        key, _, value = o.partition("=")
        if key == "system":
            system = value
        else:
            rest.append(o)
    check_option("system", system, SYSTEMS)
    return system, rest


def run(args) -> int:
    from biodyn.errors import ConfigError

    system, overrides = split_system(args.overrides)
    if args.fewshot and system != "seizure":
        raise ConfigError(
            f"--fewshot runs the generic tree's few-shot protocol, not system={system} "
            "(CLD-Trans' few-shot grid is system=fewshot)"
        )
    if system != "seizure" and (args.seeds is not None or args.budgets is not None):
        key = "seeds=[...]" if system in ("focal", "fewshot") else "its own keys"
        raise ConfigError(
            f"--seeds and --budgets belong to --fewshot (system=seizure's protocol); system={system} takes {key}"
        )
    runners = {
        "seizure": run_generic,
        "prism": run_prism_system,
        "cldtrans": run_cldtrans_system,
        "focal": run_focal_system,
        "fewshot": run_fewshot_system,
    }
    return runners[system](args, overrides)


def _rank0() -> bool:
    import os

    return int(os.environ.get("RANK", "0")) == 0  # under torchrun rank 0 reports


def run_generic(args, overrides: list[str]) -> int:
    """``system=seizure``: ``configs/config.yaml`` through :mod:`biodyn.train.experiment`."""
    import json

    from omegaconf import OmegaConf

    from biodyn.errors import ConfigError
    from biodyn.train.distributed import init_from_env, shutdown
    from biodyn.train.experiment import compose_config, run_experiment, run_fewshot, to_dataclass

    cfg = compose_config(overrides, config_dir_=args.config_dir)
    exp = to_dataclass(cfg)  # range-checks every setting, so --print-config validates as a run does
    if args.print_config:
        print(OmegaConf.to_yaml(cfg))
        return 0
    from biodyn.rundir import check_device, check_new_run, check_out_dir, clear_run

    check_device(exp.train.device, "train.device")
    if args.fewshot:
        check_out_dir(exp.results_dir, "results_dir")
    else:
        if args.force and exp.train.resume:
            raise ConfigError(
                "train.resume=true and --force exclude each other: resume continues the run, "
                "--force replaces it"
            )
        check_new_run(
            exp.train.out_dir,
            resume=exp.train.resume,
            force=args.force,
            key="train.out_dir",
            resume_hint="add train.resume=true",
            force_hint="add --force",
        )
        if args.force:
            clear_run(exp.train.out_dir)
    init_from_env()
    try:
        if args.fewshot:
            budgets = [float(b) for b in (args.budgets or "0.01,0.1,1.0").split(",")]
            seeds = list(parse_seeds(args.seeds))
            for p in run_fewshot(exp, budgets=budgets, seeds=seeds):
                print(p)
        else:
            res = run_experiment(exp)
            if _rank0():
                print(
                    json.dumps(
                        {k: res[k] for k in ("experiment", "model", "metrics", "train_summary")}, indent=2
                    )
                )
    finally:
        shutdown()
    return 0


def compose_prism(args, overrides: list[str]):
    """The :class:`~biodyn.systems.prism.PrismRunConfig` of ``configs/prism/`` and ``overrides``
    (``--force`` is the config's ``force=true``)."""
    from biodyn.systems.prism import compose

    force = ["force=true"] if getattr(args, "force", False) else []
    return compose([*overrides, *force], config_dir_=args.config_dir)


def prism_yaml(cfg) -> str:
    """The resolved PRISM run config as ``--print-config`` shows it (keys in the schema's order)."""
    from dataclasses import asdict

    import yaml

    return yaml.safe_dump(asdict(cfg), sort_keys=False)


def run_prism_system(args, overrides: list[str], cfg=None, json_path: str | None = None) -> int:
    """``system=prism`` (and ``biodyn prism``, which passes the config its flags composed): train, then print
    the test metrics and where the results are (and write them to ``json_path`` too)."""
    from biodyn.systems.prism import run_prism
    from biodyn.train.distributed import init_from_env, shutdown

    cfg = cfg if cfg is not None else compose_prism(args, overrides)
    if args.print_config:
        print(prism_yaml(cfg), end="")
        return 0
    init_from_env()
    try:
        res = run_prism(cfg)  # checks the device and the run folder (resume / force) before any data is read
    finally:
        shutdown()
    if not _rank0():
        return 0
    if res.get("mode") == "joint":
        for m, met in res["test"].items():
            print(f"test [{m}]: " + ", ".join(f"{k}={v:.4f}" for k, v in met.items()))
    else:
        print(
            f"test [{res['modality']}, {res['model']}]: "
            + ", ".join(f"{k}={v:.4f}" for k, v in res["test"].items())
        )
    print(f"results: {cfg.output_dir}/results.json")
    if json_path:
        from biodyn.atomic import atomic_write_json

        atomic_write_json(json_path, res)
    return 0


def compose_cldtrans(args, overrides: list[str]):
    from biodyn.systems.cldtrans import compose

    return compose(overrides, config_dir_=args.config_dir)


def run_cldtrans_system(args, overrides: list[str]) -> int:
    """``system=cldtrans`` (= ``biodyn cldtrans``, ``python -m biodyn.cldtrans``): one stage into
    ``<train.out_dir>/<mode>``; prints one JSON line (mode, ablation, last step, the last training row's
    losses, the codebook's usage and perplexity)."""
    import json

    from omegaconf import OmegaConf

    from biodyn.systems.cldtrans import run_cldtrans
    from biodyn.train.distributed import init_from_env, shutdown

    run_cfg = compose_cldtrans(args, overrides)
    if args.print_config:
        print(OmegaConf.to_yaml(OmegaConf.structured(run_cfg)))
        return 0
    force = getattr(args, "force", False)  # checked with the rest in run_cldtrans, before any work
    init_from_env()
    try:
        res = run_cldtrans(run_cfg, force=force)
    finally:
        shutdown()
    if not _rank0():
        return 0
    row = res.get("last_train_row") or {}
    losses = {k: v for k, v in row.items() if k.startswith("loss")}
    summary = {"mode": res["mode"], "ablation": res["ablation"], "step": res["train_summary"]["step"]}
    print(json.dumps({**summary, **losses, **(res.get("codebook") or {})}))
    return 0


def compose_experiment(system: str, args, overrides: list[str]):
    """The :class:`~biodyn.systems.cldtrans.focal_lead.FocalRun` (``system="focal"``) or
    :class:`~biodyn.systems.cldtrans.fewshot_grid.FewshotRun` (``"fewshot"``) of ``configs/<system>/`` and
    ``overrides`` (``--force`` is the config's ``force=true``)."""
    from biodyn.systems.cldtrans import fewshot_grid, focal_lead

    force = ["force=true"] if getattr(args, "force", False) else []
    module = {"focal": focal_lead, "fewshot": fewshot_grid}[system]
    return module.compose([*overrides, *force], config_dir_=args.config_dir)


def experiment_yaml(cfg) -> str:
    """A CLD-Trans experiment's resolved config as ``--print-config`` shows it (keys in the schema's order)."""
    from dataclasses import asdict

    import yaml

    return yaml.safe_dump(asdict(cfg), sort_keys=False)


def run_focal_system(args, overrides: list[str], cfg=None, json_path: str | None = None) -> int:
    """``system=focal`` (and ``biodyn focal``, which passes the config its flags composed): every method x
    seed into ``<out>/<experiment>/``, then the table of top-k accuracies (and its JSON at ``json_path``)."""
    import json
    from pathlib import Path

    from biodyn._cli._common import write_json
    from biodyn.systems.cldtrans.focal_lead import run_focal

    cfg = cfg if cfg is not None else compose_experiment("focal", args, overrides)
    if args.print_config:
        print(experiment_yaml(cfg), end="")
        return 0
    paths, n_windows = run_focal(cfg)
    rows = []
    for p in paths:
        r = json.loads(Path(p).read_text())
        rows.append({"method": r["model"], "seed": r["seed"], "readout": r["readout"], **r["metrics"]})
    print(
        f"\n{n_windows} ictal windows; per-seed JSON and run folders (run_seed<k>/: biodyn eval RUN) under "
        f"{Path(cfg.out) / cfg.experiment}"
    )
    print("| method | seed | top-1 [95 % CI] | top-3 | top-5 | seizures |\n|---|---|---|---|---|---|")
    for r in rows:
        ci = f"[{r['top1_ci95_low']:.2f}, {r['top1_ci95_high']:.2f}]"
        print(
            f"| {r['method']} | {r['seed']} | {r['top1']:.3f} {ci} | {r['top3']:.3f} | {r['top5']:.3f} "
            f"| {r['n_seizures']} |"
        )
    print(f"aggregate over seeds: biodyn report {cfg.out}")
    write_json(json_path, {"rows": rows, "files": [str(p) for p in paths]})
    return 0


def run_fewshot_system(args, overrides: list[str], cfg=None, json_path: str | None = None) -> int:
    """``system=fewshot`` (and ``biodyn fewshot``): every missing cell of the grid into ``<out>/<experiment>/``
    (the list of cell files also to ``json_path``)."""
    from biodyn._cli._common import write_json
    from biodyn.systems.cldtrans.fewshot_grid import run_fewshot

    cfg = cfg if cfg is not None else compose_experiment("fewshot", args, overrides)
    if args.print_config:
        print(experiment_yaml(cfg), end="")
        return 0
    paths = run_fewshot(cfg)
    print(f"{len(paths)} cells under {cfg.out}/{cfg.experiment}; tables: biodyn report {cfg.out}")
    write_json(json_path, {"cells": [str(p) for p in paths]})
    return 0
