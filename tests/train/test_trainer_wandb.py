"""Weights & Biases logging (``train.wandb_project``, ``biodyn prism --wandb-project``): the same scalars as
log.jsonl at the same steps, one W&B run per training run (continued on resume), and the real library in
offline mode."""

import json
import sys
import types

import pytest
import torch

from biodyn.errors import ConfigError
from biodyn.models import create_model
from biodyn.train import TensorDictDataset, TrainConfig, Trainer


def _data(n=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return TensorDictDataset(torch.randn(n, 2, 32, generator=g), torch.randint(0, 3, (n,), generator=g))


def _trainer(out, **kw):
    torch.manual_seed(0)
    model = create_model("cnn1d", n_chans=2, n_outputs=3, n_times=32, sfreq=32.0, width=8, depth=2)
    base = dict(
        out_dir=str(out),
        task="multiclass",
        batch_size=8,
        max_steps=6,
        log_every=1,
        eval_every=3,
        ckpt_every=3,
        warmup_steps=1,
        lr=3e-3,
        progress=False,
        tensorboard=False,
        wandb_project="biodyn-tests",
    )
    cfg = TrainConfig(**{**base, **kw})
    return Trainer(model, _data(), _data(seed=1), cfg, model_name="cnn1d")


class _FakeWandb(types.ModuleType):
    """Stands in for ``wandb``: records init's arguments and every log call."""

    def __init__(self):
        super().__init__("wandb")
        self.inits, self.logged, self.finished = [], [], 0

    def init(self, **kw):
        self.inits.append(kw)
        fake = self

        class _Run:
            def log(self, scalars, step):
                fake.logged.append((step, dict(scalars)))

            def finish(self):
                fake.finished += 1

        return _Run()


def test_logs_what_log_jsonl_logs_and_resumes_the_same_run(tmp_path, monkeypatch):
    fake = _FakeWandb()
    monkeypatch.setitem(sys.modules, "wandb", fake)
    _trainer(tmp_path, max_steps=3).fit()
    (init,) = fake.inits
    assert (
        init["project"] == "biodyn-tests"
        and init["dir"] == str(tmp_path)
        and init["id"] == (tmp_path / "wandb_run_id").read_text().strip()
    )
    assert init["config"]["wandb_project"] == "biodyn-tests" and init["config"]["max_steps"] == 3
    rows = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    want = [
        (r["step"], {f"{r['kind']}/{k}": v for k, v in r.items() if k not in ("step", "kind")}) for r in rows
    ]
    assert fake.logged == want and any("train/loss" in s for _, s in fake.logged) and fake.finished == 1
    assert any("eval/val_loss" in s for _, s in fake.logged)
    # resumed: the same W&B run id, logging from the checkpoint's step on
    _trainer(tmp_path, resume=True).fit()
    assert fake.inits[1]["id"] == init["id"] and fake.finished == 2
    assert min(step for step, _ in fake.logged[len(want) :]) == 4
    # a fresh (not resumed) run in the same folder is a new W&B run
    _trainer(tmp_path / "again").fit()
    assert fake.inits[-1]["id"] != init["id"]


def test_without_wandb_installed_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "wandb", None)  # import wandb raises ImportError
    with pytest.raises(
        ConfigError, match=r"wandb_project='biodyn-tests' needs Weights & Biases.*biodyn\[wandb\]"
    ):
        _trainer(tmp_path).fit()


def test_a_blank_project_name_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="wandb_project"):
        _trainer(tmp_path, wandb_project=" ")


def test_real_wandb_offline_writes_its_run_folder(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    _trainer(tmp_path).fit()
    run_id = (tmp_path / "wandb_run_id").read_text().strip()
    (folder,) = (tmp_path / "wandb").glob(f"offline-run-*-{run_id}")
    assert list(folder.glob("*.wandb")) and (folder / "files").is_dir()


def test_prism_cli_flag_reaches_the_trainer(tmp_path):
    import argparse

    from biodyn._cli import prism as cli
    from biodyn.systems.prism import PrismRunConfig, compose

    p = argparse.ArgumentParser()
    cli.add_arguments(p)
    cfg = compose(cli.overrides(p.parse_args(["--wandb-project", "prism-runs"])))
    assert cfg.wandb_project == "prism-runs" and PrismRunConfig().wandb_project is None
