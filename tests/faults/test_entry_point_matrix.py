"""Bad input at every entry point (issue #40's classes): bad type, out of range, missing path, a path that is a
file, a read-only target, an existing run without --resume, duplicate inputs, an interrupt.

Each case runs ``biodyn ...`` in this process (``cli.main``; ``python -m biodyn.cldtrans`` is ``biodyn cldtrans``)
from an empty working folder inside ``tmp_path`` and asserts: exactly one ``biodyn: error:`` line (argparse's
own usage error for a value of the wrong type), the documented exit code, the words that name the culprit, and
a byte-identical ``tmp_path`` afterwards: the checks run before anything is read or written, so a refused
command leaves no cache, config or output behind (in the working folder included)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from faultkit import changed_outside, one_error_line, run_cli, tree

# name -> (argv; expected exit code; words the error line must hold). "{t}" is tmp_path; the fixture below
# provides {t}/file (a file), {t}/empty/ (an empty folder), {t}/run/ (a finished run), {t}/bad.yaml, ...
CASES: dict[str, tuple[list[str], int, tuple[str, ...]]] = {
    # biodyn detect: ranges, post-processing keys, duplicate output names, an output that is a file
    "detect-threshold-above-1": (
        ["detect", "{t}/a/x.edf", "--checkpoint", "{t}/ck", "--threshold", "2"],
        2,
        ("--threshold", "2"),
    ),
    "detect-threshold-negative": (
        ["detect", "{t}/a/x.edf", "--checkpoint", "{t}/ck", "--threshold", "-1"],
        2,
        ("--threshold",),
    ),
    "detect-batch-size-0": (
        ["detect", "{t}/a/x.edf", "--checkpoint", "{t}/ck", "--batch-size", "0"],
        2,
        ("--batch-size",),
    ),
    "detect-overlap-1": (
        ["detect", "{t}/a/x.edf", "--checkpoint", "{t}/ck", "--overlap", "1"],
        2,
        ("--overlap",),
    ),
    "detect-post-negative": (
        ["detect", "{t}/a/x.edf", "--checkpoint", "{t}/ck", "--post", "min_duration_s=-5"],
        2,
        ("min_duration_s=-5",),
    ),
    "detect-post-unknown": (
        ["detect", "{t}/a/x.edf", "--checkpoint", "{t}/ck", "--post", "nosuch=1"],
        2,
        ("nosuch=1",),
    ),
    "detect-duplicate-names": (
        ["detect", "{t}/a/x.edf", "{t}/b/x.edf", "--checkpoint", "{t}/ck"],
        2,
        ("a/x.edf", "b/x.edf", "same outputs"),
    ),
    "detect-out-is-file": (
        ["detect", "{t}/a/x.edf", "--checkpoint", "{t}/ck", "--out", "{t}/file"],
        8,
        ("--out", "is a file"),
    ),
    "detect-json-under-file": (
        ["detect", "{t}/a/x.edf", "--checkpoint", "{t}/ck", "--json", "{t}/file/s.json"],
        8,
        ("--json", "is a file"),
    ),
    "detect-threshold-type": (
        ["detect", "{t}/a/x.edf", "--checkpoint", "{t}/ck", "--threshold", "abc"],
        2,
        ("--threshold",),
    ),
    # biodyn szcore / benchmark szcore: the same settings as detect, checked before the detector is loaded
    "szcore-threshold-above-1": (
        ["szcore", "{t}/a/x.edf", "{t}/o.tsv", "--checkpoint", "{t}/ck", "--threshold", "2"],
        2,
        ("--threshold", "2"),
    ),
    "szcore-batch-size-0": (
        ["szcore", "{t}/a/x.edf", "{t}/o.tsv", "--checkpoint", "{t}/ck", "--batch-size", "0"],
        2,
        ("--batch-size",),
    ),
    "szcore-output-under-file": (
        ["szcore", "{t}/a/x.edf", "{t}/file/o.tsv", "--checkpoint", "{t}/ck"],
        8,
        ("OUTPUT", "is a file"),
    ),
    "benchmark-szcore-post-negative": (
        [
            "benchmark",
            "szcore",
            "{t}/empty",
            "--checkpoint",
            "{t}/ck",
            "--out",
            "{t}/bench",
            "--post",
            "min_duration_s=-1",
        ],
        2,
        ("min_duration_s",),
    ),
    # biodyn focal: ranges, NAME=FOLDER pairs, seeds, an empty data folder (6)
    "focal-span-negative": (["focal", "--span-s", "-1"], 2, ("span_s",)),
    "focal-span-zero-quick": (["focal", "--quick", "--span-s", "0"], 2, ("span_s",)),
    "focal-weights-no-name": (["focal", "--weights", "{t}/empty"], 2, ("--weights", "NAME=FOLDER")),
    "focal-weights-not-run": (
        ["focal", "--methods", "ldsem", "--weights", "cldtrans={t}/empty"],
        2,
        ("weights", "cldtrans", "methods"),
    ),
    "focal-seeds-type": (["focal", "--seeds", "4x2"], 2, ("--seeds", "4x2")),
    "focal-out-is-file": (["focal", "--out", "{t}/file"], 8, ("(out ", "is a file")),
    "focal-empty-data": (["focal", "--excerpts", "--data", "{t}/empty", "--out", "{t}/res"], 6, ("empty",)),
    "focal-missing-data": (["focal", "--data", "{t}/nosuch", "--out", "{t}/res"], 6, ("nosuch",)),
    "focal-device": (["focal", "--device", "tpu"], 2, ("device", "tpu")),
    "focal-methods-unknown": (["focal", "--methods", "nosuch"], 2, ("methods", "nosuch")),
    "fewshot-root-missing": (["fewshot", "--root", "chbmit={t}/nosuch"], 6, ("roots", "nosuch")),
    "export-out-is-file": (["export", "{t}/run", "{t}/file"], 8, ("OUT", "is a file")),
    # biodyn fewshot: names, pairs and budgets before any cache folder is made (./cache/fewshot never appears)
    "fewshot-dataset-unknown": (["fewshot", "--datasets", "nosuch"], 2, ("datasets", "nosuch")),
    "fewshot-root-no-name": (["fewshot", "--root", "{t}/empty"], 2, ("--root", "DATASET=FOLDER")),
    "fewshot-root-unknown": (["fewshot", "--root", "nosuch={t}/empty"], 2, ("roots", "nosuch")),
    "fewshot-budget-above-1": (["fewshot", "--budgets", "2"], 2, ("budgets", "2")),
    "fewshot-budget-type": (["fewshot", "--budgets", "0.1,abc"], 2, ("--budgets",)),
    "fewshot-budget-unit-no-name": (["fewshot", "--budget-unit", "window"], 2, ("--budget-unit",)),
    "fewshot-out-is-file": (["fewshot", "--out", "{t}/file"], 8, ("(out ", "is a file")),
    "fewshot-duplicate-dataset": (["fewshot", "--datasets", "chbmit,chbmit"], 2, ("datasets", "chbmit")),
    # biodyn prism: the config file, types, ranges, device, the run folder (before any data is read)
    "prism-bad-yaml": (["prism", "--config", "{t}/bad.yaml"], 2, ("bad.yaml", "YAML", "line")),
    "prism-output-dir-null": (["prism", "--config", "{t}/null.yaml"], 2, ("output_dir",)),
    "prism-overrides-type": (["prism", "--config", "{t}/overrides.yaml"], 2, ("model_overrides",)),
    "prism-overrides-key": (
        ["prism", "--config", "{t}/overrides_key.yaml", "--output-dir", "{t}/new"],
        2,
        ("nosuch",),
    ),
    "prism-seed-negative": (["prism", "--seed", "-1"], 2, ("seed", "-1")),
    "prism-epochs-type": (["prism", "--epochs", "x"], 2, ("--epochs",)),
    "prism-device": (["prism", "--device", "cuda:99", "--output-dir", "{t}/new"], 2, ("--device", "cuda:99")),
    "prism-output-is-file": (["prism", "--output-dir", "{t}/file"], 8, ("--output-dir", "is a file")),
    "prism-json-under-file": (
        ["prism", "--output-dir", "{t}/new", "--json", "{t}/file/r.json"],
        8,
        ("--json", "is a file"),
    ),
    "prism-existing-run": (
        ["prism", "--output-dir", "{t}/run"],
        2,
        ("already holds a run", "--resume", "--force"),
    ),
    "prism-resume-other-modality": (
        ["prism", "--output-dir", "{t}/run", "--resume", "--modality", "ecg"],
        4,
        ("modality='image'", "'ecg'"),
    ),
    "prism-joint-modality": (
        ["prism", "--mode", "joint", "--modality", "audio", "--output-dir", "{t}/new"],
        2,
        ("--modality audio", "joint"),
    ),
    "prism-empty-data": (["prism", "--data-root", "{t}/empty", "--output-dir", "{t}/new"], 6, ("empty",)),
    "prism-missing-data": (["prism", "--data-root", "{t}/nosuch", "--output-dir", "{t}/new"], 6, ("nosuch",)),
    # biodyn train: an existing run, the device (before the cache build)
    "train-existing-run": (
        ["train", "train.out_dir={t}/run"],
        2,
        ("already holds a run", "train.resume=true"),
    ),
    "train-device": (["train", "train.device=cuda:99", "train.out_dir={t}/new"], 2, ("train.device",)),
    "train-out-is-file": (["train", "train.out_dir={t}/file"], 8, ("train.out_dir", "is a file")),
    "train-bad-range": (["train", "train.max_steps=0", "train.out_dir={t}/new"], 2, ("train.max_steps",)),
    # python -m biodyn.cldtrans (= biodyn cldtrans): unknown keys, ranges, device, out_dir, stage 2's checkpoint
    "cldtrans-unknown-key": (["cldtrans", "+train.nosuch=1", "train.out_dir={t}/new"], 2, ("train.nosuch",)),
    "cldtrans-max-steps-0": (
        ["cldtrans", "train.max_steps=0", "train.out_dir={t}/new"],
        2,
        ("train.max_steps",),
    ),
    "cldtrans-device": (["cldtrans", "train.device=cuda:99", "train.out_dir={t}/new"], 2, ("train.device",)),
    "cldtrans-out-is-file": (["cldtrans", "train.out_dir={t}/file"], 8, ("train.out_dir", "is a file")),
    "cldtrans-stage2-no-stage1": (
        ["cldtrans", "mode=stage2", "train.out_dir={t}/new"],
        2,
        ("stage-1 checkpoint", "mode=stage2"),
    ),
    "cldtrans-not-key-value": (["cldtrans", "stage1"], 2, ("key=value",)),
    "cldtrans-existing-stage": (
        ["cldtrans", "train.out_dir={t}/ct"],
        2,
        ("stage1 folder", "already holds a run", "train.resume=true", "--force"),
    ),
    "cldtrans-resume-and-force": (
        ["cldtrans", "--force", "train.resume=true", "train.out_dir={t}/ct"],
        2,
        ("train.resume=true", "--force"),
    ),
    # biodyn eval: folders that are not (or no longer readable as) a biodyn train run
    "eval-no-config": (["eval", "{t}/empty"], 2, ("no config.yaml",)),
    "eval-corrupt-config": (["eval", "{t}/corrupt_run"], 2, ("config.yaml",)),
    "eval-empty-config": (["eval", "{t}/empty_config_run"], 2, ("holds no run config",)),
    "eval-cldtrans-run": (["eval", "{t}/cldtrans_run"], 2, ("CLD-Trans",)),
    "eval-missing": (["eval", "{t}/nosuch"], 2, ("nosuch",)),
    "eval-json-under-file": (["eval", "{t}/run", "--json", "{t}/file/e.json"], 8, ("--json", "is a file")),
    # biodyn report: seed files that are not result objects
    "report-list": (["report", "{t}/res_list"], 2, ("seed42.json", "list")),
    "report-string-metric": (["report", "{t}/res_str"], 2, ("seed42.json", "acc")),
    "report-not-utf8": (["report", "{t}/res_bin"], 2, ("seed42.json", "UTF-8")),
    "report-seeds-type": (["report", "{t}/res_str", "--seeds", "42,abc"], 2, ("--seeds",)),
    "report-out-is-file": (["report", "{t}/res_str", "--out", "{t}/file"], 8, ("--out", "is a file")),
    "score-json-under-file": (
        ["score", "{t}/ref.list", "{t}/hyp.list", "--json", "{t}/file/s.json"],
        8,
        ("--json", "is a file"),
    ),
    "download-tusz": (["download", "tusz", "--to", "{t}/d"], 2, ("tusz", "access")),
    # lags, build-cache, download, info: outputs checked before the fit, the build or the first request
    "lags-missing-recording": (["lags", "{t}/nosuch.edf", "--out", "{t}/o"], 3, ("nosuch.edf",)),
    "lags-out-is-file": (["lags", "{t}/nosuch.edf", "--out", "{t}/file"], 8, ("--out", "is a file")),
    "lags-json-under-file": (
        ["lags", "{t}/nosuch.edf", "--out", "{t}/o", "--json", "{t}/file/x.json"],
        8,
        ("--json", "is a file"),
    ),
    "build-cache-out-is-file": (["build-cache", "synthetic", "--out", "{t}/file"], 8, ("--out", "is a file")),
    "download-to-is-file": (["download", "chbmit", "--to", "{t}/file"], 8, ("--to", "is a file")),
    "info-missing-root": (["info", "chbmit", "--root", "{t}/nosuch"], 6, ("nosuch",)),
    "info-unknown-corpus": (["info", "nosuch"], 2, ("dataset", "nosuch")),
    "info-json-under-file": (
        ["info", "chbmit", "--root", "{t}/empty", "--json", "{t}/file/x.json"],
        8,
        ("--json", "is a file"),
    ),
    "download-jobs-0": (["download", "chbmit", "--to", "{t}/d", "--jobs", "0"], 2, ("--jobs",)),
    "build-cache-shard-out-of-range": (
        ["build-cache", "synthetic", "--out", "{t}/c", "--shard", "3/2"],
        2,
        ("--shard", "3/2"),
    ),
    "export-push-bad-id": (["export", "{t}/run", "{t}/e", "--push", "not a repo"], 2, ("--push",)),
    # biodyn score: a binary file named like an annotation file
    "score-binary-csv-bi": (["score", "{t}/ref.list", "{t}/hyp.list"], 2, ("x.csv_bi", "UTF-8")),
}


def _fixture_tree(t: Path) -> None:
    (t / "cwd").mkdir()
    (t / "file").write_text("not a folder\n")
    (t / "empty").mkdir()
    (t / "bad.yaml").write_text("epochs: [1,\n")
    (t / "null.yaml").write_text("output_dir: null\n")
    (t / "overrides.yaml").write_text("model_overrides: 3\n")
    (t / "overrides_key.yaml").write_text("model_overrides: {nosuch: 1}\n")
    run = t / "run"  # a finished PRISM / train run
    (run / "checkpoints" / "best").mkdir(parents=True)
    (run / "results.json").write_text('{"test": {"accuracy": 0.5}}\n')
    (run / "config.json").write_text(json.dumps({"run": {"modality": "image", "mode": "single"}}) + "\n")
    (run / "config.yaml").write_text(  # a PRISM run's config (system, run) with a train section
        "system: prism\nrun:\n  modality: image\n  mode: single\ntrain:\n  out_dir: run\n"
    )
    ct = t / "ct" / "stage1"  # a finished CLD-Trans stage 1
    (ct / "checkpoints" / "last").mkdir(parents=True)
    (ct / "results.json").write_text('{"mode": "stage1"}\n')
    (ct / "log.jsonl").write_text('{"kind": "train", "step": 1}\n')
    for name, text in (
        ("corrupt_run", "train: [\n"),
        ("empty_config_run", ""),
        ("cldtrans_run", "mode: stage1\nablation: none\ntrain:\n  out_dir: x\n"),
    ):
        (t / name).mkdir()
        (t / name / "config.yaml").write_text(text)
    for name, content in (
        ("res_list", b"[]"),
        ("res_str", b'{"metrics": {"acc": "high"}}'),
        ("res_bin", b"\xff\xfe\x00metrics"),
    ):
        d = t / name / "exp" / "model" / "task" / "100pct"
        d.mkdir(parents=True)
        (d / "seed42.json").write_bytes(content)
    (t / "nedc").mkdir()
    (t / "nedc" / "x.csv_bi").write_bytes(bytes(range(256)) * 4)
    for lst in ("ref.list", "hyp.list"):
        (t / lst).write_text(f"{t / 'nedc' / 'x.csv_bi'}\n")


@pytest.fixture
def place(tmp_path, monkeypatch):
    _fixture_tree(tmp_path)
    # a relative default (./detections, ./results, ./cache) would land here
    monkeypatch.chdir(tmp_path / "cwd")
    monkeypatch.delenv("BIODYN_DEBUG", raising=False)
    return tmp_path


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_line_with_the_documented_code_and_writes_nothing(place, capsys, case):
    argv, code, words = CASES[case]
    argv = [a.replace("{t}", str(place)) for a in argv]
    before = tree(place)
    try:
        got, _, err = run_cli(argv, capsys)
    except SystemExit as e:  # argparse: a value of the wrong type (usage line + one error line, exit 2)
        got, err = e.code, capsys.readouterr().err
        line = [ln for ln in err.splitlines() if ": error:" in ln]
        assert len(line) == 1 and "Traceback" not in err, err
        line = line[0]
    else:
        line = one_error_line(err)
    assert got == code, (got, err)
    for w in words:
        assert w in line, (w, line)
    assert changed_outside(before, tree(place)) == []


def test_refused_resume_leaves_the_run_byte_identical(place, capsys):
    """The worst class: a resume with other settings must not rewrite the run's config first."""
    run = place / "run"
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    code, _, err = run_cli(["prism", "--output-dir", run, "--resume", "--modality", "ecg"], capsys)
    assert code == 4, err
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("argv", [["--help"], ["--print-config"]])
def test_cldtrans_help_and_print_config_work(argv, capsys, place):
    try:
        code, out, err = run_cli(["cldtrans", *argv], capsys)
    except SystemExit as e:  # argparse's --help
        (code, (out, err)) = e.code, capsys.readouterr()
    assert code == 0, err
    assert ("mode=stage1" in out) if argv == ["--help"] else ("train:" in out)


