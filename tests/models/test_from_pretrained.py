"""One loader for every kind of folder: ``biodyn.models.from_pretrained`` takes an export or any training run
(the run folder, ``checkpoints/best|last``, a staged run's ``stage2|stage1``, the ``.old`` copy an interrupted
checkpoint swap leaves), and a run's own ``config.json`` is never taken for an export."""

import json
import os
import shutil

import pytest
import torch

from biodyn.errors import CheckpointError
from biodyn.models import InputSpec, create_model, find_checkpoint, from_pretrained, save_pretrained
from biodyn.models._pretrained import previous_checkpoint, read_state
from biodyn.train import TensorDictDataset, TrainConfig, Trainer

SIG = dict(n_chans=2, n_outputs=3, n_times=32, sfreq=32.0)


def _run(out, steps=6, **kw):
    """A real Trainer run (cnn1d, 2 evaluations) in ``out``; returns the trained model."""
    torch.manual_seed(0)
    model = create_model("cnn1d", **SIG, width=8, depth=2)
    model.input_spec = InputSpec(channels=["C3", "C4"], sfreq=32.0, window_s=1.0, classes=["a", "b", "c"])
    g = torch.Generator().manual_seed(0)
    ds = TensorDictDataset(torch.randn(24, 2, 32, generator=g), torch.randint(0, 3, (24,), generator=g))
    cfg = TrainConfig(
        out_dir=str(out),
        task="multiclass",
        batch_size=8,
        max_steps=steps,
        warmup_steps=1,
        eval_every=3,
        ckpt_every=100,
        log_every=1,
        progress=False,
        tensorboard=False,
        **kw,
    )
    # a partial model_config, as PRISM's runner passed: the checkpoint must still record the full config
    Trainer(model, ds, ds, cfg, model_config={"width": 8}).fit()
    return model


