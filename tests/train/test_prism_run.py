"""``biodyn prism``: tiny runs through the CLI (synthetic data), config handling, bad input."""

import json
import re

import numpy as np
import pytest

from biodyn.cli import main
from biodyn.errors import ConfigError
from biodyn.testing import shared_data

TINY = ["--hidden-dim", "16", "--num-layers", "2", "--num-heads", "2", "--batch-size", "16", "--limit", "48",
        "--no-progress", "--lr", "3e-3"]  # fmt: skip


def _run(tmp_path, *extra, name="run"):
    out = tmp_path / name
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text("n_frames: 12\nn_mels: 8\nwarmup_epochs: 0\n")
    rc = main(["prism", "--data", "synthetic", "--config", str(cfg), *TINY, "--output-dir", str(out),
               "--json", str(tmp_path / f"{name}.json"), *extra])  # fmt: skip
    assert rc == 0
    res = json.loads((out / "results.json").read_text())
    assert res == json.loads((tmp_path / f"{name}.json").read_text())
    assert (out / "curves.png").stat().st_size > 1000 and (out / "config.json").is_file()
    return res


@pytest.mark.slow
def test_cli_trains_audio_and_writes_results(tmp_path, capsys):
    res = _run(tmp_path, "--modality", "audio", "--epochs", "2")
    assert "not real data" in capsys.readouterr().out
    assert res["model"] == "prism" and res["data"] == "synthetic"
    assert 0.0 <= res["test"]["accuracy"] <= 1.0 and "macro_auroc" in res["test"]
    cm = np.asarray(res["confusion_matrix"])  # rows true, columns predicted; the diagonal is the accuracy
    assert cm.shape == (len(res["classes"]),) * 2 and cm.sum() == res["splits"]["test"]
    assert np.trace(cm) / cm.sum() == pytest.approx(res["test"]["accuracy"])
    assert [r["epoch"] for r in res["curves"]] == [1, 2]
    assert all("val_accuracy" in r and "train_loss" in r for r in res["curves"])
    cfg = json.loads((tmp_path / "run" / "config.json").read_text())
    assert cfg["run"]["n_frames"] == 12 and cfg["run"]["hidden_dim"] == 16  # YAML < flags, both resolved
    assert res["seed"] == 42 and "torch" in res["versions"]


@pytest.mark.parametrize(
    "extra, model",
    [(["--block-pattern", "s4"], "prism_s4"), (["--block-pattern", "delta"], "prism_delta"),
     (["--model", "resnet1d"], "resnet1d"), (["--model", "transformer"], "transformer")],
    ids=["all_s4", "all_delta", "resnet1d", "transformer"],
)  # fmt: skip
def test_ablations_and_baselines_run_through_the_same_command(tmp_path, extra, model):
    res = _run(tmp_path, "--modality", "image", "--epochs", "1", *extra)
    assert res["model"] == model and "accuracy" in res["test"]


@pytest.mark.slow
def test_joint_mode_reports_every_modality(tmp_path):
    res = _run(tmp_path, "--mode", "joint", "--epochs", "1")
    assert set(res["test"]) == {"ecg", "image", "audio"}
    assert all("accuracy" in m for m in res["test"].values())


def test_bad_config_and_data_root(tmp_path, capsys):
    """Each mistake ends in one ``biodyn: error:`` line naming it, with the config error's exit code."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("epochs: 1\nbatchsize: 3\n")
    cases = [
        (["--config", str(bad)], r"unknown config keys \['batchsize'\]"),
        (["--modality", "audio", "--data-root", str(tmp_path), "--output-dir", str(tmp_path / "o")],
         "no audio dataset found"),
        (["--modality", "eeg"], "invalid modality='eeg'"),
    ]  # fmt: skip
    for args, message in cases:
        assert main(["prism", *args]) == ConfigError.exit_code
        err = capsys.readouterr().err
        assert err.startswith("biodyn: error:") and len(err.splitlines()) == 1
        assert re.search(message, err), err


@pytest.mark.data
@pytest.mark.slow
def test_real_cifar_folder_sample_trains(tmp_path):
    root = shared_data("cifar10_jpg")
    res = _run(tmp_path, "--modality", "image", "--data", "real", "--data-root", str(root.parent), "--epochs", "1",
               "--augment")  # fmt: skip
    assert res["data_source"].endswith("cifar10_jpg") and res["splits"]["test"] == 48


def test_packaged_recipes_resolve_to_valid_configs():
    import argparse

    from biodyn._cli import prism as cli
    from biodyn.train.prism import PrismRunConfig

    p = argparse.ArgumentParser()
    cli.add_arguments(p)
    for name, modality in (("prism_cifar10", "image"), ("prism_ptbxl", "ecg")):
        cfg = PrismRunConfig.from_dict(cli.resolve(p.parse_args(["--config", name, "--epochs", "2"])))
        assert cfg.modality == modality and cfg.hidden_dim == 256 and cfg.num_layers == 12 and cfg.epochs == 2


@pytest.mark.data
@pytest.mark.slow
def test_real_ptbxl_sample_trains_with_multilabel_metrics(tmp_path):
    root = shared_data("ptbxl")
    res = _run(tmp_path, "--modality", "ecg", "--data", "real", "--data-root", str(root), "--epochs", "1",
               "--limit", "16")  # fmt: skip
    assert res["task"] == "multilabel" and res["classes"] == ["NORM", "MI", "STTC", "CD", "HYP"]
    assert 0.0 <= res["test"]["macro_auroc"] <= 1.0 and res["test"]["n_single_label"] >= 1


@pytest.mark.slow
def test_joint_mode_resumes_exactly(tmp_path, monkeypatch):
    """Joint mode trains on the Trainer: a 2-epoch run killed after its first epoch and resumed ends with the
    weights and test metrics of an uninterrupted run."""
    import torch
    from safetensors.torch import load_file

    import biodyn.train.trainer as tr
    from biodyn.train.prism import PrismRunConfig, run_prism

    kw = dict(mode="joint", data="synthetic", hidden_dim=16, num_layers=2, num_heads=2, batch_size=16, limit=48,
              progress=False, lr=3e-3, n_frames=12, n_mels=8, warmup_epochs=0.0, epochs=2)  # fmt: skip
    whole = run_prism(PrismRunConfig(output_dir=str(tmp_path / "whole"), **kw))
    fit = tr.Trainer.fit
    with monkeypatch.context() as mp:  # the job dies after the first epoch's checkpoint
        mp.setattr(tr.Trainer, "fit", lambda self, stop_at=None: fit(self, stop_at=self.cfg.max_steps // 2))
        run_prism(PrismRunConfig(output_dir=str(tmp_path / "resumed"), **kw))
    resumed = run_prism(PrismRunConfig(output_dir=str(tmp_path / "resumed"), resume=True, **kw))
    assert resumed["test"] == whole["test"]
    a = load_file(str(tmp_path / "whole" / "model.safetensors"))
    b = load_file(str(tmp_path / "resumed" / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert [r["epoch"] for r in whole["curves"]["ecg"]] == [1, 2]
    assert {"val_accuracy", "train_loss"} <= set(whole["curves"]["image"][0])