@pytest.mark.parametrize(
    ("command", "target"),
    [
        (["cldtrans", "train.max_steps=1"], "biodyn.systems.cldtrans.run_cldtrans"),
        (["prism", "--data", "synthetic"], "biodyn.systems.prism.run_prism"),
        (["train", "train.max_steps=1"], "biodyn.train.experiment.run_experiment"),
    ],
)
def test_interrupt_is_one_line_exit_130(place, capsys, monkeypatch, command, target):
    """Ctrl-C during the work: ``biodyn: error: interrupted`` and 130, not a 23-line KeyboardInterrupt."""
    import importlib

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    mod, _, name = target.rpartition(".")
    monkeypatch.setattr(importlib.import_module(mod), name, interrupted)
    out_flag = {
        "cldtrans": f"train.out_dir={place}/new",
        "train": f"train.out_dir={place}/new",
        "prism": f"--output-dir={place}/new",
    }[command[0]]
    code, _, err = run_cli([*command, out_flag], capsys)
    assert code == 130
    assert one_error_line(err) == "biodyn: error: interrupted"


def read_only_folder(kind: str, place: Path) -> Path:
    """A folder this process cannot write into. ``chmod``: a 0o555 folder (root writes there: skipped as root);
    ``sysfs``: ``/sys``, which refuses a new entry to root too (EPERM; the permission bits say writable, so
    only asking the OS finds out); ``procfs``: ``/proc`` (ENOENT for any new entry)."""
    if kind == "chmod":
        if os.geteuid() == 0:
            pytest.skip("root writes into a 0o555 folder (the sysfs/procfs cases run as root)")
        ro = place / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        return ro
    ro = Path({"sysfs": "/sys", "procfs": "/proc"}[kind])
    if not ro.is_dir():
        pytest.skip(f"no {ro} on this system")
    return ro


