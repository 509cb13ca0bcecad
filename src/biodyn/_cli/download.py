"""``biodyn download DATASET --to DIR [--only PATTERN] [--jobs N]``."""

from __future__ import annotations


def add_arguments(p) -> None:
    p.add_argument(
        "dataset", help="chbmit, siena, ptbxl, sleepedf, eegmmidb, mimic_ecg (tusz: prints how to get access)"
    )
    p.add_argument("--to", required=True, help="destination folder")
    p.add_argument("--only", help="glob on the corpus' relative paths, e.g. 'chb01/*'")
    p.add_argument("--jobs", type=int, default=4, help="parallel downloads (default 4)")
    p.add_argument("--base-url", help="mirror or test server instead of physionet.org/files/<slug>/")
    p.add_argument("--json", metavar="OUT", help="write the report as JSON")


def run(args) -> int:
    from biodyn._cli._common import write_json
    from biodyn.datasets.download import TUSZ_ACCESS, DownloadError, download

    if args.dataset == "tusz":  # the steps on stdout, the refusal as every error is: one line, exit 2
        from biodyn.errors import ConfigError

        print(TUSZ_ACCESS)
        raise ConfigError("download tusz: TUSZ is served only after access is granted (the steps above)")
    from biodyn.errors import check_range
    from biodyn.rundir import check_out_dir, check_out_file

    check_range("--jobs", args.jobs, low=1, integer=True)  # before the first request
    check_out_dir(args.to, "--to")
    if args.json:
        check_out_file(args.json, "--json")
    report = download(args.dataset, args.to, only=args.only, jobs=args.jobs, base_url=args.base_url)
    print(
        f"downloaded {len(report.downloaded)}, already present {len(report.skipped)}, failed {len(report.failed)}"
        f" ({report.bytes / 1e6:.1f} MB)"
    )
    for rel, why in report.failed.items():
        print(f"  FAILED {rel}: {why}")
    write_json(args.json, report.to_dict())
    if report.failed:  # the others are kept; the failures are one error line, exit 7 (a DownloadError)
        n = len(report.failed)
        m = n + len(report.downloaded) + len(report.skipped)
        raise DownloadError(
            f"{n} of {m} file(s) failed (kept the others; rerun to retry them): "
            + "; ".join(f"{rel}: {why}" for rel, why in report.failed.items())
        )
    return 0
