"""Training the seizure detector: focal-loss task, early stopping on dev sensitivity, exact resume, NaN debug."""

import numpy as np
import pytest
import torch
from torch.utils.data import Dataset

from biodyn.models import create_model
from biodyn.train.config import TrainConfig
from biodyn.train.trainer import Trainer

SMALL = {
    "tcn_channels": [4, 4],
    "node_dim": 8,
    "node_layers": 1,
    "edge_dim": 4,
    "edge_layers": 1,
    "d_state": 4,
    "edge_d_state": 4,
    "mamba_headdim": 4,
    "gdn_heads": 2,
    "edge_gdn_heads": 2,
    "pe_k": 4,
    "decoder_dim": 8,
    "tcn_stride": 4,
}


class Windows(Dataset):
    """Seizure windows carry a 6 Hz rhythm on every channel; background is noise."""

    fs = 16.0

    def __init__(self, n=8, t=64, c=3, seed=0):
        rng = np.random.default_rng(seed)
        self.labels = np.array([i % 2 for i in range(n)])
        tt = np.arange(t) / self.fs
        self.x = rng.standard_normal((n, c, t)).astype(np.float32)
        self.x[self.labels == 1] += 3 * np.sin(2 * np.pi * 6 * tt).astype(np.float32)
        self.mask = np.repeat(self.labels[:, None], t, axis=1)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return {
            "x": torch.from_numpy(self.x[i]),
            "y": torch.tensor(self.labels[i]),
            "mask": torch.from_numpy(self.mask[i]),
        }


def _trainer(tmp_path, stack="bimamba2", **kw):
    torch.manual_seed(0)
    model = create_model(f"seizure_{stack}", n_chans=3, n_outputs=1, n_times=64, sfreq=16.0, **SMALL)
    cfg = TrainConfig(
        out_dir=str(tmp_path),
        task="seizure",
        batch_size=2,
        max_steps=4,
        warmup_steps=1,
        eval_every=2,
        ckpt_every=2,
        log_every=1,
        early_stop_metric="val_sens_at_10fa",
        early_stop_mode="max",
        progress=False,
        tensorboard=False,
        sampler="balanced",
        positive_ratio=0.5,
        focal_gamma_warmup_steps=2,
        precision="fp32",
        device="cpu",
        **kw,
    )
    return Trainer(model, Windows(), Windows(4, seed=1), cfg, model_name=f"seizure_{stack}")


@pytest.mark.slow
@pytest.mark.parametrize("stack", ["bimamba2", "gdn"])
def test_exact_resume_and_dev_sensitivity_metric(tmp_path, stack):
    a = _trainer(tmp_path / "a", stack)
    a.fit()
    b = _trainer(tmp_path / "b", stack)
    b.fit(stop_at=2)
    c = _trainer(tmp_path / "b", stack, resume=True)
    c.fit()
    for (n, p), (_, q) in zip(a.model.state_dict().items(), c.model.state_dict().items()):
        assert torch.equal(p, q), f"{n} differs after resume"
    evals = [r for r in a.history if r["kind"] == "eval"]
    assert len(evals) == 2 and all(0 <= r["val_sens_at_10fa"] <= 1 for r in evals)
    assert a.best == max(r["val_sens_at_10fa"] for r in evals)
    assert (tmp_path / "a" / "checkpoints" / "best" / "state.json").exists()


def test_gamma_warmup_follows_the_step(tmp_path):
    t = _trainer(tmp_path)
    t.task.step = 0
    assert t.task.alpha == 0.25 and t.task.warmup == 2
    batch = Windows()[0]
    logits = torch.zeros(1, 64)
    b = {"mask": batch["mask"][None]}
    l0 = float(t.task.loss(logits, b))  # gamma 0: alpha-weighted BCE
    t.task.step = 2
    l2 = float(t.task.loss(logits, b))  # gamma 2 at p = 0.5: a quarter of it
    assert l2 == pytest.approx(l0 / 4, rel=1e-6)


def test_nan_debug_names_the_first_non_finite_module(tmp_path, monkeypatch):
    from biodyn.train.nan_guard import NonFiniteError

    monkeypatch.setenv("BIODYN_NAN_DEBUG", "1")
    t = _trainer(tmp_path)
    with torch.no_grad():
        t.model.proj.weight[0, 0] = float("nan")
    with pytest.raises(NonFiniteError, match="'proj'"):
        t.fit()