@pytest.mark.parametrize("kind", ["chmod", "sysfs", "procfs"])
@pytest.mark.parametrize(
    "argv",
    [
        ["prism", "--output-dir", "{ro}/biodyn-run"],
        ["detect", "{t}/a/x.edf", "--checkpoint", "{t}/ck", "--out", "{ro}/biodyn-det"],
        ["cldtrans", "train.out_dir={ro}/biodyn-run"],
        ["train", "train.out_dir={ro}/biodyn-run"],
        ["fewshot", "--out", "{ro}/biodyn-res"],
        ["focal", "--out", "{ro}/biodyn-res"],
        ["lags", "{t}/nosuch.edf", "--out", "{ro}/biodyn-lags"],
        ["build-cache", "synthetic", "--out", "{ro}/biodyn-cache"],
    ],
)
def test_read_only_target_is_exit_8_naming_the_folder(place, capsys, argv, kind):
    ro = read_only_folder(kind, place)
    try:
        argv = [a.replace("{ro}", str(ro)).replace("{t}", str(place)) for a in argv]
        before = tree(place)
        code, _, err = run_cli(argv, capsys)
        assert code == 8, err
        assert str(ro) in one_error_line(err)
        assert changed_outside(before, tree(place)) == []
        assert not (ro / "biodyn-run").exists() and not list(place.rglob(".~*"))
    finally:
        if kind == "chmod":
            ro.chmod(0o755)


