import json
from pathlib import Path

import pytest

from biodyn.errors import ConfigError
from biodyn.train.experiment import compose_config, to_dataclass
from biodyn.train.fewshot import fewshot_indices


def test_compose_and_unknown_key():
    cfg = compose_config(["experiment=smoke", "train.lr=0.01", "model.params.width=4"])
    exp = to_dataclass(cfg)
    assert exp.name == "smoke" and exp.train.lr == 0.01 and exp.model.params["width"] == 4
    assert exp.train.max_steps == 20
    with pytest.raises(ConfigError, match="nope"):
        compose_config(["train.nope=1"])
    with pytest.raises(ConfigError):
        compose_config(["experiment=does_not_exist"])
    with pytest.raises(ConfigError):
        compose_config(["train.lr=abc"])


def test_bad_model_params_fail_before_the_data_step(monkeypatch, tmp_path):
    import biodyn.train.experiment as experiment

    def no_data(exp):
        raise AssertionError("the data step ran")

    monkeypatch.setattr(experiment, "build_data", no_data)
    exp = to_dataclass(
        compose_config(["experiment=smoke", "+model.params.nope=1", f"train.out_dir={tmp_path}"])
    )
    with pytest.raises(ConfigError, match=r"unknown key 'nope'; allowed: n_chans, .*width"):
        experiment.run_experiment(exp)
    exp = to_dataclass(
        compose_config(["experiment=smoke", "model.params.width=wide", f"train.out_dir={tmp_path}"])
    )
    with pytest.raises(ConfigError, match=r"width='wide' has type str; expected int"):
        experiment.run_experiment(exp)


def test_fewshot_indices_by_subject():
    import numpy as np

    rng = np.random.default_rng(0)
    subjects = np.repeat(np.arange(100), 3)
    labels = np.repeat(rng.integers(0, 3, 100), 3)
    idx = fewshot_indices(labels, subjects, 0.1, seed=42)
    chosen = set(subjects[idx].tolist())
    assert 9 <= len(chosen) <= 12
    assert all((subjects[idx] == s).sum() == 3 for s in chosen)  # whole subjects
    assert set(labels[idx].tolist()) == {0, 1, 2}  # every stratum represented
    assert not np.array_equal(idx, fewshot_indices(labels, subjects, 0.1, seed=7))
    assert len(fewshot_indices(labels, subjects, 1.0, seed=0)) == 300
    with pytest.raises(ConfigError):
        fewshot_indices(labels, subjects, 0.0, seed=0)


