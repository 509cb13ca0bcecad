"""Resumed and damaged training runs, checkpoint file modes, and the report's plots."""

import json
import os
import shutil
import stat

import numpy as np
import pytest
import torch
from faultkit import changed_outside, partial_files, tree

from biodyn.errors import CheckpointError
from biodyn.models import create_model
from biodyn.train import TensorDictDataset, TrainConfig, Trainer
from biodyn.train.config import ExperimentConfig

MC = dict(n_chans=2, n_outputs=3, n_times=32, sfreq=32.0)


class Labelled(TensorDictDataset):
    """What run_experiment needs of a dataset: items, ``labels``, ``subjects``, ``fs``."""

    def __init__(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        y = torch.randint(0, 3, (n,), generator=g)
        x = torch.randn(n, 2, 32, generator=g) * 0.5
        x[:, 0] += y[:, None].float()
        super().__init__(x, y)
        self.labels = y.numpy()
        self.subjects = np.array([f"s{seed}_{i}" for i in range(n)])
        self.fs = 32.0


def _data():
    return {"train": Labelled(48, 0), "val": Labelled(16, 1), "test": Labelled(16, 2), "manifest_hash": "x"}


def _cfg(tmp_path, **kw):
    base = dict(
        out_dir=str(tmp_path),
        task="multiclass",
        batch_size=8,
        max_steps=8,
        warmup_steps=2,
        lr=3e-3,
        eval_every=4,
        ckpt_every=4,
        log_every=1,
        progress=False,
        tensorboard=False,
    )
    base.update(kw)
    return TrainConfig(**base)


def _trainer(tmp_path, width=8, **kw):
    torch.manual_seed(0)
    model = create_model("cnn1d", **MC, width=width, depth=2)
    return Trainer(
        model, Labelled(48, 0), Labelled(16, 1), _cfg(tmp_path, **kw), model_name="cnn1d", model_config=MC
    )


def _exp(tmp_path, width, resume):
    exp = ExperimentConfig()
    exp.model.name, exp.model.params = "cnn1d", {"width": width, "depth": 2}
    exp.train = _cfg(tmp_path / "run", max_steps=4, resume=resume)
    return exp


def test_resume_with_another_width_refuses_before_writing(tmp_path):
    from biodyn.train.experiment import run_experiment

    run_experiment(_exp(tmp_path, 8, False), data=_data())
    config_yaml = (tmp_path / "run" / "config.yaml").read_bytes()
    before = tree(tmp_path)
    with pytest.raises(CheckpointError, match=r"checkpoints/last: weights do not fit this model") as e:
        run_experiment(_exp(tmp_path, 16, True), data=_data())
    assert "shape mismatch" in str(e.value)
    assert (tmp_path / "run" / "config.yaml").read_bytes() == config_yaml and tree(tmp_path) == before


def test_resume_on_an_empty_folder_says_it_starts_fresh(tmp_path, capsys):
    out = _trainer(tmp_path, resume=True, max_steps=2).fit()
    err = capsys.readouterr().err
    assert out["step"] == 2 and "train.resume=true: no checkpoint in" in err and "starting fresh" in err


def test_resume_on_an_empty_folder_message(tmp_path, capsys):
    tr = _trainer(tmp_path, resume=True, max_steps=2)
    assert tr.resume("last") is False
    err = capsys.readouterr().err
    assert "starting fresh" in err and str(tmp_path / "checkpoints" / "last") in err


def test_jsonl_log_holds_each_step_once_after_a_resume(tmp_path):
    _trainer(tmp_path).fit(stop_at=4)  # checkpoint "last" at step 4
    saved = tmp_path / "saved_last"
    shutil.copytree(tmp_path / "checkpoints" / "last", saved)
    _trainer(tmp_path, resume=True).fit(stop_at=7)  # logs steps 5-7 ...
    shutil.rmtree(tmp_path / "checkpoints" / "last")
    shutil.copytree(saved, tmp_path / "checkpoints" / "last")  # ... then "dies" with the step-4 checkpoint
    with open(tmp_path / "log.jsonl", "a") as f:
        f.write('{"kind": "train", "step": 8, "lo')  # and a line cut short by the kill
    _trainer(tmp_path, resume=True).fit()
    rows = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in rows if r["kind"] == "train"]
    assert steps == list(range(1, 9))
    evals = [r["step"] for r in rows if r["kind"] == "eval"]
    assert evals == [4, 8]


def test_fresh_run_in_an_old_folder_starts_a_new_log(tmp_path):
    _trainer(tmp_path, max_steps=3).fit()
    _trainer(tmp_path, max_steps=3).fit()
    steps = [json.loads(line)["step"] for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3]


def _two_checkpoints(tmp_path):
    _trainer(tmp_path).fit()
    ck = tmp_path / "checkpoints"
    assert (ck / "last" / "model.safetensors").exists() and (ck / "best" / "model.safetensors").exists()
    return ck


