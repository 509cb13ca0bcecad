"""``biodyn prism``: tiny runs through the CLI (synthetic data), config handling, bad input."""

import json
import re

import numpy as np
import pytest
import yaml

from biodyn.cli import main
from biodyn.errors import ConfigError, NothingMatchedError
from biodyn.testing import shared_data

TINY = [
    "--hidden-dim",
    "16",
    "--num-layers",
    "2",
    "--num-heads",
    "2",
    "--batch-size",
    "16",
    "--limit",
    "48",
    "--no-progress",
    "--lr",
    "3e-3",
]


def _run(tmp_path, *extra, name="run"):
    out = tmp_path / name
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text("n_frames: 12\nn_mels: 8\nwarmup_epochs: 0\n")
    rc = main(
        [
            "prism",
            "--data",
            "synthetic",
            "--config",
            str(cfg),
            *TINY,
            "--output-dir",
            str(out),
            "--json",
            str(tmp_path / f"{name}.json"),
            *extra,
        ]
    )
    assert rc == 0
    res = json.loads((out / "results.json").read_text())
    assert res == json.loads((tmp_path / f"{name}.json").read_text())
    assert (out / "curves.png").stat().st_size > 1000 and (out / "config.yaml").is_file()
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
    cfg = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert cfg["run"]["n_frames"] == 12 and cfg["run"]["hidden_dim"] == 16  # YAML < flags, both resolved
    assert res["seed"] == 42 and "torch" in res["versions"]


@pytest.mark.parametrize(
    "extra, model",
    [
        (["--block-pattern", "s4"], "prism_s4"),
        (["--block-pattern", "delta"], "prism_delta"),
        (["--model", "resnet1d"], "resnet1d"),
        (["--model", "transformer"], "transformer"),
    ],
    ids=["all_s4", "all_delta", "resnet1d", "transformer"],
)
def test_ablations_and_baselines_run_through_the_same_command(tmp_path, extra, model, capsys):
    res = _run(tmp_path, "--modality", "image", "--epochs", "1", *extra)
    assert res["model"] == model and "accuracy" in res["test"]
    # regression: the run folder reloads (its config.json is a run config, not an export; its checkpoints
    # record the full model config, the signal's shape included)
    from biodyn.models import from_pretrained

    m = from_pretrained(tmp_path / "run")
    assert m.model_name == model and not m.training and m.n_outputs == len(res["classes"])
    err = capsys.readouterr().err  # the width flags PRISM uses are said to be unused, not dropped silently
    if model == "resnet1d":
        assert "biodyn: note: --model resnet1d does not use --hidden-dim, --num-layers, --num-heads" in err
    else:
        assert "does not use" not in err


def test_moe_ffn_trains_through_the_cli_with_its_aux_term_logged(tmp_path):
    res = _run(tmp_path, "--modality", "image", "--epochs", "1", "--ffn", "moe")
    assert res["model"] == "prism_moe" and res["model_config"]["ffn"] == "moe" and "accuracy" in res["test"]
    assert 0 < res["n_params_active"] < res["n_params"] and res["moe_drops"] == {"routed": 0, "dropped": 0}
    rows = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    train = [r for r in rows if r["kind"] == "train"]
    assert train and all(r["loss"] == pytest.approx(r["loss_task"] + r["loss_moe_balance"]) for r in train)
    assert any("val_loss_moe_balance" in r for r in rows if r["kind"] == "eval")


@pytest.mark.slow
def test_joint_mode_with_moe_logs_the_aux_term(tmp_path):
    res = _run(tmp_path, "--mode", "joint", "--epochs", "1", "--ffn", "moe")
    assert res["prism_config"]["ffn"] == "moe" and res["n_params_active"] < res["n_params"]
    rows = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert all("loss_moe_balance" in r for r in rows if r["kind"] == "train")


@pytest.mark.slow
def test_joint_mode_reports_every_modality(tmp_path, capsys):
    res = _run(tmp_path, "--mode", "joint", "--epochs", "1")
    assert "NOTE: --data synthetic" in capsys.readouterr().out  # said in joint mode too
    assert set(res["test"]) == {"ecg", "image", "audio"}
    assert {"macro_auroc", "n_single_label"} <= set(res["test"]["ecg"])  # multi-label, as PTB-XL
    assert all("accuracy" in m for m in res["test"].values())


