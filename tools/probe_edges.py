"""Bad-input probe of the application edge (issue 40): drives the real ``biodyn`` command in subprocesses
(``python -m biodyn ...`` and ``python -m biodyn.cldtrans ...``) over every class of the issue and every
example it lists, for every entry point it names, and writes the result table.

    python tools/probe_edges.py                  # every case; writes tests/faults/PROBE.md and probe_results.json
    python tools/probe_edges.py --only detect    # the cases whose id contains "detect" (no files written)
    python tools/probe_edges.py --list           # the case ids, their class and entry point

Each case runs from its own empty working folder, against a fixture tree of tiny inputs built first (tiny
EDF files written with ``biodyn.io.write_edf``, an EDF+D file with a 90 s gap, a tiny seizure detector, run
folders, CIFAR batches with labels outside the classes, seed files that are not result objects, ...). A case
passes when:

* a refused command prints exactly one ``biodyn: error:`` line on stderr (argparse's own usage error for a
  value of the wrong type), no traceback, and the words that name the culprit;
* it exits with the code docs/reliability.md documents for that error;
* the tree outside the case's target is byte-identical afterwards (every file's size and mtime and every
  folder of the fixture tree and of the working folder, before and after): a refused command writes nothing,
  a command that succeeds writes only into its target.

A real Ctrl-C is probed too: SIGINT to a training process once it has a checkpoint, then ``--resume``.
Cases that need the sample recordings (PTB-XL, EEGMMIDB under the data root) are reported as skipped when
they are absent; read-only targets use ``/sys`` (refused to root too) and, when not root, a 0o555 folder.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
OUT_MD = ROOT / "tests" / "faults" / "PROBE.md"
OUT_JSON = ROOT / "tests" / "faults" / "probe_results.json"
BIPOLAR = ["Fp1-F7", "F7-T7", "T7-P7", "P7-O1"]
TINY_PRISM = [
    "--data", "synthetic", "--limit", "16", "--batch-size", "4", "--hidden-dim", "8", "--num-layers", "1",
    "--num-heads", "1", "--no-progress", "--device", "cpu",
]  # fmt: skip


@dataclass
class Case:
    """One probe: ``argv`` after the program (``{t}`` = fixture root, ``{w}`` = this case's target folder,
    ``{sys}`` = a folder that refuses writes to root too); ``code`` the documented exit status; ``words`` that
    the error line (or, for a success, stderr+stdout) must hold; ``absent`` words it must not hold."""

    id: str
    cls: str
    entry: str
    argv: list[str]
    code: int
    words: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    module: str = "biodyn"  # or biodyn.cldtrans
    needs: str | None = None  # "ptbxl", "eegmmidb", "run:smoke", "nonroot"
    setup: Callable[[Path, Path], None] | None = None  # (fixture root, target folder)
    check: Callable[[Path, Path, str], str | None] | None = None  # extra check -> a failure or None
    sigint: Callable[[Path, Path], bool] | None = None  # send SIGINT once this is true (a real Ctrl-C)
    warn: tuple[str, ...] = ()  # words a `biodyn: warning:` line must hold (a success with a warning)


@dataclass
class Result:
    id: str
    cls: str
    entry: str
    expected: int
    got: int | None
    status: str  # pass | fail | skipped
    why: str = ""
    line: str = ""
    seconds: float = 0.0
    argv: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------------------ fixtures


def _edf(path: Path, channels, seconds=6.0, fs=256.0, seed=0) -> Path:
    import numpy as np

    from biodyn.io import write_edf
    from biodyn.types import Recording

    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((len(channels), int(seconds * fs))) * 20).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_edf(path, Recording(x, fs, list(channels), [], {"units": ["uV"] * len(channels)}))
    return path


def _edf_plus_d_with_gap(path: Path) -> Path:
    """A 6 s EDF+ whose fourth record starts 90 s after the third ends (EDF+D, time-keeping annotations)."""
    from biodyn.io import read_edf_header

    _edf(path, ["Fp1", "C3", "O2"], seconds=6, fs=64.0)
    hdr = read_edf_header(path)
    raw = bytearray(path.read_bytes())
    raw[192:236] = b"EDF+D".ljust(44)
    s = hdr.labels.index("EDF Annotations")
    start, size = sum(hdr.samples_per_record[:s]) * 2, hdr.samples_per_record[s] * 2
    for k, t in enumerate([0, 1, 2, 93, 94, 95]):
        tal = f"+{t:g}".encode() + b"\x14\x14\x00"
        at = hdr.header_bytes + k * hdr.record_bytes + start
        raw[at : at + size] = tal.ljust(size, b"\x00")
    path.write_bytes(bytes(raw))
    return path


def _detector(run: Path) -> None:
    """A tiny seizure detector run folder (checkpoints/best with the data spec), as the tests build one."""
    import torch

    from biodyn.models import create_model
    from biodyn.signal.config import SEIZURE_EEG
    from biodyn.train.checkpoint import save_checkpoint

    small = {
        "tcn_channels": [4, 4], "node_dim": 8, "node_layers": 1, "edge_dim": 4, "edge_layers": 1, "d_state": 4,
        "edge_d_state": 4, "mamba_headdim": 4, "pe_k": 4, "decoder_dim": 8, "tcn_stride": 4,
    }  # fmt: skip
    torch.manual_seed(0)
    mcfg = {"n_chans": 4, "n_outputs": 1, "n_times": 512, "sfreq": 256.0, **small}
    model = create_model("seizure_tiny", **mcfg)
    spec = {"channels": BIPOLAR, "fs": 256.0, "window_s": 2.0, "preprocess": SEIZURE_EEG.to_dict()}
    save_checkpoint(
        run / "checkpoints" / "best",
        model=model,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        state={"model_name": "seizure_tiny", "model_config": mcfg, "step": 0, "extra": {"data": spec}},
    )
    (run / "results.json").write_text(json.dumps({"model": "seizure_tiny", "metrics": {}}) + "\n")


def _cifar(folder: Path, bad_label: int) -> None:
    import numpy as np

    d = folder / "cifar10" / "cifar-10-batches-py"
    d.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in ("data_batch_1", "test_batch"):
        labels = [i % 10 for i in range(20)]
        labels[7] = bad_label
        batch = {b"data": rng.integers(0, 255, (20, 3072), dtype=np.uint8), b"labels": labels}
        (d / name).write_bytes(pickle.dumps(batch, protocol=2))


def _env() -> dict:
    env = {**os.environ, "PYTHONPATH": str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("BIODYN_DEBUG", None)
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def _smoke_run(t: Path) -> str | None:
    """A finished ``biodyn train experiment=smoke`` run trained with the relative default ``out_dir``
    (``runs/smoke``) in ``t/fx/trained_here`` and then moved to ``t/fx/moved_smoke``; None when it cannot be
    trained here (no PTB-XL sample)."""
    where = t / "fx" / "trained_here"
    where.mkdir(parents=True)
    p = subprocess.run(
        [sys.executable, "-m", "biodyn", "train", "experiment=smoke", "train.max_steps=2", "train.eval_every=1",
         "train.ckpt_every=1", "train.log_every=1"],
        cwd=where, env=_env(), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    if p.returncode != 0:
        shutil.rmtree(where)
        return p.stderr.strip().splitlines()[-1] if p.stderr.strip() else f"exit {p.returncode}"
    shutil.move(str(where / "runs" / "smoke"), str(t / "fx" / "moved_smoke"))
    shutil.rmtree(where / "runs")
    return None


def build_fixture(t: Path, smoke: bool = True) -> dict:
    """The shared inputs under ``t/fx`` (cases must leave them as they are); returns what is available."""
    import numpy as np

    fx = t / "fx"
    fx.mkdir(parents=True)
    (fx / "file").write_text("not a folder\n")
    (fx / "empty").mkdir()
    (fx / "bad.yaml").write_text("epochs: [1,\n")
    (fx / "null.yaml").write_text("output_dir: null\n")
    (fx / "overrides.yaml").write_text("model_overrides: 3\n")
    (fx / "overrides_key.yaml").write_text("model_overrides: {nosuch: 1}\n")
    (fx / "overrides_val.yaml").write_text("model_overrides: {dropout: abc}\n")
    (fx / "seed_neg.yaml").write_text("seed: -3\n")
    (fx / "notutf8.yaml").write_bytes(b"\xff\xfe epochs: 1\n")
    run = fx / "run"  # a finished PRISM run
    (run / "checkpoints" / "best").mkdir(parents=True)
    (run / "results.json").write_text('{"test": {"accuracy": 0.5}}\n')
    (run / "config.yaml").write_text(
        "system: prism\nrun:\n  modality: image\n  mode: single\ntrain:\n  out_dir: run\n"
    )
    ct = fx / "ct" / "stage1"  # a finished CLD-Trans stage 1
    (ct / "checkpoints" / "last").mkdir(parents=True)
    (ct / "results.json").write_text('{"mode": "stage1"}\n')
    (ct / "log.jsonl").write_text('{"kind": "train", "step": 1}\n')
    for name, text in (
        ("corrupt_run", "train: [\n"),
        ("empty_config_run", ""),
        ("cldtrans_run", "mode: stage1\nablation: none\ntrain:\n  out_dir: x\n"),  # written before `system:`
        ("cldtrans_sys_run", "system: cldtrans\nmode: stage1\nablation: none\ntrain:\n  out_dir: x\n"),
        ("binary_config_run", "\udcff"),
    ):
        (fx / name).mkdir()
        (fx / name / "config.yaml").write_bytes(text.encode("utf-8", "surrogateescape"))
    for name, content in (
        ("res_list", b"[]"),
        ("res_str", b'{"metrics": {"acc": "high"}}'),
        ("res_bin", b"\xff\xfe\x00metrics"),
    ):
        d = fx / name / "exp" / "model" / "task" / "100pct"
        d.mkdir(parents=True)
        (d / "seed42.json").write_bytes(content)
    (fx / "nedc").mkdir()
    (fx / "nedc" / "x.csv_bi").write_bytes(bytes(range(256)) * 4)
    for lst in ("ref.list", "hyp.list"):
        (fx / lst).write_text(f"{fx / 'nedc' / 'x.csv_bi'}\n")
    (fx / "empty.list").write_text("# nothing\n")
    _edf(fx / "a" / "x.edf", ["Fp1", "F7", "T7", "P7", "O1"])
    _edf(fx / "b" / "x.edf", ["Fp1", "F7", "T7", "P7", "O1"], seed=1)
    _edf(fx / "good.edf", ["Fp1", "F7", "T7", "P7", "O1"], seed=2)
    _edf(fx / "nochan.edf", ["Cz", "Pz", "Oz"], seed=3)
    _edf(fx / "dup.edf", ["Fp1", "F7", "T7", "P7", "O1", "O1"], seed=4)
    _edf(fx / "slow.edf", ["Fp1", "C3", "O2"], seconds=120, fs=1.0)
    _edf_plus_d_with_gap(fx / "gap.edf")
    np.save(fx / "empty.npy", np.zeros((3, 0), np.float32))
    _detector(fx / "ck")
    _cifar(fx / "cifar99", 99)
    _cifar(fx / "cifarneg", -1)
    why = _smoke_run(t) if smoke else "not needed"
    if why:
        print(f"no smoke run: {why}", flush=True)
    have = {"smoke": why is None}
    from biodyn.data_root import data_root

    root = data_root()
    have["eegmmidb"] = bool(root and (root / "eegmmidb").exists())
    have["ptbxl"] = bool(root and (root / "ptbxl").exists())
    return have


# ------------------------------------------------------------------------------------------------ checks


def _has_file(rel: str) -> Callable[[Path, Path, str], str | None]:
    def check(t: Path, w: Path, out: str) -> str | None:
        return None if (w / rel).is_file() else f"{rel} not written in the target"

    return check


def _checkpoint_step(run: Path) -> int:
    try:
        return int(json.loads((run / "checkpoints" / "last" / "state.json").read_text())["step"])
    except (OSError, ValueError, KeyError):
        return -1


def _train_steps(run: Path) -> list[int]:
    try:
        rows = [json.loads(x) for x in (run / "log.jsonl").read_text().splitlines() if x.strip()]
    except (OSError, ValueError):
        return []
    return [r["step"] for r in rows if r.get("kind") == "train"]


def _past_checkpoint(run_of: Callable[[Path], Path], after_s: float) -> Callable[[Path, Path], bool]:
    """True ``after_s`` seconds after the run's first checkpoint appeared (the log is flushed at checkpoints,
    so the steps on disk never run ahead of the checkpoint: the wait puts the interrupt mid-epoch)."""
    seen: dict[str, float] = {}

    def ready(t: Path, w: Path) -> bool:
        if _checkpoint_step(run_of(w)) <= 0:
            return False
        first = seen.setdefault("at", time.monotonic())
        return time.monotonic() - first >= after_s

    return ready


def _interrupted_cleanly(run_of: Callable[[Path], Path]) -> Callable[[Path, Path, str], str | None]:
    def check(t: Path, w: Path, out: str) -> str | None:
        run = run_of(w)
        left = [p.name for p in w.rglob("*") if any(m in p.name for m in (".~", ".part", ".tmp", ".old"))]
        if left:
            return f"half-written files left: {left}"
        if (run / "results.json").exists():
            return "an interrupted run wrote results.json"
        if _checkpoint_step(run) <= 0:
            return "no checkpoint to resume from"
        return None

    return check


# ------------------------------------------------------------------------------------------------ cases


def C(id, cls, entry, argv, code, *words, **kw) -> Case:
    return Case(id, cls, entry, list(argv), code, tuple(words), **kw)


def cases() -> list[Case]:
    out: list[Case] = []
    add = out.append
    # -- data lost or left inconsistent
    add(
        C(
            "prism-resume-other-modality",
            "data lost",
            "prism",
            ["prism", "--output-dir", "{w}/run", "--resume", "--modality", "ecg"],
            4,
            "modality='image'",
            "'ecg'",
            setup=lambda t, w: shutil.copytree(t / "fx" / "run", w / "run"),
            check=_unchanged_copy("run"),
        )
    )
    add(
        C(
            "prism-existing-run",
            "data lost",
            "prism",
            ["prism", "--output-dir", "{t}/fx/run"],
            2,
            "already holds a run",
            "--resume",
            "--force",
        )
    )
    add(
        C(
            "prism-existing-run-synthetic",
            "data lost",
            "prism",
            ["prism", *TINY_PRISM, "--output-dir", "{t}/fx/run"],
            2,
            "already holds a run",
        )
    )
    add(
        C(
            "train-existing-run",
            "data lost",
            "train",
            ["train", "train.out_dir={t}/fx/run"],
            2,
            "already holds a run",
            "train.resume=true",
            "--force",
        )
    )
    add(
        C(
            "cldtrans-existing-stage",
            "data lost",
            "python -m biodyn.cldtrans",
            ["train.out_dir={t}/fx/ct"],
            2,
            "stage1 folder",
            "already holds a run",
            "train.resume=true",
            "--force",
            module="biodyn.cldtrans",
        )
    )
    add(
        C(
            "biodyn-cldtrans-existing-stage",
            "data lost",
            "cldtrans",
            ["cldtrans", "train.out_dir={t}/fx/ct"],
            2,
            "already holds a run",
        )
    )
    add(
        C(
            "cldtrans-stage2-existing-stage",
            "data lost",
            "python -m biodyn.cldtrans",
            ["mode=stage2", "train.out_dir={w}/ct"],
            2,
            "stage2 folder",
            "already holds a run",
            module="biodyn.cldtrans",
            setup=_ct_both_stages,
            check=_unchanged_copy("ct"),
        )
    )
    add(
        C(
            "detect-duplicate-names",
            "data lost",
            "detect",
            ["detect", "{t}/fx/a/x.edf", "{t}/fx/b/x.edf", "--checkpoint", "{t}/fx/ck", "--out", "{w}/o"],
            2,
            "a/x.edf",
            "b/x.edf",
            "same outputs",
        )
    )
    # -- written outside the target
    add(
        C(
            "eval-moved-relative-run",
            "outside target",
            "eval",
            ["eval", "{w}/run", "--split", "test"],
            0,
            needs="smoke",
            setup=_copy_smoke_without_cache,
            check=_cache_built_in_run,
        )
    )
    add(
        C(
            "eval-multilabel-split-dev",
            "traceback",
            "eval",
            ["eval", "{w}/run", "--split", "dev"],
            0,
            needs="smoke",
            setup=_copy_smoke,
        )
    )
    add(
        C(
            "eval-empty-config",
            "outside target",
            "eval",
            ["eval", "{t}/fx/empty_config_run"],
            2,
            "holds no run config",
        )
    )
    add(
        C(
            "fewshot-bad-budget",
            "outside target",
            "fewshot",
            ["fewshot", "--budgets", "2"],
            2,
            "--budgets",
            "2",
        )
    )
    add(
        C(
            "fewshot-bad-budget-zero",
            "outside target",
            "fewshot",
            ["fewshot", "--budgets", "0"],
            2,
            "--budgets",
        )
    )
    add(
        C(
            "fewshot-help-names-cache",
            "outside target",
            "fewshot",
            ["fewshot", "--help"],
            0,
            "--cache-dir",
            "OUT/cache",
        )
    )
    # -- bad input accepted, result silently wrong
    for v in ("2", "-1", "0", "1", "nan"):
        add(
            C(
                f"detect-threshold-{v}",
                "silently wrong",
                "detect",
                ["detect", "{t}/fx/a/x.edf", "--checkpoint", "{t}/fx/ck", "--threshold", v],
                2,
                "--threshold",
            )
        )
    add(
        C(
            "szcore-threshold-2",
            "silently wrong",
            "szcore",
            ["szcore", "{t}/fx/good.edf", "{w}/o.tsv", "--checkpoint", "{t}/fx/ck", "--threshold", "2"],
            2,
            "threshold",
        )
    )
    for v in ("-1", "0", "nan"):
        add(C(f"focal-span-{v}", "silently wrong", "focal", ["focal", "--span-s", v], 2, "--span-s"))
    add(
        C(
            "focal-tau-max-negative",
            "silently wrong",
            "focal",
            ["focal", "--tau-max-s", "-2"],
            2,
            "--tau-max-s",
        )
    )
    add(
        C(
            "focal-resample-zero",
            "silently wrong",
            "focal",
            ["focal", "--resample-hz", "0"],
            2,
            "--resample-hz",
        )
    )
    add(
        C(
            "prism-cifar-label-99",
            "silently wrong",
            "prism",
            ["prism", "--data-root", "{t}/fx/cifar99", "--epochs", "1", "--output-dir", "{w}/run"],
            3,
            "data_batch_1",
            "label 99",
        )
    )
    add(
        C(
            "prism-cifar-label-neg",
            "silently wrong",
            "prism",
            ["prism", "--data-root", "{t}/fx/cifarneg", "--epochs", "1", "--output-dir", "{w}/run"],
            3,
            "data_batch_1",
            "label -1",
        )
    )
    add(
        C(
            "cldtrans-unknown-key",
            "silently wrong",
            "python -m biodyn.cldtrans",
            ["+train.nosuch=1", "train.out_dir={w}/ct"],
            2,
            "train.nosuch",
            module="biodyn.cldtrans",
        )
    )
    add(
        C(
            "cldtrans-unknown-model-key",
            "silently wrong",
            "python -m biodyn.cldtrans",
            ["model.nope=1", "train.out_dir={w}/ct"],
            2,
            "nope",
            module="biodyn.cldtrans",
        )
    )
    add(
        C(
            "train-unknown-key",
            "silently wrong",
            "train",
            ["train", "+train.nosuch=1", "train.out_dir={w}/r"],
            2,
            "nosuch",
        )
    )
    add(
        C(
            "detect-edf-plus-d-gap",
            "silently wrong",
            "detect",
            ["detect", "{t}/fx/gap.edf", "--checkpoint", "{t}/fx/ck", "--out", "{w}/o"],
            3,
            "gap.edf",
            "gap of 90 s",
        )
    )
    add(
        C(
            "lags-edf-plus-d-gap",
            "silently wrong",
            "lags",
            ["lags", "{t}/fx/gap.edf", "--out", "{w}/o"],
            3,
            "gap.edf",
            "gap of 90 s",
        )
    )
    add(
        C(
            "szcore-edf-plus-d-gap",
            "silently wrong",
            "szcore",
            ["szcore", "{t}/fx/gap.edf", "{w}/o.tsv", "--checkpoint", "{t}/fx/ck"],
            3,
            "gap.edf",
            "gap",
        )
    )
    add(
        C(
            "info-edf-plus-d-gap-not-silent",
            "silently wrong",
            "lags",
            ["lags", "{t}/fx/gap.edf", "--out", "{w}/o", "--json", "{w}/o.json"],
            3,
            "gap",
        )
    )
    # -- validated too late (refused before any cache, config or output)
    add(
        C(
            "cldtrans-max-steps-0",
            "too late",
            "python -m biodyn.cldtrans",
            ["train.max_steps=0", "train.out_dir={w}/ct"],
            2,
            "train.max_steps",
            module="biodyn.cldtrans",
        )
    )
    add(
        C(
            "cldtrans-lr-negative",
            "too late",
            "python -m biodyn.cldtrans",
            ["train.lr=-1", "train.out_dir={w}/ct"],
            2,
            "train.lr",
            module="biodyn.cldtrans",
        )
    )
    add(
        C(
            "cldtrans-device-cuda99",
            "too late",
            "python -m biodyn.cldtrans",
            ["train.device=cuda:99", "train.out_dir={w}/ct"],
            2,
            "train.device",
            module="biodyn.cldtrans",
        )
    )
    add(
        C(
            "train-device-cuda99",
            "too late",
            "train",
            ["train", "train.device=cuda:99", "train.out_dir={w}/r"],
            2,
            "train.device",
        )
    )
    add(
        C(
            "train-device-tpu",
            "too late",
            "train",
            ["train", "train.device=tpu", "train.out_dir={w}/r"],
            2,
            "train.device",
        )
    )
    add(
        C(
            "train-max-steps-0",
            "too late",
            "train",
            ["train", "train.max_steps=0", "train.out_dir={w}/r"],
            2,
            "train.max_steps",
        )
    )
    add(
        C(
            "train-batch-negative",
            "too late",
            "train",
            ["train", "train.batch_size=-4", "train.out_dir={w}/r"],
            2,
            "train.batch_size",
        )
    )
    add(
        C(
            "prism-device-cuda3",
            "too late",
            "prism",
            ["prism", "--device", "cuda:3", "--output-dir", "{w}/run"],
            2,
            "--device",
            "cuda:3",
        )
    )
    add(
        C(
            "prism-device-tpu",
            "too late",
            "prism",
            ["prism", "--device", "tpu", "--output-dir", "{w}/run"],
            2,
            "--device",
        )
    )
    add(
        C(
            "focal-device-cuda9",
            "too late",
            "focal",
            ["focal", "--device", "cuda:9", "--out", "{w}/res"],
            2,
            "--device",
        )
    )
    add(
        C(
            "cldtrans-stage2-no-stage1",
            "exit code",
            "python -m biodyn.cldtrans",
            ["mode=stage2", "train.out_dir={w}/ct"],
            2,
            "stage-1 checkpoint",
            "mode=stage2",
            module="biodyn.cldtrans",
        )
    )
    add(
        C(
            "cldtrans-stage2-init-missing",
            "exit code",
            "python -m biodyn.cldtrans",
            ["mode=stage2", "init_from={t}/fx/nosuch", "train.out_dir={w}/ct"],
            2,
            "init_from",
            module="biodyn.cldtrans",
        )
    )
    # -- tracebacks instead of one line
    add(
        C(
            "prism-config-bad-yaml",
            "traceback",
            "prism",
            ["prism", "--config", "{t}/fx/bad.yaml"],
            2,
            "bad.yaml",
            "YAML",
        )
    )
    add(
        C(
            "prism-config-not-utf8",
            "traceback",
            "prism",
            ["prism", "--config", "{t}/fx/notutf8.yaml"],
            2,
            "notutf8.yaml",
        )
    )
    add(
        C(
            "prism-config-missing",
            "traceback",
            "prism",
            ["prism", "--config", "{t}/fx/nosuch.yaml"],
            2,
            "nosuch.yaml",
        )
    )
    add(
        C(
            "prism-config-output-dir-null",
            "traceback",
            "prism",
            ["prism", "--config", "{t}/fx/null.yaml"],
            2,
            "output_dir",
        )
    )
    add(
        C(
            "prism-overrides-type",
            "traceback",
            "prism",
            ["prism", "--config", "{t}/fx/overrides.yaml"],
            2,
            "model_overrides",
        )
    )
    add(
        C(
            "prism-overrides-key",
            "traceback",
            "prism",
            ["prism", "--config", "{t}/fx/overrides_key.yaml", "--output-dir", "{w}/run"],
            2,
            "nosuch",
        )
    )
    add(
        C(
            "prism-overrides-value",
            "traceback",
            "prism",
            ["prism", "--config", "{t}/fx/overrides_val.yaml", "--output-dir", "{w}/run"],
            2,
            "dropout",
        )
    )
    add(C("prism-seed-negative", "traceback", "prism", ["prism", "--seed", "-1"], 2, "seed", "-1"))
    add(
        C(
            "prism-config-seed-negative",
            "traceback",
            "prism",
            ["prism", "--config", "{t}/fx/seed_neg.yaml"],
            2,
            "seed",
        )
    )
    add(
        C(
            "cldtrans-out-dir-file",
            "traceback",
            "python -m biodyn.cldtrans",
            ["train.out_dir={t}/fx/file"],
            8,
            "train.out_dir",
            "is a file",
            module="biodyn.cldtrans",
        )
    )
    add(
        C(
            "cldtrans-out-dir-under-file",
            "traceback",
            "python -m biodyn.cldtrans",
            ["train.out_dir={t}/fx/file/x"],
            8,
            "is a file",
            module="biodyn.cldtrans",
        )
    )
    add(
        C(
            "cldtrans-cache-dir-file",
            "traceback",
            "python -m biodyn.cldtrans",
            ["data.cache_dir={t}/fx/file", "train.out_dir={w}/ct"],
            8,
            "data.cache_dir",
            module="biodyn.cldtrans",
        )
    )
    add(C("eval-cldtrans-run", "traceback", "eval", ["eval", "{t}/fx/cldtrans_run"], 2, "CLD-Trans"))
    add(
        C(
            "eval-cldtrans-run-no-checkpoint",
            "traceback",
            "eval",
            ["eval", "{t}/fx/cldtrans_sys_run"],
            4,
            "checkpoint",
        )
    )
    add(C("eval-corrupt-config", "traceback", "eval", ["eval", "{t}/fx/corrupt_run"], 2, "config.yaml"))
    add(C("eval-binary-config", "traceback", "eval", ["eval", "{t}/fx/binary_config_run"], 2, "config.yaml"))
    add(C("eval-no-config", "traceback", "eval", ["eval", "{t}/fx/empty"], 2, "no config.yaml"))
    add(C("eval-missing-run", "missing path", "eval", ["eval", "{t}/fx/nosuch"], 2, "nosuch"))
    add(
        C(
            "eval-json-under-file",
            "path is a file",
            "eval",
            ["eval", "{w}/run", "--json", "{t}/fx/file/x.json"],
            8,
            "--json",
            "is a file",
            needs="smoke",
            setup=_copy_smoke,
        )
    )
    add(
        C(
            "eval-json-read-only-sys",
            "read-only target",
            "eval",
            ["eval", "{w}/run", "--json", "{sys}/biodyn-probe/e.json"],
            8,
            "/sys",
            needs="smoke",
            setup=_copy_smoke,
        )
    )
    add(
        C(
            "eval-checkpoint-unknown",
            "out of range",
            "eval",
            ["eval", "{t}/fx/corrupt_run", "--checkpoint", "x"],
            2,
            "--checkpoint",
        )
    )
    add(
        C(
            "report-list",
            "traceback",
            "report",
            ["report", "{t}/fx/res_list", "--out", "{w}/rep"],
            2,
            "seed42.json",
            "list",
        )
    )
    add(
        C(
            "report-string-metric",
            "traceback",
            "report",
            ["report", "{t}/fx/res_str", "--out", "{w}/rep"],
            2,
            "seed42.json",
            "acc",
        )
    )
    add(
        C(
            "report-not-utf8",
            "traceback",
            "report",
            ["report", "{t}/fx/res_bin", "--out", "{w}/rep"],
            2,
            "seed42.json",
            "UTF-8",
        )
    )
    add(
        C(
            "report-seeds-type",
            "traceback",
            "report",
            ["report", "{t}/fx/res_str", "--seeds", "42,abc"],
            2,
            "--seeds",
        )
    )
    add(C("report-missing", "missing path", "report", ["report", "{t}/fx/nosuch"], 2, "nosuch"))
    add(
        C(
            "report-out-is-file",
            "path is a file",
            "report",
            ["report", "{t}/fx/res_str", "--out", "{t}/fx/file"],
            8,
            "is a file",
        )
    )
    add(
        C(
            "score-binary-csv-bi",
            "traceback",
            "score",
            ["score", "{t}/fx/ref.list", "{t}/fx/hyp.list"],
            2,
            "x.csv_bi",
            "UTF-8",
        )
    )
    add(
        C(
            "score-missing-list",
            "missing path",
            "score",
            ["score", "{t}/fx/nosuch.list", "{t}/fx/hyp.list"],
            2,
            "nosuch.list",
        )
    )
    add(
        C(
            "score-empty-list",
            "rough message",
            "score",
            ["score", "{t}/fx/empty.list", "{t}/fx/empty.list"],
            2,
            "empty.list",
        )
    )
    add(
        C(
            "score-method-unknown",
            "bad type",
            "score",
            ["score", "{t}/fx/ref.list", "{t}/fx/hyp.list", "--method", "nosuch"],
            2,
            "--method",
        )
    )
    add(
        C(
            "score-json-under-file",
            "path is a file",
            "score",
            ["score", "{t}/fx/ref.list", "{t}/fx/hyp.list", "--json", "{t}/fx/file/s.json"],
            8,
            "--json",
            "is a file",
        )
    )
    add(
        C(
            "detect-batch-size-0",
            "traceback",
            "detect",
            ["detect", "{t}/fx/a/x.edf", "--checkpoint", "{t}/fx/ck", "--batch-size", "0"],
            2,
            "--batch-size",
        )
    )
    add(
        C(
            "szcore-batch-size-0",
            "traceback",
            "szcore",
            ["szcore", "{t}/fx/good.edf", "{w}/o.tsv", "--checkpoint", "{t}/fx/ck", "--batch-size", "0"],
            2,
            "batch",
        )
    )
    add(
        C(
            "focal-weights-no-name",
            "traceback",
            "focal",
            ["focal", "--weights", "{t}/fx/empty"],
            2,
            "--weights",
            "NAME=FOLDER",
        )
    )
    add(C("focal-weights-twice", "duplicate inputs", "focal",
          ["focal", "--methods", "cldtrans", "--weights", "cldtrans={t}/fx/empty", "--weights",
           "cldtrans={t}/fx/ck"], 2, "cldtrans"))  # fmt: skip
    add(C("focal-seeds-type", "traceback", "focal", ["focal", "--seeds", "4x2"], 2, "--seeds", "4x2"))
    add(
        C(
            "fewshot-datasets-unknown",
            "traceback",
            "fewshot",
            ["fewshot", "--datasets", "nosuch"],
            2,
            "--datasets",
            "nosuch",
        )
    )
    add(
        C(
            "fewshot-root-no-name",
            "traceback",
            "fewshot",
            ["fewshot", "--root", "{t}/fx/empty"],
            2,
            "--root",
            "DATASET=FOLDER",
        )
    )
    add(
        C(
            "fewshot-root-unknown",
            "traceback",
            "fewshot",
            ["fewshot", "--root", "nosuch={t}/fx/empty"],
            2,
            "nosuch",
        )
    )
    add(
        C(
            "fewshot-weights-no-name",
            "traceback",
            "fewshot",
            ["fewshot", "--weights", "{t}/fx/empty"],
            2,
            "--weights",
        )
    )
    add(
        C(
            "fewshot-budget-unit-no-name",
            "traceback",
            "fewshot",
            ["fewshot", "--budget-unit", "window"],
            2,
            "--budget-unit",
        )
    )
    add(
        C(
            "fewshot-datasets-twice",
            "duplicate inputs",
            "fewshot",
            ["fewshot", "--datasets", "chbmit,chbmit"],
            2,
            "--datasets",
        )
    )
    add(C("fewshot-budgets-type", "bad type", "fewshot", ["fewshot", "--budgets", "0.1,abc"], 2, "--budgets"))
    add(C("fewshot-seeds-type", "bad type", "fewshot", ["fewshot", "--seeds", "x"], 2, "--seeds"))
    # -- exit codes that differ from docs/reliability.md
    add(
        C(
            "prism-empty-data",
            "exit code",
            "prism",
            ["prism", "--data-root", "{t}/fx/empty", "--output-dir", "{w}/run"],
            6,
            "empty",
        )
    )
    add(
        C(
            "prism-missing-data",
            "exit code",
            "prism",
            ["prism", "--data-root", "{t}/fx/nosuch", "--output-dir", "{w}/run"],
            6,
            "nosuch",
        )
    )
    add(
        C(
            "focal-empty-data",
            "exit code",
            "focal",
            ["focal", "--excerpts", "--data", "{t}/fx/empty", "--out", "{w}/res"],
            6,
            "empty",
        )
    )
    add(
        C(
            "focal-missing-data",
            "exit code",
            "focal",
            ["focal", "--data", "{t}/fx/nosuch", "--out", "{w}/res"],
            6,
            "nosuch",
        )
    )
    add(C("detect-one-file-fails", "exit code", "detect",
          ["detect", "{t}/fx/good.edf", "{t}/fx/nochan.edf", "--checkpoint", "{t}/fx/ck", "--out", "{w}/o",
           "--no-png", "--no-progress"], 3, "1 of 2 recording(s) failed", "nochan.edf",
          check=_has_file("o/good.csv_bi")))  # fmt: skip
    add(
        C(
            "detect-missing-recording",
            "missing path",
            "detect",
            ["detect", "{t}/fx/nosuch.edf", "--checkpoint", "{t}/fx/ck", "--out", "{w}/o", "--no-png"],
            3,
            "nosuch.edf",
        )
    )
    add(
        C(
            "info-missing-root",
            "exit code",
            "info",
            ["info", "chbmit", "--root", "{t}/fx/nosuch"],
            6,
            "nosuch",
        )
    )
    add(C("info-empty-root", "exit code", "info", ["info", "chbmit", "--root", "{t}/fx/empty"], 6))
    add(
        C(
            "build-cache-unknown-record",
            "exit code",
            "build-cache",
            ["build-cache", "synthetic", "--out", "{w}/c", "--records", "nosuch"],
            6,
            "nosuch",
        )
    )
    add(
        C(
            "download-tusz",
            "exit code",
            "download",
            ["download", "tusz", "--to", "{w}/d"],
            2,
            "tusz",
            "access",
        )
    )
    # -- rough messages
    add(
        C(
            "cldtrans-help",
            "rough message",
            "python -m biodyn.cldtrans",
            ["--help"],
            0,
            "mode=stage1",
            module="biodyn.cldtrans",
        )
    )
    add(
        C(
            "cldtrans-print-config",
            "rough message",
            "python -m biodyn.cldtrans",
            ["--print-config"],
            0,
            "train:",
            module="biodyn.cldtrans",
        )
    )
    add(
        C(
            "cldtrans-not-key-value",
            "rough message",
            "python -m biodyn.cldtrans",
            ["stage1"],
            2,
            "key=value",
            module="biodyn.cldtrans",
        )
    )
    add(
        C(
            "detect-out-is-file",
            "rough message",
            "detect",
            ["detect", "{t}/fx/a/x.edf", "--checkpoint", "{t}/fx/ck", "--out", "{t}/fx/file"],
            8,
            "--out",
            "is a file",
            absent=("File exists",),
        )
    )
    add(
        C(
            "prism-out-is-file",
            "rough message",
            "prism",
            ["prism", *TINY_PRISM, "--output-dir", "{t}/fx/file"],
            8,
            "--output-dir",
            "is a file",
            absent=("File exists",),
        )
    )
    add(
        C(
            "lags-slow-recording",
            "rough message",
            "lags",
            ["lags", "{t}/fx/slow.edf", "--out", "{w}/o"],
            3,
            "slow.edf",
            "1 Hz",
            absent=("l_freq",),
        )
    )
    add(
        C(
            "lags-empty-array",
            "rough message",
            "lags",
            ["lags", "{t}/fx/empty.npy", "--fs", "100", "--channels", "a,b,c", "--out", "{w}/o"],
            3,
            "empty.npy",
            "no samples",
            absent=("--start",),
        )
    )
    add(
        C(
            "detect-post-negative",
            "rough message",
            "detect",
            ["detect", "{t}/fx/a/x.edf", "--checkpoint", "{t}/fx/ck", "--post", "min_duration_s=-5"],
            2,
            "min_duration_s=-5",
        )
    )
    add(
        C(
            "detect-post-unknown",
            "rough message",
            "detect",
            ["detect", "{t}/fx/a/x.edf", "--checkpoint", "{t}/fx/ck", "--post", "nosuch=1"],
            2,
            "nosuch=1",
        )
    )
    add(
        C(
            "detect-post-not-pair",
            "rough message",
            "detect",
            ["detect", "{t}/fx/a/x.edf", "--checkpoint", "{t}/fx/ck", "--post", "min_duration_s"],
            2,
            "min_duration_s",
        )
    )
    add(
        C(
            "prism-joint-modality",
            "rough message",
            "prism",
            ["prism", "--mode", "joint", "--modality", "audio", "--output-dir", "{w}/run"],
            2,
            "--modality audio",
            "joint",
        )
    )
    add(
        C(
            "eval-post-non-seizure",
            "rough message",
            "eval",
            ["eval", "{w}/run", "--post", "min_duration_s=1"],
            2,
            "--post",
            needs="smoke",
            setup=_copy_smoke,
        )
    )
    add(
        C(
            "focal-weights-not-run",
            "rough message",
            "focal",
            ["focal", "--methods", "ldsem", "--weights", "cldtrans={t}/fx/empty"],
            2,
            "--weights",
            "cldtrans",
            "--methods",
        )
    )
    add(
        C(
            "detect-duplicate-channels-warned",
            "rough message",
            "detect",
            [
                "detect",
                "{t}/fx/dup.edf",
                "--checkpoint",
                "{t}/fx/ck",
                "--out",
                "{w}/o",
                "--no-png",
                "--no-progress",
            ],
            0,
            warn=("dup.edf", "O1"),
        )
    )
    add(
        C(
            "read-only-message-names-target",
            "rough message",
            "prism",
            ["prism", "--output-dir", "{sys}/biodyn-probe"],
            8,
            "/sys",
            absent=(".~", ".tmp"),
        )
    )
    # -- the matrix: each entry point x bad type, out of range, missing path, path is a file, read-only target
    add(C("prism-epochs-type", "bad type", "prism", ["prism", "--epochs", "x"], 2, "--epochs"))
    add(
        C(
            "prism-epochs-zero",
            "out of range",
            "prism",
            ["prism", "--epochs", "0", "--output-dir", "{w}/run"],
            2,
            "epochs",
        )
    )
    add(
        C(
            "prism-lr-negative",
            "out of range",
            "prism",
            ["prism", "--lr", "-1", "--output-dir", "{w}/run"],
            2,
            "lr",
        )
    )
    add(C("prism-modality-unknown", "out of range", "prism", ["prism", "--modality", "video"], 2, "modality"))
    add(
        C(
            "prism-json-under-file",
            "path is a file",
            "prism",
            ["prism", "--output-dir", "{w}/run", "--json", "{t}/fx/file/r.json"],
            8,
            "--json",
            "is a file",
        )
    )
    add(
        C(
            "prism-json-is-folder",
            "path is a file",
            "prism",
            ["prism", "--output-dir", "{w}/run", "--json", "{t}/fx/empty"],
            8,
            "--json",
        )
    )
    add(
        C(
            "train-out-is-file",
            "path is a file",
            "train",
            ["train", "train.out_dir={t}/fx/file"],
            8,
            "train.out_dir",
            "is a file",
        )
    )
    add(C("train-not-key-value", "bad type", "train", ["train", "experiment"], 2, "key=value"))
    add(C("train-unknown-experiment", "out of range", "train", ["train", "experiment=nosuch"], 2, "nosuch"))
    add(
        C(
            "train-max-steps-type",
            "bad type",
            "train",
            ["train", "train.max_steps=abc", "train.out_dir={w}/r"],
            2,
            "max_steps",
        )
    )
    add(
        C(
            "cldtrans-max-steps-type",
            "bad type",
            "python -m biodyn.cldtrans",
            ["train.max_steps=abc", "train.out_dir={w}/ct"],
            2,
            "max_steps",
            module="biodyn.cldtrans",
        )
    )
    add(
        C(
            "cldtrans-mode-unknown",
            "out of range",
            "python -m biodyn.cldtrans",
            ["mode=stage3", "train.out_dir={w}/ct"],
            2,
            "stage3",
            module="biodyn.cldtrans",
        )
    )
    add(
        C(
            "cldtrans-ablation-unknown",
            "out of range",
            "python -m biodyn.cldtrans",
            ["ablation=nope", "train.out_dir={w}/ct"],
            2,
            "nope",
            module="biodyn.cldtrans",
        )
    )
    add(
        C(
            "cldtrans-resume-and-force",
            "out of range",
            "python -m biodyn.cldtrans",
            ["--force", "train.resume=true", "train.out_dir={t}/fx/ct"],
            2,
            "--force",
            module="biodyn.cldtrans",
        )
    )
    add(
        C(
            "detect-threshold-type",
            "bad type",
            "detect",
            ["detect", "{t}/fx/a/x.edf", "--checkpoint", "{t}/fx/ck", "--threshold", "abc"],
            2,
            "--threshold",
        )
    )
    add(
        C(
            "detect-overlap-1",
            "out of range",
            "detect",
            ["detect", "{t}/fx/a/x.edf", "--checkpoint", "{t}/fx/ck", "--overlap", "1"],
            2,
            "--overlap",
        )
    )
    add(
        C(
            "detect-overlap-negative",
            "out of range",
            "detect",
            ["detect", "{t}/fx/a/x.edf", "--checkpoint", "{t}/fx/ck", "--overlap", "-0.5"],
            2,
            "--overlap",
        )
    )
    add(
        C(
            "detect-missing-checkpoint",
            "missing path",
            "detect",
            ["detect", "{t}/fx/a/x.edf", "--checkpoint", "{t}/fx/nosuch", "--out", "{w}/o"],
            4,
            "nosuch",
        )
    )
    add(
        C(
            "detect-checkpoint-not-a-run",
            "missing path",
            "detect",
            ["detect", "{t}/fx/a/x.edf", "--checkpoint", "{t}/fx/empty", "--out", "{w}/o"],
            4,
            "empty",
        )
    )
    add(
        C(
            "detect-json-under-file",
            "path is a file",
            "detect",
            ["detect", "{t}/fx/a/x.edf", "--checkpoint", "{t}/fx/ck", "--json", "{t}/fx/file/s.json"],
            8,
            "--json",
            "is a file",
        )
    )
    add(
        C(
            "szcore-missing-input",
            "missing path",
            "szcore",
            ["szcore", "{t}/fx/nosuch.edf", "{w}/o.tsv", "--checkpoint", "{t}/fx/ck"],
            3,
            "nosuch.edf",
        )
    )
    add(
        C(
            "szcore-output-under-file",
            "path is a file",
            "szcore",
            ["szcore", "{t}/fx/good.edf", "{t}/fx/file/o.tsv", "--checkpoint", "{t}/fx/ck"],
            8,
            "is a file",
        )
    )
    add(
        C(
            "szcore-output-is-folder",
            "path is a file",
            "szcore",
            ["szcore", "{t}/fx/good.edf", "{t}/fx/empty", "--checkpoint", "{t}/fx/ck"],
            8,
            "empty",
        )
    )
    add(
        C(
            "szcore-missing-checkpoint",
            "missing path",
            "szcore",
            ["szcore", "{t}/fx/good.edf", "{w}/o.tsv", "--checkpoint", "{t}/fx/nosuch"],
            4,
            "nosuch",
        )
    )
    add(
        C(
            "lags-missing-recording",
            "missing path",
            "lags",
            ["lags", "{t}/fx/nosuch.edf", "--out", "{w}/o"],
            3,
            "nosuch.edf",
        )
    )
    add(
        C(
            "lags-out-is-file",
            "path is a file",
            "lags",
            ["lags", "{t}/fx/good.edf", "--out", "{t}/fx/file"],
            8,
            "--out",
            "is a file",
        )
    )
    add(
        C(
            "lags-json-under-file",
            "path is a file",
            "lags",
            ["lags", "{t}/fx/good.edf", "--out", "{w}/o", "--json", "{t}/fx/file/x.json"],
            8,
            "--json",
        )
    )
    add(
        C(
            "lags-tau-negative",
            "out of range",
            "lags",
            ["lags", "{t}/fx/good.edf", "--out", "{w}/o", "--tau-max-s", "-1"],
            2,
            "--tau-max-s",
        )
    )
    add(
        C(
            "lags-steps-type",
            "bad type",
            "lags",
            ["lags", "{t}/fx/good.edf", "--out", "{w}/o", "--steps", "x"],
            2,
            "--steps",
        )
    )
    add(
        C(
            "lags-stop-before-start",
            "out of range",
            "lags",
            ["lags", "{t}/fx/good.edf", "--out", "{w}/o", "--start", "4", "--stop", "2"],
            2,
            "--stop",
        )
    )
    add(
        C(
            "lags-missing-checkpoint",
            "missing path",
            "lags",
            ["lags", "{t}/fx/good.edf", "--out", "{w}/o", "--checkpoint", "{t}/fx/nosuch"],
            4,
            "nosuch",
        )
    )
    add(
        C(
            "focal-out-is-file",
            "path is a file",
            "focal",
            ["focal", "--out", "{t}/fx/file"],
            8,
            "--out",
            "is a file",
        )
    )
    add(
        C(
            "focal-json-under-file",
            "path is a file",
            "focal",
            ["focal", "--out", "{w}/res", "--json", "{t}/fx/file/x.json"],
            8,
            "--json",
        )
    )
    add(C("focal-methods-unknown", "out of range", "focal", ["focal", "--methods", "nosuch"], 2, "nosuch"))
    add(
        C(
            "fewshot-out-is-file",
            "path is a file",
            "fewshot",
            ["fewshot", "--out", "{t}/fx/file"],
            8,
            "--out",
            "is a file",
        )
    )
    add(
        C(
            "fewshot-cache-dir-file",
            "path is a file",
            "fewshot",
            ["fewshot", "--cache-dir", "{t}/fx/file"],
            8,
            "--cache-dir",
        )
    )
    add(
        C("fewshot-models-unknown", "out of range", "fewshot", ["fewshot", "--models", "nosuch"], 2, "nosuch")
    )
    add(C("fewshot-modes-unknown", "out of range", "fewshot", ["fewshot", "--modes", "nosuch"], 2, "nosuch"))
    add(
        C(
            "fewshot-root-missing",
            "missing path",
            "fewshot",
            ["fewshot", "--root", "chbmit={t}/fx/nosuch", "--out", "{w}/res"],
            6,
            "nosuch",
        )
    )
    add(C("export-missing-run", "missing path", "export", ["export", "{t}/fx/nosuch", "{w}/e"], 4, "nosuch"))
    add(
        C(
            "export-out-is-file",
            "path is a file",
            "export",
            ["export", "{t}/fx/ck", "{t}/fx/file"],
            8,
            "is a file",
        )
    )
    add(
        C(
            "export-out-under-file",
            "path is a file",
            "export",
            ["export", "{t}/fx/ck", "{t}/fx/file/e"],
            8,
            "is a file",
        )
    )
    add(C("export-not-a-run", "missing path", "export", ["export", "{t}/fx/empty", "{w}/e"], 4, "empty"))
    add(
        C(
            "export-push-bad-id",
            "bad type",
            "export",
            ["export", "{t}/fx/ck", "{w}/e", "--push", "not a repo"],
            2,
            "not a repo",
        )
    )
    add(
        C(
            "download-to-is-file",
            "path is a file",
            "download",
            ["download", "chbmit", "--to", "{t}/fx/file"],
            8,
            "--to",
            "is a file",
        )
    )
    add(
        C(
            "download-unknown-dataset",
            "out of range",
            "download",
            ["download", "nosuch", "--to", "{w}/d"],
            2,
            "nosuch",
        )
    )
    add(
        C(
            "download-jobs-zero",
            "out of range",
            "download",
            ["download", "chbmit", "--to", "{w}/d", "--jobs", "0"],
            2,
            "--jobs",
        )
    )
    add(
        C(
            "download-jobs-type",
            "bad type",
            "download",
            ["download", "chbmit", "--to", "{w}/d", "--jobs", "x"],
            2,
            "--jobs",
        )
    )
    add(
        C(
            "build-cache-out-is-file",
            "path is a file",
            "build-cache",
            ["build-cache", "synthetic", "--out", "{t}/fx/file"],
            8,
            "--out",
            "is a file",
        )
    )
    add(
        C(
            "build-cache-unknown-corpus",
            "out of range",
            "build-cache",
            ["build-cache", "nosuch", "--out", "{w}/c"],
            2,
            "nosuch",
        )
    )
    add(
        C(
            "build-cache-window-negative",
            "out of range",
            "build-cache",
            ["build-cache", "synthetic", "--out", "{w}/c", "--window-s", "-1"],
            2,
            "window",
        )
    )
    add(
        C(
            "build-cache-shard-bad",
            "bad type",
            "build-cache",
            ["build-cache", "synthetic", "--out", "{w}/c", "--shard", "3/2"],
            2,
            "--shard",
        )
    )
    add(C("info-unknown-corpus", "out of range", "info", ["info", "nosuch"], 2, "nosuch"))
    add(
        C(
            "info-json-under-file",
            "path is a file",
            "info",
            ["info", "chbmit", "--root", "{t}/fx/empty", "--json", "{t}/fx/file/x.json"],
            8,
            "--json",
        )
    )
    # read-only targets: /sys refuses a new entry to root too; a 0o555 folder when not root
    ro_cmds = {
        "prism": ["prism", "--output-dir", "{ro}/run"],
        "train": ["train", "train.out_dir={ro}/run"],
        "cldtrans": ["cldtrans", "train.out_dir={ro}/run"],
        "detect": ["detect", "{t}/fx/a/x.edf", "--checkpoint", "{t}/fx/ck", "--out", "{ro}/det"],
        "szcore": ["szcore", "{t}/fx/good.edf", "{ro}/o.tsv", "--checkpoint", "{t}/fx/ck"],
        "lags": ["lags", "{t}/fx/good.edf", "--out", "{ro}/lags"],
        "focal": ["focal", "--out", "{ro}/res"],
        "fewshot": ["fewshot", "--out", "{ro}/res"],
        "report": ["report", "{t}/fx/res_str", "--out", "{ro}/rep"],
        "export": ["export", "{t}/fx/ck", "{ro}/e"],
        "download": ["download", "chbmit", "--to", "{ro}/d"],
        "build-cache": ["build-cache", "synthetic", "--out", "{ro}/c"],
    }
    for name, argv in ro_cmds.items():
        entry = name
        add(C(f"{name}-read-only-sys", "read-only target", entry, [a.replace("{ro}", "{sys}/biodyn-probe")
              for a in argv], 8, "/sys"))  # fmt: skip
        add(C(f"{name}-read-only-chmod", "read-only target", entry, [a.replace("{ro}", "{t}/ro/x") for a in argv],
              8, "ro", needs="nonroot"))  # fmt: skip
    add(
        C(
            "cldtrans-module-read-only-sys",
            "read-only target",
            "python -m biodyn.cldtrans",
            ["train.out_dir={sys}/biodyn-probe"],
            8,
            "/sys",
            module="biodyn.cldtrans",
        )
    )
    # -- interrupt: a real SIGINT once a checkpoint is written, then --resume continues
    add(C("prism-sigint", "interrupt", "prism", ["prism", *TINY_PRISM, "--epochs", "500", "--output-dir",
          "{w}/run"], 130, "interrupted", sigint=_past_checkpoint(lambda w: w / "run", 1),
          check=_interrupted_cleanly(lambda w: w / "run")))  # fmt: skip
    add(C("prism-resume-after-sigint", "interrupt", "prism", ["prism", *TINY_PRISM, "--epochs", "{epochs+1}",
          "--resume", "--output-dir", "{w}/run"], 0, setup=_after("prism-sigint"),
          check=_resumed(lambda w: w / "run")))  # fmt: skip
    ct_tiny = ["train.max_steps=100000", "train.ckpt_every=1", "train.out_dir={w}/ct"]
    add(C("cldtrans-sigint", "interrupt", "python -m biodyn.cldtrans", ct_tiny, 130, "interrupted",
          module="biodyn.cldtrans", needs="eegmmidb", sigint=_past_checkpoint(lambda w: w / "ct" / "stage1", 1),
          check=_interrupted_cleanly(lambda w: w / "ct" / "stage1")))  # fmt: skip
    add(C("cldtrans-resume-after-sigint", "interrupt", "python -m biodyn.cldtrans",
          ["train.max_steps={step+1}", "train.ckpt_every=1", "train.resume=true", "train.out_dir={w}/ct"], 0,
          module="biodyn.cldtrans", needs="eegmmidb", setup=_after("cldtrans-sigint"),
          check=_resumed(lambda w: w / "ct" / "stage1"), absent=("vector_quantize", "DeprecationWarning",
                                                                  "FutureWarning")))  # fmt: skip
    add(
        C(
            "cldtrans-force-replaces-stage",
            "data lost",
            "python -m biodyn.cldtrans",
            ["--force", "train.max_steps=1", "train.out_dir={w}/ct"],
            0,
            module="biodyn.cldtrans",
            needs="eegmmidb",
            setup=_after("cldtrans-resume-after-sigint"),
            check=_forced(lambda w: w / "ct" / "stage1"),
        )
    )
    return out


def _unchanged_copy(rel: str) -> Callable[[Path, Path, str], str | None]:
    """The case's copy ``w/rel`` of a fixture folder is byte-identical to the fixture afterwards."""

    def check(t: Path, w: Path, out: str) -> str | None:
        a, b = w / rel, t / "fx" / rel
        if rel == "ct":
            b = w / "ct.orig"
        fa = {p.relative_to(a): p.read_bytes() for p in a.rglob("*") if p.is_file()}
        fb = {p.relative_to(b): p.read_bytes() for p in b.rglob("*") if p.is_file()}
        return None if fa == fb else f"{rel} changed: {sorted(set(fa) ^ set(fb)) or 'contents'}"

    return check