@pytest.mark.parametrize("damage", ["truncate", "zero-bytes", "garbage-header"])
def test_truncated_model_safetensors_names_the_file_and_the_intact_one(tmp_path, damage):
    ck = _two_checkpoints(tmp_path)
    f = ck / "last" / "model.safetensors"
    raw = f.read_bytes()
    f.write_bytes(
        {"truncate": raw[: len(raw) // 2], "zero-bytes": b"", "garbage-header": b"\xff" * 64}[damage]
    )
    with pytest.raises(CheckpointError) as e:
        _trainer(tmp_path, resume=True).fit()
    msg = str(e.value)
    assert str(f) in msg and "'best' checkpoint" in msg and "is intact" in msg, msg


def test_both_checkpoints_damaged_says_so(tmp_path):
    ck = _two_checkpoints(tmp_path)
    for which in ("last", "best"):
        f = ck / which / "model.safetensors"
        f.write_bytes(f.read_bytes()[:100])
    from biodyn.train.checkpoint import load_checkpoint

    model = create_model("cnn1d", **MC, width=8, depth=2)
    with pytest.raises(
        CheckpointError, match=r"best/model\.safetensors: truncated.*'last' checkpoint is damaged too"
    ):
        load_checkpoint(ck / "best", model=model)


def test_truncated_trainer_safetensors_and_garbled_state(tmp_path):
    ck = _two_checkpoints(tmp_path)
    f = ck / "last" / "trainer.safetensors"
    f.write_bytes(f.read_bytes()[:-7])
    with pytest.raises(CheckpointError, match=r"last/trainer\.safetensors: truncated.*'best'.*intact"):
        _trainer(tmp_path, resume=True).fit()
    (ck / "best" / "state.json").write_text('{"format_version": 1, "st')
    from biodyn.models._pretrained import read_state

    with pytest.raises(CheckpointError, match=r"best/state\.json: unreadable checkpoint state"):
        read_state(ck / "best")


def test_checkpoints_honour_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        _trainer(tmp_path, max_steps=2).fit()
    finally:
        os.umask(old)
    last = tmp_path / "checkpoints" / "last"
    assert stat.S_IMODE(last.stat().st_mode) == 0o755
    for f in last.iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o644, f
    assert stat.S_IMODE((tmp_path / "log.jsonl").stat().st_mode) == 0o644
    assert partial_files(tmp_path) == []


def test_a_failed_resume_leaves_the_run_folder_as_it_was(tmp_path):
    ck = _two_checkpoints(tmp_path)
    (ck / "last" / "model.safetensors").write_bytes(b"")
    before = tree(tmp_path)
    with pytest.raises(CheckpointError):
        _trainer(tmp_path, resume=True).fit()
    assert changed_outside(before, tree(tmp_path)) == []


# ----------------------------------------------------------------------------------------------- report
def _png_pixels(path):
    import matplotlib.image as mpimg

    return mpimg.imread(path)


def test_training_curves_with_one_point_per_run_are_not_empty(tmp_path):
    from biodyn.report.plot import plot_training_curves

    for k in range(2):
        d = tmp_path / f"run{k}"
        d.mkdir()
        (d / "log.jsonl").write_text(json.dumps({"kind": "train", "step": 10, "loss": 0.5 + k}) + "\n")
    empty = tmp_path / "empty"
    (empty / "run").mkdir(parents=True)
    (empty / "run" / "log.jsonl").write_text(json.dumps({"kind": "eval", "step": 10, "val_loss": 1.0}) + "\n")
    assert plot_training_curves(tmp_path / "empty", tmp_path / "blank.png")
    assert plot_training_curves(tmp_path, tmp_path / "curves.png")
    a, b = _png_pixels(tmp_path / "curves.png"), _png_pixels(tmp_path / "blank.png")
    coloured = (np.abs(a[..., 0] - a[..., 2]) > 0.2).sum()  # matplotlib's blue/orange markers, not grey/black
    assert coloured > 20 and (np.abs(b[..., 0] - b[..., 2]) > 0.2).sum() == 0


def test_budget_plot_clips_intervals_to_the_metric_range_and_says_n(tmp_path, monkeypatch):
    import matplotlib.axes

    from biodyn.report.plot import clipped_interval, plot_budget_curves

    assert clipped_interval(0.9, 2.9, "test_macro_auroc") == pytest.approx((0.9, 0.1))
    assert clipped_interval(0.2, 0.5, "val_loss") == pytest.approx((0.2, 0.5))
    assert clipped_interval(0.5, 0.9, "test_kappa") == pytest.approx((0.9, 0.5))
    seen = {}
    real = matplotlib.axes.Axes.errorbar

    def spy(self, x, y, yerr=None, **kw):
        seen.update(yerr=yerr, label=kw.get("label"))
        return real(self, x, y, yerr=yerr, **kw)

    monkeypatch.setattr(matplotlib.axes.Axes, "errorbar", spy)
    rows = [
        {
            "experiment": "e",
            "model": "cnn1d",
            "task": "t",
            "metric": "test_macro_auroc",
            "budget_frac": b,
            "mean": m,
            "ci95": h,
            "n": 2,
        }
        for b, m, h in ((0.1, 0.7, 2.9), (1.0, 0.85, 0.05))
    ]
    plot_budget_curves(rows, "test_macro_auroc", tmp_path / "b.png")
    lower, upper = (np.asarray(v) for v in seen["yerr"])
    assert np.all(np.asarray([0.7, 0.85]) - lower >= 0) and np.all(np.asarray([0.7, 0.85]) + upper <= 1)
    assert "n=2" in seen["label"] and (tmp_path / "b.png").stat().st_size > 0


def test_exported_model_honours_the_umask(tmp_path):
    from biodyn.models import save_pretrained

    old = os.umask(0o027)
    try:
        save_pretrained(create_model("cnn1d", **MC, width=8, depth=2), tmp_path / "export")
    finally:
        os.umask(old)
    for f in (tmp_path / "export").iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o640, f
