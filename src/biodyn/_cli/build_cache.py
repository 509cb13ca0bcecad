"""``biodyn build-cache DATASET --root DIR --out DIR [--jobs N] [--shard I/N]``."""

from __future__ import annotations


def add_arguments(p) -> None:
    p.add_argument("dataset")
    p.add_argument("--root", help="corpus folder (not needed for 'synthetic')")
    p.add_argument("--out", required=True, help="cache folder")
    p.add_argument("--jobs", type=int, default=1, help="worker processes")
    p.add_argument("--shard", default=None, help="I/N: process every N-th record from I (0-based)")
    p.add_argument("--window-s", type=float, help="window length (default: the corpus')")
    p.add_argument("--stride-s", type=float, help="window stride (default: the corpus')")
    p.add_argument("--records", nargs="*", help="only these record ids")
    p.add_argument("--json", metavar="OUT", help="write the build report as JSON")


def run(args) -> int:
    from biodyn._cli._common import write_json
    from biodyn.cache import build_cache
    from biodyn.datasets import get_corpus
    from biodyn.errors import ConfigError

    shard = None
    if args.shard:
        try:
            i, n = (int(v) for v in args.shard.split("/"))
        except ValueError:
            raise ConfigError(f"invalid --shard {args.shard!r}; expected I/N, e.g. 0/4") from None
        if not (n >= 1 and 0 <= i < n):
            raise ConfigError(f"invalid --shard {args.shard!r}; expected I/N with 0 <= I < N, e.g. 0/4")
        shard = (i, n)
    from biodyn.rundir import check_out_dir, check_out_file

    check_out_dir(args.out, "--out")
    if args.json:
        check_out_file(args.json, "--json")
    corpus = get_corpus(args.dataset, args.root)
    rep = build_cache(
        corpus,
        args.out,
        jobs=args.jobs,
        shard=shard,
        window_s=args.window_s,
        stride_s=args.stride_s,
        records=args.records,
    )
    print(
        f"{args.dataset}: built {len(rep.built)}, already done {len(rep.skipped)}, failed {len(rep.failed)} "
        f"records; {rep.n_windows} windows in {rep.seconds:.1f} s -> {args.out}"
    )
    for rid, why in rep.failed.items():
        print(f"  skipped {rid}: {why}")
    write_json(args.json, rep.to_dict())
    return 1 if rep.all_failed else 0