def _ct_both_stages(t: Path, w: Path) -> None:
    for stage in ("stage1", "stage2"):
        shutil.copytree(t / "fx" / "ct" / "stage1", w / "ct" / stage)
    shutil.copytree(w / "ct", w / "ct.orig")


def _copy_smoke(t: Path, w: Path) -> None:
    shutil.copytree(t / "fx" / "moved_smoke", w / "run")


def _copy_smoke_without_cache(t: Path, w: Path) -> None:
    """The moved run without its cache: ``eval`` must build it again, in the run folder as it is now (not at
    the old relative ``runs/smoke`` of the folder it was trained in, nor in the working folder)."""
    shutil.copytree(t / "fx" / "moved_smoke", w / "run", ignore=shutil.ignore_patterns("cache"))


def _cache_built_in_run(t: Path, w: Path, out: str) -> str | None:
    n = (
        sum(1 for p in (w / "run" / "cache").rglob("*") if p.is_file())
        if (w / "run" / "cache").is_dir()
        else 0
    )
    return None if n else "eval built no cache in the run folder"


# chained cases: the second runs in the first's target folder (the runner passes it through ``w``)
_CHAIN: dict[str, str] = {}


def _after(first: str) -> Callable[[Path, Path], None]:
    def setup(t: Path, w: Path) -> None:
        src = t / "work" / first
        if not src.exists():
            raise RuntimeError(f"needs the case {first} first")
        for p in src.iterdir():
            shutil.move(str(p), str(w / p.name))

    setup.first = first  # type: ignore[attr-defined]
    return setup


