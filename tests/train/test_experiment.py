import json

import pytest

from biodyn.errors import ConfigError
from biodyn.train.experiment import compose_config, fewshot_indices, to_dataclass


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


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_smoke_experiment_cli(tmp_path):
    """experiment=smoke as shipped (20 steps) end to end on CPU through the ptbxl corpus and the cache."""
    from biodyn.testing import shared_data

    shared_data("ptbxl")
    from biodyn.cli import main

    out = tmp_path / "smoke"
    rc = main(["train", "experiment=smoke", f"train.out_dir={out}"])  # fmt: skip
    assert rc == 0
    res = json.loads((out / "results.json").read_text())
    assert res["experiment"] == "smoke" and res["data_manifest_hash"]
    assert 0.0 <= res["metrics"]["test_macro_auroc"] <= 1.0
    assert (out / "config.yaml").is_file() and (out / "checkpoints" / "best" / "model.safetensors").is_file()
    assert main(["eval", str(out), "--split", "test", "--json", str(tmp_path / "ev.json")]) == 0
    ev = json.loads((tmp_path / "ev.json").read_text())
    assert ev["metrics"]["test_macro_auroc"] == pytest.approx(res["metrics"]["test_macro_auroc"])