def _same(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _ckpt_model(folder):
    st = read_state(folder)
    m = create_model(st["model_name"], **st["model_config"])
    from biodyn.models._pretrained import load_weights

    load_weights(m, folder / "model.safetensors")
    return m


def test_a_run_folder_and_its_checkpoints_load(tmp_path):
    _run(tmp_path / "run")
    run = tmp_path / "run"
    st = read_state(run / "checkpoints" / "last")
    assert {"n_chans", "n_outputs", "n_times", "sfreq", "width", "depth"} <= set(st["model_config"])
    assert st["model_config"]["n_chans"] == 2 and st["input_spec"]["channels"] == ["C3", "C4"]
    assert find_checkpoint(run) == run / "checkpoints" / "best"  # the best one is what a run serves
    best = _ckpt_model(run / "checkpoints" / "best")
    for path, want in (
        (run, best),
        (run / "checkpoints" / "best", best),
        (run / "checkpoints" / "last", _ckpt_model(run / "checkpoints" / "last")),
    ):
        m = from_pretrained(path)
        assert not m.training and m.model_name == "cnn1d" and _same(m, want), path
        assert m.input_spec == InputSpec(
            channels=["C3", "C4"], sfreq=32.0, window_s=1.0, classes=["a", "b", "c"]
        )


def test_a_run_config_json_is_not_an_export(tmp_path):
    """PRISM's runner writes its run config as config.json at the run's root: it used to be read as an
    export (and refused); the content tells them apart, so the checkpoints are read."""
    _run(tmp_path / "run")
    run = tmp_path / "run"
    (run / "config.json").write_text(
        json.dumps({"run": {"modality": "ecg"}, "model": "cnn1d", "model_config": {"width": 8}, "train": {}})
    )
    m = from_pretrained(run)
    assert _same(m, _ckpt_model(run / "checkpoints" / "best"))
    # an export beside the run (PRISM's joint run writes run/model/) is an export
    save_pretrained(m, run / "model")
    assert json.loads((run / "model" / "config.json").read_text())["format"] == "biodyn-model"
    assert _same(from_pretrained(run / "model"), m)


def test_the_previous_checkpoint_of_an_interrupted_swap_is_found(tmp_path):
    _run(tmp_path / "run")
    best = tmp_path / "run" / "checkpoints" / "best"
    want = _ckpt_model(best)
    os.replace(best, previous_checkpoint(best))  # killed between the two renames of save_checkpoint
    assert find_checkpoint(tmp_path / "run") == previous_checkpoint(best)
    assert _same(from_pretrained(tmp_path / "run"), want)
    assert _same(from_pretrained(best), want)  # the folder named by the user, gone: its .old copy


def test_a_staged_run_prefers_its_later_stage(tmp_path):
    """A CLD-Trans training folder holds stage1/ and stage2/ runs; stage 2 is the trained model."""
    _run(tmp_path / "out" / "stage1", steps=3)
    _run(tmp_path / "out" / "stage2", steps=6)
    shutil.rmtree(tmp_path / "out" / "stage2" / "checkpoints" / "best")
    want = _ckpt_model(tmp_path / "out" / "stage2" / "checkpoints" / "last")
    assert find_checkpoint(tmp_path / "out") == tmp_path / "out" / "stage2" / "checkpoints" / "last"
    assert _same(from_pretrained(tmp_path / "out"), want)
    assert _same(
        from_pretrained(tmp_path / "out" / "stage1"),
        _ckpt_model(tmp_path / "out" / "stage1" / "checkpoints" / "best"),
    )


def test_export_carries_the_input_spec(tmp_path):
    m = create_model("cnn1d", **SIG, width=8, depth=2).eval()
    spec = InputSpec(
        channels=["Fp1-F7", "F7-T7"],
        montage="tcp",
        sfreq=256.0,
        window_s=12.0,
        stride_s=6.0,
        preprocessing="SEIZURE_EEG",
        threshold=0.8,
        feature_norm={"mean": [0, 1], "std": [1, 2]},
    )
    save_pretrained(m, tmp_path / "e", input_spec=spec)
    saved = json.loads((tmp_path / "e" / "config.json").read_text())
    assert saved["input_spec"]["threshold"] == 0.8 and "extra" not in saved["input_spec"]
    assert from_pretrained(tmp_path / "e").input_spec == spec
    m.input_spec = spec  # the model's own spec is the default
    save_pretrained(m, tmp_path / "f")
    assert from_pretrained(tmp_path / "f").input_spec == spec
    with pytest.raises(ValueError, match=r"unknown keys.*'rate'"):
        InputSpec.from_dict({"rate": 3})


def test_what_is_neither_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match=r"neither an export.*nor a training run.*checkpoints/best"):
        from_pretrained(tmp_path / "empty")
    with pytest.raises(CheckpointError, match="no such folder"):
        from_pretrained(tmp_path / "missing")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "config.json").write_text(
        json.dumps({"format": "something-else", "name": "x", "config": {}})
    )
    with pytest.raises(CheckpointError, match="neither an export"):
        from_pretrained(tmp_path / "other")
    folder = tmp_path / "old" / "checkpoints" / "last"
    folder.mkdir(parents=True)
    (folder / "state.json").write_text(
        json.dumps({"format_version": 1, "model_name": "cnn1d", "model_config": {"width": 8}})
    )
    with pytest.raises(CheckpointError, match="lacks n_chans, n_outputs, sfreq"):
        from_pretrained(tmp_path / "old")


def test_results_and_logs_are_strict_json(tmp_path):
    """No bare NaN in log.jsonl (grad_norm is NaN without clipping) nor in results written by
    atomic_write_json: null instead, which a strict parser accepts."""
    import numpy as np

    from biodyn.atomic import atomic_write_json

    def strict(text):
        def refuse(name):
            raise ValueError(f"bare {name} in JSON")

        return json.loads(text, parse_constant=refuse)

    _run(tmp_path / "run", grad_clip=0.0)
    rows = [strict(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    train = [r for r in rows if r["kind"] == "train"]
    assert train and all(r["grad_norm"] is None for r in train)
    atomic_write_json(
        tmp_path / "results.json",
        {
            "auroc": float("nan"),
            "fa": [1.0, float("inf")],
            "np": np.float32("nan"),
            "arr": np.array([np.nan, 2.0]),
            "ok": np.float64(0.5),
            "n": np.int64(3),
        },
    )
    assert strict((tmp_path / "results.json").read_text()) == {
        "auroc": None,
        "fa": [1.0, None],
        "np": None,
        "arr": [None, 2.0],
        "ok": 0.5,
        "n": 3,
    }