def _resumed(run_of: Callable[[Path], Path]) -> Callable[[Path, Path, str], str | None]:
    def check(t: Path, w: Path, out: str) -> str | None:
        run = run_of(w)
        steps = _train_steps(run)
        if steps != list(range(1, len(steps) + 1)) or not steps:
            return f"log.jsonl steps after the resume: {steps[:3]}...{steps[-3:]} (each step once, in order)"
        if not (run / "results.json").is_file():
            return "the resumed run wrote no results.json"
        return None

    return check


def _forced(run_of: Callable[[Path], Path]) -> Callable[[Path, Path, str], str | None]:
    def check(t: Path, w: Path, out: str) -> str | None:
        run = run_of(w)
        steps = _train_steps(run)
        return None if steps == [1] else f"--force left the old run's log: steps {steps[:5]}"

    return check


# ------------------------------------------------------------------------------------------------ runner


def snapshot(d: Path, skip: tuple[str, ...] = ()) -> dict[str, tuple]:
    """``{relative path: (kind, size, mtime_ns)}`` of every file, link and folder under ``d``."""
    out: dict[str, tuple] = {}
    if not d.exists():
        return out
    for p in d.rglob("*"):
        rel = p.relative_to(d).as_posix()
        if any(rel == s or rel.startswith(s + "/") for s in skip):
            continue
        st = p.lstat()
        kind = "l" if p.is_symlink() else "d" if p.is_dir() else "f"
        out[rel] = (kind, 0 if kind == "d" else st.st_size, 0 if kind == "d" else st.st_mtime_ns)
    return out