def test_a_slow_recording_blames_its_rate_not_a_setting_never_chosen(place, capsys):
    """A 1 Hz EDF: the message says the recording's rate is too slow for the preset's band, not
    ``invalid l_freq=0.5`` (a setting the user never gave)."""
    from faultkit import write_tiny_edf

    p = write_tiny_edf(place / "slow.edf", seconds=120, fs=1.0)
    before = tree(place)
    code, _, err = run_cli(["lags", p, "--out", place / "o"], capsys)
    line = one_error_line(err)
    assert code == 3 and "slow.edf: sampled at 1 Hz" in line and "l_freq" not in line, line
    assert changed_outside(before, tree(place)) == []


def test_force_replaces_the_run_and_only_the_run(place, capsys):
    """``--force`` is the explicit way to replace a finished run: the old run's files go (a stale
    ``checkpoints/best`` must not outlive it), anything else in the folder stays."""
    run = place / "run"
    (run / "checkpoints" / "best" / "stale").write_text("old weights\n")
    (run / "notes.txt").write_text("mine\n")
    code, _, err = run_cli(
        [
            "prism",
            "--data",
            "synthetic",
            "--epochs",
            "1",
            "--limit",
            "16",
            "--hidden-dim",
            "8",
            "--num-layers",
            "1",
            "--num-heads",
            "1",
            "--batch-size",
            "4",
            "--no-progress",
            "--output-dir",
            run,
            "--force",
        ],
        capsys,
    )
    assert code == 0, err
    assert not (run / "checkpoints" / "best" / "stale").exists()
    assert (run / "notes.txt").read_text() == "mine\n"
    assert json.loads((run / "results.json").read_text())["command"] == "biodyn prism"
    assert "config.json" not in os.listdir(run)  # the old run's file of another writer is gone too
    assert "limit: 16" in (run / "config.yaml").read_text()  # the config is the new run's