def test_bad_config_and_data_root(tmp_path, capsys):
    """Each mistake ends in one ``biodyn: error:`` line naming it, with the config error's exit code."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("epochs: 1\nbatchsize: 3\n")
    cases = [
        (["--config", str(bad)], r"unknown config keys \['batchsize'\]", ConfigError.exit_code),
        (
            ["--modality", "audio", "--data-root", str(tmp_path), "--output-dir", str(tmp_path / "o")],
            "no audio dataset found",
            NothingMatchedError.exit_code,
        ),  # a data folder without the data: 6
        (["--modality", "eeg"], "invalid modality='eeg'", ConfigError.exit_code),
    ]
    for args, message, code in cases:
        assert main(["prism", *args]) == code
        err = capsys.readouterr().err
        assert err.startswith("biodyn: error:") and len(err.splitlines()) == 1
        assert re.search(message, err), err


@pytest.mark.data
@pytest.mark.slow
def test_real_cifar_folder_sample_trains(tmp_path):
    root = shared_data("cifar10_jpg")
    res = _run(
        tmp_path,
        "--modality",
        "image",
        "--data",
        "real",
        "--data-root",
        str(root.parent),
        "--epochs",
        "1",
        "--augment",
    )
    assert res["data_source"].endswith("cifar10_jpg") and res["splits"]["test"] == 48


def test_packaged_recipes_resolve_to_valid_configs():
    import argparse

    from biodyn._cli import prism as cli
    from biodyn.systems.prism import compose

    p = argparse.ArgumentParser()
    cli.add_arguments(p)
    for name, modality in (("prism_cifar10", "image"), ("prism_ptbxl", "ecg")):
        cfg = compose(cli.overrides(p.parse_args(["--config", name, "--epochs", "2"])))
        assert cfg.modality == modality and cfg.hidden_dim == 256 and cfg.num_layers == 12 and cfg.epochs == 2


@pytest.mark.data
@pytest.mark.slow
def test_real_ptbxl_sample_trains_with_multilabel_metrics(tmp_path):
    root = shared_data("ptbxl")
    res = _run(
        tmp_path,
        "--modality",
        "ecg",
        "--data",
        "real",
        "--data-root",
        str(root),
        "--epochs",
        "1",
        "--limit",
        "16",
    )
    assert res["task"] == "multilabel" and res["classes"] == ["NORM", "MI", "STTC", "CD", "HYP"]
    assert 0.0 <= res["test"]["macro_auroc"] <= 1.0 and res["test"]["n_single_label"] >= 1


@pytest.mark.slow
def test_joint_mode_resumes_exactly(tmp_path, monkeypatch):
    """Joint mode trains on the Trainer: a 2-epoch run killed after its first epoch and resumed ends with the
    weights and test metrics of an uninterrupted run."""
    import torch
    from safetensors.torch import load_file

    import biodyn.train.trainer as tr
    from biodyn.systems.prism import PrismRunConfig, run_prism

    kw = dict(
        mode="joint",
        data="synthetic",
        hidden_dim=16,
        num_layers=2,
        num_heads=2,
        batch_size=16,
        limit=48,
        progress=False,
        lr=3e-3,
        n_frames=12,
        n_mels=8,
        warmup_epochs=0.0,
        epochs=2,
    )
    whole = run_prism(PrismRunConfig(output_dir=str(tmp_path / "whole"), **kw))
    # from Python the run returns its trained model and its folder beside the results
    assert whole.run_dir == tmp_path / "whole" and whole.results == json.loads(
        (whole.run_dir / "results.json").read_text()
    )
    assert whole.model.model_name == "prism_multimodal" and not whole.model.training
    fit = tr.Trainer.fit
    with monkeypatch.context() as mp:  # the job dies after the first epoch's checkpoint
        mp.setattr(tr.Trainer, "fit", lambda self, stop_at=None: fit(self, stop_at=self.cfg.max_steps // 2))
        run_prism(PrismRunConfig(output_dir=str(tmp_path / "resumed"), **kw))
    resumed = run_prism(PrismRunConfig(output_dir=str(tmp_path / "resumed"), resume=True, **kw))
    assert resumed["test"] == whole["test"]
    a = load_file(str(tmp_path / "whole" / "model" / "model.safetensors"))
    b = load_file(str(tmp_path / "resumed" / "model" / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    from biodyn.models import from_pretrained  # the run's model folder rebuilds the multi-modality model

    net = from_pretrained(tmp_path / "whole" / "model")
    assert net.modalities == ["ecg", "image", "audio"] and all(
        torch.equal(v, a[k]) for k, v in net.state_dict().items()
    )
    run_net = from_pretrained(tmp_path / "whole")  # the run folder: its best checkpoint, the same model
    assert run_net.model_name == "prism_multimodal" and all(
        torch.equal(v, a[k]) for k, v in run_net.state_dict().items()
    )
    assert [r["epoch"] for r in whole["curves"]["ecg"]] == [1, 2]
    assert {"val_accuracy", "train_loss"} <= set(whole["curves"]["image"][0])


def _fsdd(folder, digits=("0", "1", "2"), reps=12):
    """Tiny FSDD-named clips ``{digit}_bob_{rep}.wav`` (0.1 s of noise at 8 kHz)."""
    import soundfile as sf

    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for d in digits:
        for r in range(reps):
            sf.write(
                str(folder / f"{d}_bob_{r}.wav"), 0.1 * rng.standard_normal(800).astype(np.float32), 8000
            )


def _image_folder(root, classes=("cat", "dog"), n=10):
    from PIL import Image

    for split in ("train", "test"):
        for k, c in enumerate(classes):
            (root / split / c).mkdir(parents=True)
            for i in range(n):
                Image.new("RGB", (8, 8), (40 * k, 10 * i, 0)).save(root / split / c / f"{i}.png")


def test_data_root_prefers_a_known_child_over_reading_the_parent_as_class_folders(tmp_path):
    """A parent holding a flat ``fsdd/`` is not an audio dataset with one class 'fsdd'; a parent holding
    ``cifar10_jpg/`` beside unrelated train/ test/ folders is not an image folder; ``cifar/`` (PRISM's
    ``cifar/cifar-10-batches-py/``) is found."""
    from biodyn.systems.prism.run import PrismRunConfig, load_modality, resolve_root

    _fsdd(tmp_path / "dr" / "fsdd")
    assert resolve_root("audio", str(tmp_path / "dr")) == tmp_path / "dr" / "fsdd"
    data = load_modality("audio", PrismRunConfig(data_root=str(tmp_path / "dr"), n_frames=4, n_mels=8))
    assert data.classes == ["0", "1", "2"]
    assert resolve_root("audio", str(tmp_path / "dr" / "fsdd")) == tmp_path / "dr" / "fsdd"
    _image_folder(tmp_path / "dr" / "cifar10_jpg")
    (tmp_path / "dr" / "train").mkdir()
    (tmp_path / "dr" / "test").mkdir()
    assert resolve_root("image", str(tmp_path / "dr")) == tmp_path / "dr" / "cifar10_jpg"
    pickles = tmp_path / "datasets" / "cifar" / "cifar-10-batches-py"
    pickles.mkdir(parents=True)
    (pickles / "data_batch_1").touch()
    (pickles / "test_batch").touch()
    assert resolve_root("image", str(tmp_path / "datasets")) == tmp_path / "datasets" / "cifar"


def test_limit_keeps_a_seeded_class_stratified_subset(tmp_path):
    """``--limit N`` keeps about N/K of each class (the lists are sorted by class: their first N items were
    one or two classes), the same subset for the same seed."""
    from biodyn.systems.prism.run import PrismRunConfig, load_modality, stratified_subset

    y = np.repeat(np.arange(10), 30)
    idx = stratified_subset(y, 200, seed=0)
    assert len(idx) == 200 and np.bincount(y[idx]).tolist() == [20] * 10
    assert np.array_equal(idx, stratified_subset(y, 200, seed=0))
    assert not np.array_equal(idx, stratified_subset(y, 200, seed=1))
    assert sorted(np.bincount(y[stratified_subset(y, 25, seed=0)])) == [2] * 5 + [3] * 5
    uneven = np.array([0] * 2 + [1] * 20)
    assert np.bincount(uneven[stratified_subset(uneven, 10, seed=0)]).tolist() == [2, 8]
    assert np.array_equal(stratified_subset(y, None, seed=0), np.arange(300))

    _fsdd(tmp_path / "fsdd")
    audio = load_modality(
        "audio", PrismRunConfig(data_root=str(tmp_path / "fsdd"), n_frames=4, n_mels=8, limit=3)
    )
    for split in (audio.train, audio.val, audio.test):
        assert sorted(split.y.tolist()) == [0, 1, 2]
    _image_folder(tmp_path / "img")
    image = load_modality("image", PrismRunConfig(data_root=str(tmp_path / "img"), patch_size=4, limit=4))
    for split in (image.train, image.test):
        assert sorted(split.y.tolist()) == [0, 0, 1, 1]


def test_config_values_of_the_wrong_type(tmp_path, capsys):
    """Numeric strings (YAML 1.1 reads ``3e-4`` as one) are numbers, a quoted ``'false'`` is false (the config
    schema types them); anything else is one line naming the key, the value and the type, before any data is
    read (the data root here holds none)."""
    import argparse

    from biodyn._cli import prism as cli
    from biodyn.systems.prism import compose

    good = tmp_path / "good.yaml"
    good.write_text("lr: 3e-4\nepochs: '2'\nlimit: 10\naugment: 'false'\n")
    p = argparse.ArgumentParser()
    cli.add_arguments(p)
    cfg = compose(cli.overrides(p.parse_args(["--config", str(good)])))
    assert cfg.lr == 3e-4 and cfg.epochs == 2 and cfg.limit == 10 and cfg.augment is False
    for text, message in (
        ("epochs: abc\n", "invalid epochs='abc'; expected an integer"),
        ("lr: fast\n", "invalid lr='fast'; expected a finite number"),
        ("batch_size: 2.5\n", "invalid batch_size=2.5; expected an integer"),
        ("limit: -5\n", "limit must be >= 1, got -5"),  # had dropped each split's last 5
        ("n_mels: 0\n", "n_mels must be >= 1, got 0"),
        ("augment: maybe\n", "invalid augment='maybe'; expected true or false"),
        ("early_stopping: -1\n", "early_stopping must be >= 0, got -1"),
        ("warmup_epochs: -0.5\n", "warmup_epochs must be >= 0, got -0.5"),
        ("lr: 0\n", "lr must be > 0, got 0.0"),
    ):
        bad = tmp_path / "bad.yaml"
        bad.write_text(text)
        rc = main(
            [
                "prism",
                "--config",
                str(bad),
                "--modality",
                "audio",
                "--data-root",
                str(tmp_path),
                "--output-dir",
                str(tmp_path / "o"),
            ]
        )
        err = capsys.readouterr().err
        assert rc == ConfigError.exit_code and err == f"biodyn: error: {message}\n"


def test_synthetic_data_has_the_real_modality_shape_and_label_kind():
    import torch

    from biodyn.systems.prism import PrismRunConfig, load_modality

    ecg = load_modality("ecg", PrismRunConfig(data="synthetic", limit=64))
    assert (ecg.n_chans, ecg.n_times, ecg.task, len(ecg.classes)) == (12, 1000, "multilabel", 5)
    assert tuple(ecg.train[0]["x"].shape) == (12, 1000) and ecg.train.y.shape == (64, 5)
    per_record = ecg.train.y.sum(1)
    assert ecg.train.y.dtype == torch.float32 and set(per_record.tolist()) == {1.0, 2.0}
    image = load_modality("image", PrismRunConfig(data="synthetic", limit=8))
    assert (image.n_chans, image.n_times, image.task, len(image.classes)) == (48, 64, "multiclass", 10)


@pytest.mark.slow
def test_single_run_folder_reloads_evaluates_and_predicts_on_new_wav_files(tmp_path, monkeypatch, capsys):
    """Regression (the issue's first seam bug): a `biodyn prism --mode single` run folder did not reload (its
    config.json read as an export's) and `biodyn eval` refused it (no config.yaml). It now writes config.yaml,
    reloads through from_pretrained with what prediction needs, evaluates, and predicts on WAV files without
    featurising the training split."""
    from biodyn.datasets import audio
    from biodyn.datasets.audio import MelConfig, fix_length, load_audio, log_mel, read_wav
    from biodyn.models import from_pretrained
    from biodyn.systems.prism import predict

    root = tmp_path / "fsdd"
    _fsdd(root, reps=20)
    out = tmp_path / "run"
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text("n_frames: 12\nn_mels: 8\nwarmup_epochs: 0\n")
    assert (
        main(
            [
                "prism",
                "--modality",
                "audio",
                "--data-root",
                str(root),
                "--config",
                str(cfg),
                *TINY,
                "--epochs",
                "1",
                "--output-dir",
                str(out),
            ]
        )
        == 0
    )
    res = json.loads((out / "results.json").read_text())
    assert (out / "config.yaml").is_file() and not (out / "config.json").exists()
    assert (out / "log.jsonl").is_file() and (out / "checkpoints" / "best").is_dir()
    model = from_pretrained(out)
    spec = model.input_spec
    assert (
        spec.input_form == "log-mel" and spec.extra["mel"]["n_mels"] == 8 and spec.classes == ["0", "1", "2"]
    )
    assert len(spec.feature_norm["mean"]) == len(spec.feature_norm["std"]) == 8
    # the statistics are the training split's: recomputed here from the training clips
    d = load_audio(root, MelConfig(n_mels=8, n_frames=12))
    np.testing.assert_allclose(spec.feature_norm["mean"], d["train"]["x"].mean(axis=(0, 1)), rtol=1e-5)

    assert main(["eval", str(out), "--json", str(tmp_path / "ev.json")]) == 0
    ev = json.loads((tmp_path / "ev.json").read_text())
    assert ev["system"] == "prism" and ev["metrics"]["accuracy"] == pytest.approx(res["test"]["accuracy"])
    # a run written before config.yaml (its run config in config.json) still evaluates
    old = {
        k: v
        for k, v in yaml.safe_load((out / "config.yaml").read_text()).items()
        if k not in ("system", "mode")
    }
    (out / "config.json").write_text(json.dumps(old))
    (out / "config.yaml").unlink()
    assert main(["eval", str(out), "--json", str(tmp_path / "ev_old.json")]) == 0
    assert json.loads((tmp_path / "ev_old.json").read_text())["metrics"] == ev["metrics"]

    def refuse(*a, **k):
        raise AssertionError("predict read the training data")

    monkeypatch.setattr(audio, "load_audio", refuse)
    files = d["test"]["files"]
    pred = predict(out, files)
    acc = float(np.mean([int(lab) == y for lab, y in zip(pred.labels, d["test"]["y"])]))
    assert acc == pytest.approx(res["test"]["accuracy"])  # the test split, featurised file by file
    # an independent featurisation of one file, standardised with the saved statistics
    x = fix_length(log_mel(read_wav(files[0])[0], MelConfig(n_mels=8, n_frames=12)), 12)
    x = (x - np.asarray(spec.feature_norm["mean"])) / np.asarray(spec.feature_norm["std"])
    import torch

    with torch.no_grad():
        ref = torch.softmax(model(torch.as_tensor(x.T[None], dtype=torch.float32)), -1)[0].numpy()
    np.testing.assert_allclose(pred.probs[0], ref, rtol=1e-4, atol=1e-6)
    capsys.readouterr()
    assert main(["prism", "--predict", str(out), *files[:2], "--json", str(tmp_path / "p.json")]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith(f"{files[0]}: {pred.labels[0]} (p=")
    rows = json.loads((tmp_path / "p.json").read_text())["predictions"]
    assert [r["label"] for r in rows] == pred.labels[:2]


@pytest.mark.slow
def test_joint_run_folder_evaluates(tmp_path):
    res = _run(tmp_path, "--mode", "joint", "--epochs", "1")
    assert main(["eval", str(tmp_path / "run"), "--json", str(tmp_path / "ev.json")]) == 0
    ev = json.loads((tmp_path / "ev.json").read_text())["metrics"]
    assert set(ev) == {"ecg", "image", "audio"}
    for m in ev:
        key = "macro_auroc" if m == "ecg" else "accuracy"
        assert ev[m][key] == pytest.approx(res["test"][m][key])