def _diff(a: dict, b: dict) -> list[str]:
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


def _expand(argv: list[str], t: Path, w: Path, ctx: dict) -> list[str]:
    out = []
    for a in argv:
        a = a.replace("{t}", str(t)).replace("{w}", str(w)).replace("{sys}", "/sys")
        if "{epochs+1}" in a:
            a = a.replace("{epochs+1}", str(ctx["step"] // 4 + 1))
        if "{step+1}" in a:
            a = a.replace("{step+1}", str(ctx["step"] + 1))
        out.append(a)
    return out


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_case(c: Case, t: Path, have: dict, timeout: float = 600) -> Result:
    w = t / "work" / c.id
    cwd = t / "cwd" / c.id
    w.mkdir(parents=True, exist_ok=True)
    cwd.mkdir(parents=True, exist_ok=True)
    need = c.needs
    if need == "nonroot" and os.geteuid() == 0:
        return Result(c.id, c.cls, c.entry, c.code, None, "skipped", "root writes into a 0o555 folder")
    if need in ("smoke", "eegmmidb", "ptbxl") and not have.get(need):
        return Result(c.id, c.cls, c.entry, c.code, None, "skipped", f"no {need} sample here")
    ctx: dict = {}
    if c.setup is not None:
        try:
            c.setup(t, w)
        except Exception as e:  # a case whose predecessor failed
            return Result(c.id, c.cls, c.entry, c.code, None, "fail", f"setup: {e}")
    for run in (w / "run", w / "ct" / "stage1"):
        if (run / "checkpoints" / "last" / "state.json").is_file():
            ctx["step"] = _checkpoint_step(run)
    if need == "nonroot":
        (t / "ro").mkdir(exist_ok=True)
        (t / "ro").chmod(0o555)
    argv = _expand(c.argv, t, w, ctx)
    cmd = [sys.executable, "-m", c.module, *argv]
    before_fx = snapshot(t, skip=("work", "cwd"))
    before_w, before_cwd = snapshot(w), snapshot(cwd)
    start = time.monotonic()
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,  # a shell's background job ignores SIGINT, and children inherit that
    )
    try:
        if c.sigint is not None:
            deadline = time.monotonic() + timeout
            while proc.poll() is None and not c.sigint(t, w) and time.monotonic() < deadline:
                time.sleep(0.2)
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        return Result(c.id, c.cls, c.entry, c.code, None, "fail", "timed out", seconds=time.monotonic() - start,
                      argv=argv)  # fmt: skip
    finally:
        if need == "nonroot":
            (t / "ro").chmod(0o755)
    secs = time.monotonic() - start
    errors = [ln for ln in err.splitlines() if ln.startswith("biodyn: error:")]
    usage = [ln for ln in err.splitlines() if ln.startswith("biodyn ") and ": error:" in ln]  # argparse
    lines = errors or usage
    why: list[str] = []
    if "Traceback" in err:
        why.append("traceback: " + err.strip().splitlines()[-1][:200])
    if proc.returncode != c.code:
        why.append(f"exit {proc.returncode}, documented {c.code}")
    text = lines[0] if lines else ""
    if c.code != 0:
        if len(lines) != 1:
            why.append(f"{len(lines)} error lines")
        for word in c.words:
            # a flag of an alias (biodyn prism/focal/fewshot) is an override of its config key: the line may
            # name either (--budgets or budgets, --span-s or span_s)
            key = word[2:].replace("-", "_") if word.startswith("--") else word
            if word not in text and key not in text:
                why.append(f"the line lacks {word!r}")
    else:
        if lines:
            why.append(f"an error line on success: {lines[0][:160]}")
        text = (out + err).strip().splitlines()[-1] if (out + err).strip() else ""
        for word in c.words:
            if word not in out + err:
                why.append(f"the output lacks {word!r}")
    for word in c.absent:
        if word in err:
            why.append(f"stderr holds {word!r}")
    if c.warn:
        warns = [ln for ln in err.splitlines() if ln.startswith("biodyn: warning:")]
        if not any(all(wd in ln for wd in c.warn) for ln in warns):
            why.append(f"no warning line naming {c.warn}")
    changed = _diff(before_fx, snapshot(t, skip=("work", "cwd"))) + [
        f"cwd/{p}" for p in _diff(before_cwd, snapshot(cwd))
    ]
    if (
        c.code != 0 and c.sigint is None and c.check is None
    ):  # a refused command writes nothing, even its target
        changed += [f"target/{p}" for p in _diff(before_w, snapshot(w))]
    if changed:
        why.append(f"changed outside the target: {changed[:4]}{' ...' if len(changed) > 4 else ''}")
    if c.check is not None:
        extra = c.check(t, w, out)
        if extra:
            why.append(extra)
    status = "fail" if why else "pass"
    return Result(
        c.id, c.cls, c.entry, c.code, proc.returncode, status, "; ".join(why), text[:300], secs, argv
    )


def run_all(selected: list[Case], t: Path, have: dict, jobs: int) -> list[Result]:
    chained = {getattr(c.setup, "first", None) for c in selected} - {None}
    order = {c.id: c for c in selected}
    # chains run in order in one worker; the rest in parallel
    chains: list[list[Case]] = []
    seen: set[str] = set()
    for c in selected:
        if c.id in seen or getattr(c.setup, "first", None):
            continue
        chain = [c]
        seen.add(c.id)
        if c.id in chained:
            nxt = [d for d in selected if getattr(d.setup, "first", None) == chain[-1].id]
            while nxt:
                chain.append(nxt[0])
                seen.add(nxt[0].id)
                nxt = [d for d in selected if getattr(d.setup, "first", None) == chain[-1].id]
        chains.append(chain)
    for c in selected:  # a chained case selected without its first one
        if c.id not in seen:
            chains.append([c])

    def run_chain(chain: list[Case]) -> list[Result]:
        res = []
        for c in chain:
            r = run_case(c, t, have)
            print(f"{r.status:7s} {r.id} (exit {r.got}, {r.seconds:.1f} s) {r.why}", flush=True)
            res.append(r)
        return res

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results = [r for rs in pool.map(run_chain, chains) for r in rs]
    return sorted(results, key=lambda r: list(order).index(r.id))


def write_report(results: list[Result], have: dict, wall: float) -> None:
    import platform

    n = len(results)
    passed = sum(r.status == "pass" for r in results)
    failed = [r for r in results if r.status == "fail"]
    skipped = [r for r in results if r.status == "skipped"]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    meta = {
        "generated_by": "tools/probe_edges.py",
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit.stdout.strip(),
        "python": platform.python_version(),
        "root": os.geteuid() == 0,
        "samples": have,
        "cases": n,
        "passed": passed,
        "failed": len(failed),
        "skipped": len(skipped),
        "wall_s": round(wall, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    OUT_JSON.write_text(json.dumps({"meta": meta, "results": [r.__dict__ for r in results]}, indent=1) + "\n")
    by_cls: dict[str, list[Result]] = {}
    for r in results:
        by_cls.setdefault(r.cls, []).append(r)
    lines = [
        "# Bad-input probe of the entry points (issue 40)",
        "",
        "Generated by `python tools/probe_edges.py` (do not edit by hand): each case runs the real command in a",
        "subprocess and passes when it prints one `biodyn: error:` line (no traceback) naming the culprit,",
        "exits with the code docs/reliability.md documents, and leaves the tree outside its target",
        "byte-identical. Raw results: `probe_results.json`.",
        "",
        f"- {meta['date']}, commit {meta['commit']}, Python {meta['python']}, "
        f"{'as root' if meta['root'] else 'not root'}; samples: "
        + ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in have.items()),
        f"- **{n} cases: {passed} pass, {len(failed)} fail, {len(skipped)} skipped** "
        f"({meta['wall_s']} s wall, load average {meta['load_average'][0]})",
        "",
        "| class | cases | pass | fail | skipped |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for cls, rs in by_cls.items():
        lines.append(
            f"| {cls} | {len(rs)} | {sum(r.status == 'pass' for r in rs)} | "
            f"{sum(r.status == 'fail' for r in rs)} | {sum(r.status == 'skipped' for r in rs)} |"
        )
    lines += ["", "| case | class | entry point | exit (documented) | result | the line / why |",
              "| --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for r in results:
        note = r.why if r.status != "pass" else r.line
        note = note.replace("|", "\\|").replace(str(TMP_HINT.get("t", "\0")), "T")
        lines.append(f"| {r.id} | {r.cls} | {r.entry} | {r.got} ({r.expected}) | {r.status} | {note[:200]} |")
    OUT_MD.write_text("\n".join(lines) + "\n")


TMP_HINT: dict[str, Path] = {}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", action="append", default=[], help="run the cases whose id contains this")
    ap.add_argument("--jobs", type=int, default=2, help="cases run at once (default 2)")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("--keep", action="store_true", help="keep the fixture folder (its path is printed)")
    args = ap.parse_args(argv)
    all_cases = cases()
    ids = [c.id for c in all_cases]
    assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1]
    if args.list:
        for c in all_cases:
            print(f"{c.id:45s} {c.cls:18s} {c.entry}")
        print(f"{len(all_cases)} cases")
        return 0
    selected = [c for c in all_cases if not args.only or any(o in c.id for o in args.only)]
    t = Path(tempfile.mkdtemp(prefix="biodyn-probe-"))
    TMP_HINT["t"] = t
    start = time.monotonic()
    try:
        sys.path.insert(0, str(SRC))
        have = build_fixture(t, smoke=any(c.needs == "smoke" for c in selected))
        print(f"fixture {t} ({time.monotonic() - start:.0f} s): {have}", flush=True)
        results = run_all(selected, t, have, args.jobs)
        wall = time.monotonic() - start
        n, ok = len(results), sum(r.status == "pass" for r in results)
        skipped = sum(r.status == "skipped" for r in results)
        print(f"{n} cases: {ok} pass, {n - ok - skipped} fail, {skipped} skipped ({wall:.0f} s)")
        if not args.only:
            write_report(results, have, wall)
            print(f"wrote {OUT_MD.relative_to(ROOT)} and {OUT_JSON.relative_to(ROOT)}")
        return 0 if ok + skipped == n else 1
    finally:
        if args.keep:
            print(f"kept {t}")
        else:
            ro = t / "ro"
            if ro.exists():
                ro.chmod(0o755)
            shutil.rmtree(t, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
