"""Bad values at the door: every numeric train setting is range-checked when the config is resolved, and
``--print-config`` validates exactly as a run does."""

import pytest
from faultkit import one_error_line, run_cli, tree

from biodyn.errors import ConfigError
from biodyn.train.config import TrainConfig, validate_train_config

BAD = [
    ("batch_size", "-4"),
    ("batch_size", "0"),
    ("max_steps", "0"),
    ("accum_steps", "0"),
    ("lr", "-1e-3"),
    ("lr", "nan"),
    ("lr", "inf"),
    ("warmup_steps", "-1"),
    ("weight_decay", "-0.1"),
    ("grad_clip", "-1"),
    ("min_lr_ratio", "1.5"),
    ("log_every", "0"),
    ("eval_every", "-5"),
    ("ckpt_every", "-1"),
    ("patience", "-1"),
    ("num_workers", "-2"),
    ("positive_ratio", "0"),
    ("positive_ratio", "1.2"),
    ("seed", "-3"),
    ("betas", "[0.9,1.5]"),
    ("betas", "[0.9]"),
    ("device", "gpu"),
    ("precision", "fp8"),
    ("task", "regression"),
    ("loss_weights", "{recon: -1.0}"),
]


CLI = {
    ("batch_size", "-4"),
    ("batch_size", "0"),
    ("max_steps", "0"),
    ("lr", "nan"),
    ("betas", "[0.9,1.5]"),
    ("device", "gpu"),
}


@pytest.mark.parametrize(("key", "value"), sorted(CLI), ids=[f"{k}={v}" for k, v in sorted(CLI)])
def test_print_config_refuses_bad_train_values(tmp_path, capsys, key, value):
    before = tree(tmp_path)
    code, out, err = run_cli(
        [
            "train",
            "experiment=smoke",
            f"train.{key}={value}",
            f"train.out_dir={tmp_path / 'run'}",
            "--print-config",
        ],
        capsys,
    )
    line = one_error_line(err)
    assert code == 2 and f"train.{key}" in line and "allowed" in line, line
    assert out == "" and tree(tmp_path) == before


@pytest.mark.parametrize(("key", "value"), BAD, ids=[f"{k}={v}" for k, v in BAD])
def test_resolved_config_refuses_bad_train_values(key, value):
    """The same check, on the resolved config (what ``biodyn train`` and ``--print-config`` call)."""
    import yaml

    cfg = TrainConfig(**{key: yaml.safe_load(value) if value not in ("nan", "inf") else float(value)})
    with pytest.raises(ConfigError, match=rf"invalid train\.{key}.*allowed"):
        validate_train_config(cfg)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("data.limit", "0"),
        ("fewshot.budget", "0"),
        ("fewshot.budget", "2"),
        ("fewshot.mode", "probe"),
        ("data.n_outputs", "-1"),
    ],
)
def test_other_experiment_values(capsys, key, value):
    code, _, err = run_cli(["train", "experiment=smoke", f"{key}={value}", "--print-config"], capsys)
    assert code == 2 and key in one_error_line(err)


def test_non_numeric_value_is_a_config_error(capsys):
    code, _, err = run_cli(["train", "experiment=smoke", "train.batch_size=lots", "--print-config"], capsys)
    assert code == 2 and "batch_size" in one_error_line(err)


def test_good_config_prints(capsys):
    code, out, _ = run_cli(["train", "experiment=smoke", "--print-config"], capsys)
    assert code == 0 and "batch_size: 16" in out


def test_trainer_validates_too():
    with pytest.raises(ConfigError, match=r"train.batch_size=0; allowed: an integer >= 1"):
        validate_train_config(TrainConfig(batch_size=0))
    with pytest.raises(ConfigError, match=r"train.max_steps=0"):
        validate_train_config(TrainConfig(max_steps=0))
    with pytest.raises(ConfigError, match=r"train.batch_size=True"):
        validate_train_config(TrainConfig(batch_size=True))