def test_fewshot_indices_by_window_within_one_patient():
    """A window budget is a fraction of each class's windows (>= 1 each), so it bites when every training
    window belongs to one patient, where a subject budget keeps that patient whole."""
    import numpy as np

    labels = np.array([0] * 40 + [1] * 10)
    subjects = np.zeros(50, dtype=int)
    assert len(fewshot_indices(labels, subjects, 0.1, seed=0)) == 50  # the one subject, whole
    idx = fewshot_indices(labels, subjects, 0.1, seed=0, unit="window")
    assert np.bincount(labels[idx]).tolist() == [4, 1]
    assert np.all(np.diff(idx) > 0)  # sorted, no repeats
    assert np.bincount(labels[fewshot_indices(labels, subjects, 0.01, 3, unit="window")]).tolist() == [1, 1]
    assert not np.array_equal(idx, fewshot_indices(labels, subjects, 0.1, seed=1, unit="window"))
    multi = np.zeros((50, 3), dtype=np.float32)  # multi-hot: stratum = first positive class, or none
    multi[:20, 0] = multi[20:30, 2] = 1
    got = multi[fewshot_indices(multi, subjects, 0.1, seed=0, unit="window")]
    assert got[:, 0].sum() == 2 and got[:, 2].sum() == 1 and (got.sum(1) == 0).sum() == 2
    with pytest.raises(ConfigError, match=r"fewshot\.unit"):
        fewshot_indices(labels, subjects, 0.1, seed=0, unit="record")


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_smoke_experiment_cli(tmp_path):
    """experiment=smoke as shipped (20 steps) end to end on CPU through the ptbxl corpus and the cache."""
    from biodyn.testing import shared_data

    shared_data("ptbxl")
    from biodyn.cli import main

    out = tmp_path / "smoke"
    rc = main(["train", "experiment=smoke", f"train.out_dir={out}"])
    assert rc == 0
    res = json.loads((out / "results.json").read_text())
    assert res["experiment"] == "smoke" and res["data_manifest_hash"]
    assert res["command"] == f"biodyn train experiment=smoke train.out_dir={out}"
    assert 0.0 <= res["metrics"]["test_macro_auroc"] <= 1.0
    assert (out / "config.yaml").is_file() and (out / "checkpoints" / "best" / "model.safetensors").is_file()
    from biodyn.models import from_pretrained  # the run reloads with what applying the model needs

    spec = from_pretrained(out).input_spec
    assert spec.channels and spec.sfreq > 0 and spec.window_s > 0 and isinstance(spec.preprocessing, dict)
    assert main(["eval", str(out), "--split", "test", "--json", str(tmp_path / "ev.json")]) == 0
    ev = json.loads((tmp_path / "ev.json").read_text())
    assert ev["metrics"]["test_macro_auroc"] == pytest.approx(res["metrics"]["test_macro_auroc"])
    # regression: --split eval chose the seizure report whatever the run; it names the test split now
    assert main(["eval", str(out), "--split", "eval"]) == 0
    ev = json.loads((out / "eval_test.json").read_text())
    assert ev["metrics"]["test_macro_auroc"] == pytest.approx(res["metrics"]["test_macro_auroc"])
    assert not (out / "eval_results.json").exists()
    # regression: eval read checkpoints/<which> itself, without the fallback to the checkpoint an interrupted
    # swap leaves (.best.old); it finds checkpoints the way every loader does now
    (out / "checkpoints" / "best").rename(out / "checkpoints" / ".best.old")
    assert main(["eval", str(out), "--json", str(tmp_path / "old.json")]) == 0
    ev = json.loads((tmp_path / "old.json").read_text())
    assert ev["metrics"]["test_macro_auroc"] == pytest.approx(res["metrics"]["test_macro_auroc"])


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_fewshot_protocol_and_report(tmp_path):
    import torch
    from safetensors.torch import load_file

    from biodyn.models import create_model
    from biodyn.report import make_report
    from biodyn.testing import shared_data
    from biodyn.train.experiment import run_fewshot
    from biodyn.train.seed import seed_everything

    shared_data("ptbxl")
    cfg = compose_config(
        [
            "experiment=smoke",
            "data.limit=120",
            f"data.cache_dir={tmp_path / 'cache'}",
            "train.max_steps=2",
            "train.eval_every=2",
            "train.tensorboard=false",
            "fewshot.mode=linear_probe",
            f"results_dir={tmp_path / 'results'}",
        ]
    )
    exp = to_dataclass(cfg)
    paths = run_fewshot(exp, budgets=(0.1, 1.0), seeds=(42, 0))
    assert len(paths) == 4
    base = tmp_path / "results" / "smoke" / "cnn1d" / "ptbxl-multilabel"
    assert {p.relative_to(base).as_posix() for p in paths} == {
        "10pct/seed42.json",
        "10pct/seed0.json",
        "100pct/seed42.json",
        "100pct/seed0.json",
    }
    r = json.loads((base / "10pct" / "seed42.json").read_text())
    r_full = json.loads((base / "100pct" / "seed42.json").read_text())
    assert r["n_train_windows"] < r_full["n_train_windows"]
    for key in ("metrics", "config", "git_commit", "data_manifest_hash", "versions"):
        assert key in r
    assert r["config"]["fewshot"]["mode"] == "linear_probe" and r["seed"] == 42
    # linear probe: the feature extractor's parameters stay at their initialisation
    seed_everything(42)
    init = create_model("cnn1d", **r["model_config"])
    trained = load_file(str(base / "10pct" / "run_seed42" / "checkpoints" / "last" / "model.safetensors"))
    for key, value in init.state_dict().items():  # weights and normalisation statistics alike
        if not key.startswith("head."):
            assert torch.equal(trained[key], value), key
    assert not torch.equal(trained["head.weight"], init.state_dict()["head.weight"])
    md = open(make_report(tmp_path / "results", seeds=(42, 0))["report"]).read()
    assert "test_macro_auroc" in md and "missing" not in md


def test_config_tree_ships_inside_the_package(monkeypatch):
    from importlib.resources import files

    from biodyn.configs import CONFIG_DIR_ENV
    from biodyn.train.experiment import config_dir

    monkeypatch.delenv(CONFIG_DIR_ENV, raising=False)
    packaged = files("biodyn") / "configs"
    assert (packaged / "config.yaml").is_file() and (packaged / "experiment" / "smoke.yaml").is_file()
    assert config_dir() == Path(str(packaged)).resolve()


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_prism_with_moe_trains_through_biodyn_train(tmp_path):
    """``biodyn train model=prism model.params.ffn=moe``: the MoE auxiliary term is a logged loss term."""
    from biodyn.cli import main
    from biodyn.testing import shared_data

    shared_data("ptbxl")
    out = tmp_path / "moe"
    tiny = [
        "model.params.hidden_dim=16",
        "model.params.num_heads=2",
        "model.params.num_layers=2",
        "model.params.delta_every=2",
        "model.params.moe_num_experts=4",
    ]
    rc = main(
        [
            "train",
            "model=prism",
            "model.params.ffn=moe",
            *tiny,
            f"train.out_dir={out}",
            "train.max_steps=2",
            "train.batch_size=4",
            "train.eval_every=2",
            "train.ckpt_every=2",
            "train.log_every=1",
            "train.progress=false",
            "data.limit=16",
        ]
    )
    assert rc == 0
    rows = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    train = [r for r in rows if r["kind"] == "train"]
    assert len(train) == 2 and all(
        r["loss"] == pytest.approx(r["loss_task"] + r["loss_moe_balance"]) for r in train
    )
    res = json.loads((out / "results.json").read_text())
    assert res["model"] == "prism" and "test_loss_moe_balance" in res["metrics"]
