"""``biodyn export RUN DIR [--license L] [--tag T ...] [--push ORG/NAME]``: a run's best weights, Hub-ready."""

from __future__ import annotations


def add_arguments(p) -> None:
    p.add_argument(
        "run", help="a run folder (checkpoints/best + results.json), a checkpoint folder or an export"
    )
    p.add_argument("out", help="the export folder (config.json, model.safetensors, README.md)")
    p.add_argument("--license", default="other", help="the card's licence id (default: other)")
    p.add_argument("--tag", action="append", default=[], help="an extra card tag (repeatable)")
    p.add_argument("--push", metavar="ORG/NAME", help="also upload the export to this Hub repository")
    p.add_argument("--revision", help="with --push: the branch to upload to (default main)")
    p.add_argument("--private", action="store_true", help="with --push: create the repository private")


def run(args) -> int:
    from biodyn.rundir import check_out_dir
    from biodyn.train.export import export_run

    check_out_dir(args.out, "OUT")  # a file there is named as such before the model is read
    if args.push:  # a bad repository id is refused before the export is written
        from biodyn.errors import ConfigError
        from biodyn.models._hub import parse_repo_id

        if parse_repo_id(args.push) is None or "@" in args.push:
            raise ConfigError(f"invalid --push {args.push!r}; expected a Hub repository id ORG/NAME")
    rep = export_run(args.run, args.out, license=args.license, tags=args.tag, repo_name=args.push)
    print(f"exported {rep['model']} from {rep['checkpoint']} -> {rep['folder']} (model card {rep['card']})")
    if args.push:
        from biodyn.models import push_to_hub

        url = push_to_hub(rep["folder"], args.push, revision=args.revision, private=args.private or None)
        print(f"pushed to {args.push}: {url}")
    return 0