def test_eval_points_a_moved_or_relative_run_at_its_folder(place):
    """``biodyn eval`` of a run trained with ``train.out_dir=runs/a`` (relative) and moved since: the config it
    evaluates with has ``train.out_dir`` = the folder as it is now, so ``build_data`` reads and builds
    ``RUN/cache``, never ``./runs/a/cache`` in the current folder or at the old place."""
    from omegaconf import OmegaConf

    from biodyn.train.config import ExperimentConfig
    from biodyn.train.evaluate import load_run_config

    run = place / "moved" / "b"
    run.mkdir(parents=True)
    cfg = OmegaConf.structured(ExperimentConfig)
    cfg.train.out_dir = "runs/a"
    (run / "config.yaml").write_text(OmegaConf.to_yaml(cfg))
    exp = load_run_config(run)
    assert exp.train.out_dir == str(run) and exp.data.cache_dir is None  # build_data: out_dir/cache


def test_an_empty_array_is_the_recordings_fault_not_start(place, capsys):
    import numpy as np

    p = place / "empty.npy"
    np.save(p, np.zeros((3, 0), np.float32))
    code, _, err = run_cli(["lags", p, "--fs", "100", "--channels", "a,b,c", "--out", place / "o"], capsys)
    line = one_error_line(err)
    assert code == 3 and "empty.npy: holds no samples" in line and "--start" not in line, line
