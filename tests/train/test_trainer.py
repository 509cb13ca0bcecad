import json

import pytest
import torch
from torch import nn

from biodyn.errors import ConfigError
from biodyn.models import BiodynModel, create_model, from_pretrained, save_pretrained
from biodyn.models._pretrained import read_state
from biodyn.train import (
    CheckpointError,
    NonFiniteError,
    TensorDictDataset,
    TrainConfig,
    Trainer,
    lr_at,
    param_groups,
)

MC = dict(n_chans=2, n_outputs=3, n_times=32, sfreq=32.0)


def _data(n=48, seed=0, k=3):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, k, (n,), generator=g)
    x = torch.randn(n, 2, 32, generator=g) * 0.5
    x[:, 0] += y[:, None].float()  # separable by the mean of channel 0
    return TensorDictDataset(x, y)


def _cfg(tmp_path, **kw):
    base = dict(
        out_dir=str(tmp_path),
        task="multiclass",
        batch_size=8,
        max_steps=8,
        warmup_steps=2,
        lr=3e-3,
        eval_every=4,
        ckpt_every=100,
        log_every=1,
        progress=False,
        tensorboard=False,
    )
    base.update(kw)
    return TrainConfig(**base)


def _model(**kw):
    torch.manual_seed(0)
    return create_model("cnn1d", **MC, width=8, depth=2, **kw)


def test_trains_and_logs(tmp_path):
    cfg = _cfg(tmp_path, max_steps=30, tensorboard=True, eval_every=10)
    tr = Trainer(_model(), _data(), _data(seed=1), cfg, model_name="cnn1d", model_config=MC)
    before = tr.evaluate()["val_loss"]
    out = tr.fit()
    after = tr.evaluate()
    assert out["step"] == 30
    assert after["val_loss"] < before
    assert after["val_accuracy"] > 0.6
    rows = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert {r["kind"] for r in rows} == {"train", "eval"}
    assert list((tmp_path / "tb").glob("events.out.tfevents.*"))
    for which in ("last", "best"):
        assert (tmp_path / "checkpoints" / which / "model.safetensors").is_file()


def test_resume_is_bitwise(tmp_path):
    kw = dict(accum_steps=2, batch_size=4, max_steps=10)
    a = Trainer(_model(dropout=0.3), _data(), _data(seed=1), _cfg(tmp_path / "a", **kw), model_name="cnn1d")
    torch.manual_seed(1)
    a.fit()
    b = Trainer(_model(dropout=0.3), _data(), _data(seed=1), _cfg(tmp_path / "b", **kw), model_name="cnn1d")
    torch.manual_seed(1)
    assert b.fit(stop_at=7)["stopped"] == "stop_at"  # 7 steps x 2 micro-batches of 4 crosses an epoch of 12
    torch.manual_seed(999)  # the resumed run must restore RNG state itself
    c = Trainer(
        _model(dropout=0.3),
        _data(),
        _data(seed=1),
        _cfg(tmp_path / "b", resume=True, **kw),
        model_name="cnn1d",
    )
    c.fit()
    assert c.step == 10
    for (n, p), q in zip(a.model.state_dict().items(), c.model.state_dict().values(), strict=True):
        assert torch.equal(p, q), n
    assert read_state(tmp_path / "b" / "checkpoints" / "last")["step"] == 10


def test_resume_after_a_crash_between_the_checkpoint_renames(tmp_path):
    import os

    from biodyn.models._pretrained import previous_checkpoint

    cfg = _cfg(tmp_path, max_steps=4)
    tr = Trainer(_model(), _data(), None, cfg, model_name="cnn1d")
    tr.fit()
    last = tmp_path / "checkpoints" / "last"
    os.replace(last, previous_checkpoint(last))  # the moment between "old aside" and "new in place"
    c = Trainer(_model(), _data(), None, _cfg(tmp_path, max_steps=4, resume=True), model_name="cnn1d")
    assert c.resume() and c.step == 4
    for (n, p), q in zip(tr.model.state_dict().items(), c.model.state_dict().values(), strict=True):
        assert torch.equal(p, q), n


def test_checkpoint_errors(tmp_path):
    tr = Trainer(_model(), _data(), None, _cfg(tmp_path, max_steps=2), model_name="cnn1d")
    tr.fit()
    last = tmp_path / "checkpoints" / "last"
    other = Trainer(_model(), _data(), None, _cfg(tmp_path, resume=True), model_name="other")
    with pytest.raises(CheckpointError, match="model 'cnn1d'"):
        other.resume()
    torch.manual_seed(0)
    wider = create_model("cnn1d", **MC, width=4, depth=2)
    with pytest.raises(CheckpointError, match="do not fit"):
        Trainer(wider, _data(), None, _cfg(tmp_path), model_name="cnn1d").resume()
    st = json.loads((last / "state.json").read_text())
    st["format_version"] = 99
    (last / "state.json").write_text(json.dumps(st))
    with pytest.raises(CheckpointError, match="newer"):
        read_state(last)


def test_trained_model_exports_and_reloads(tmp_path):
    tr = Trainer(_model(), _data(), None, _cfg(tmp_path, max_steps=3), model_name="cnn1d")
    tr.fit()
    m = tr.model.eval()
    save_pretrained(m, tmp_path / "exp")
    m2 = from_pretrained(tmp_path / "exp")
    x = torch.randn(2, 2, 32)
    assert torch.equal(m(x), m2(x))


def test_early_stopping(tmp_path):
    # lr 0 -> the metric never improves after the first evaluation
    cfg = _cfg(
        tmp_path,
        lr=0.0,
        max_steps=50,
        eval_every=1,
        patience=3,
        early_stop_metric="val_accuracy",
        early_stop_mode="max",
    )
    out = Trainer(_model(), _data(), _data(seed=1), cfg).fit()
    assert out["stopped"] == "early_stopping" and out["step"] == 4
    with pytest.raises(ConfigError, match="early_stop_metric"):
        Trainer(_model(), _data(), _data(seed=1), _cfg(tmp_path / "x", early_stop_metric="nope")).fit()


def test_param_groups():
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 3)
            self.norm = nn.LayerNorm(3)
            self.pos = nn.Parameter(torch.zeros(3))
            self.pos._no_weight_decay = True

    m = M()
    decay, no = param_groups(m, 0.1)
    assert decay["weight_decay"] == 0.1 and no["weight_decay"] == 0.0
    assert {id(p) for p in decay["params"]} == {id(m.lin.weight)}
    assert {id(p) for p in no["params"]} == {id(m.lin.bias), id(m.norm.weight), id(m.norm.bias), id(m.pos)}


def test_lr_schedule():
    kw = dict(lr=1.0, warmup_steps=4, max_steps=14)
    assert [lr_at(s, **kw) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert lr_at(9, **kw) == pytest.approx(0.5)
    assert lr_at(14, **kw) == pytest.approx(0.0)
    assert lr_at(14, min_lr_ratio=0.1, **kw) == pytest.approx(0.1)


class _Exploding(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = nn.Linear(32, 3)
        self.second = nn.Linear(3, 3)

    def forward(self, x):
        h = self.first(x[:, 0])
        h = h * torch.where(h > -1e9, torch.tensor(float("inf")), h)  # inf from here on
        return self.second(h)


def test_nonfinite_loss_and_debug(tmp_path, monkeypatch):
    cfg = _cfg(tmp_path, max_steps=2)
    with pytest.raises(NonFiniteError, match="non-finite loss"):
        Trainer(_Exploding(), _data(), None, cfg).fit()
    monkeypatch.setenv("BIODYN_NAN_DEBUG", "1")
    with pytest.raises(NonFiniteError, match="'second'"):
        Trainer(_Exploding(), _data(), None, cfg).fit()


def test_multilabel_and_per_sample(tmp_path):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(24, 2, 32, generator=g)
    y = (torch.rand(24, 3, generator=g) > 0.5).float()
    ds = TensorDictDataset(x, y)
    tr = Trainer(_model(), ds, ds, _cfg(tmp_path / "ml", task="multilabel", max_steps=2, eval_every=2))
    tr.fit()
    assert "val_macro_auroc" in tr.history[-1] or any("val_macro_auroc" in r for r in tr.history)

    mask = (x[:, 0] > 0).float()
    ds2 = TensorDictDataset(x, y, mask)
    torch.manual_seed(0)
    per_sample = create_model("cnn1d_causal", **{**MC, "n_outputs": 1}, width=8, depth=2)
    tr = Trainer(per_sample, ds2, ds2, _cfg(tmp_path / "ps", task="per_sample", max_steps=4, eval_every=4))
    tr.fit()
    assert any("val_auroc" in r for r in tr.history)
    # train.task must score the output kind the model declares
    with pytest.raises(ConfigError, match=r"outputs 'per_sample'; use train.task=per_sample"):
        Trainer(per_sample, ds2, None, _cfg(tmp_path / "x", task="multilabel"))
    with pytest.raises(ConfigError, match=r"outputs 'clip'; use train.task=multiclass or multilabel"):
        Trainer(_model(), ds2, None, _cfg(tmp_path / "x", task="per_sample"))


class _TwoLosses(BiodynModel):
    """A clip classifier with an extra reconstruction term (the shape of PRISM's or CLD-Trans's objectives)."""

    def __init__(self):
        super().__init__(n_chans=2, n_outputs=3, n_times=32, sfreq=32.0)
        self.enc = nn.Conv1d(2, 8, 5, padding=2)
        self.dec = nn.Conv1d(8, 2, 1)
        self.head = nn.Linear(8, 3)

    def forward_features(self, x):
        return torch.tanh(self.enc(x))

    def forward_loss(self, batch):
        h = self.forward_features(batch["x"])
        logits = self.forward_head(h)
        return {
            "task": nn.functional.cross_entropy(logits, batch["y"]),
            "recon": (self.dec(h) - batch["x"]).square().mean(),
        }


def test_forward_loss_terms_are_weighted_and_logged(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    torch.manual_seed(0)
    weights = {"recon": 0.5}
    cfg = _cfg(tmp_path, max_steps=4, eval_every=2, tensorboard=True, loss_weights=weights)
    tr = Trainer(_TwoLosses(), _data(), _data(seed=1), cfg)
    tr.fit()
    rows = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    train = [r for r in rows if r["kind"] == "train"]
    evals = [r for r in rows if r["kind"] == "eval"]
    assert len(train) == 4 and len(evals) == 2
    for r in train:
        assert r["loss"] == pytest.approx(r["loss_task"] + 0.5 * r["loss_recon"], rel=1e-5)
    for r in evals:
        assert r["val_loss"] == pytest.approx(r["val_loss_task"] + 0.5 * r["val_loss_recon"], rel=1e-5)
        assert "val_accuracy" in r  # the task's metrics are computed on model(x)
    # evaluate() is the mean over examples of the same terms
    m = tr.model.eval()
    ds = _data(seed=1)
    with torch.no_grad():
        terms = m.forward_loss({"x": ds.x, "y": ds.y})
    ev = tr.evaluate()
    assert ev["val_loss_recon"] == pytest.approx(float(terms["recon"]), rel=1e-4)
    assert ev["val_loss_task"] == pytest.approx(float(terms["task"]), rel=1e-4)
    acc = EventAccumulator(str(tmp_path / "tb"))
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    assert {"train/loss", "train/loss_task", "train/loss_recon", "eval/val_loss_recon"} <= tags
    with pytest.raises(ConfigError, match=r"loss_weights names \['nope'\].*\['recon', 'task'\]"):
        Trainer(
            _TwoLosses(), _data(), None, _cfg(tmp_path / "w", max_steps=1, loss_weights={"nope": 1.0})
        ).fit()


def test_balanced_sampler_resume_is_bitwise(tmp_path):
    ds = _data()
    labels = (ds.y > 0).long().numpy()
    kw = dict(sampler="balanced", positive_ratio=0.5, batch_size=4, max_steps=16)
    a = Trainer(_model(), ds, None, _cfg(tmp_path / "a", **kw), labels=labels)
    a.fit()
    b = Trainer(_model(), ds, None, _cfg(tmp_path / "b", **kw), labels=labels)
    b.fit(stop_at=13)  # past the first epoch of 12 batches
    c = Trainer(_model(), ds, None, _cfg(tmp_path / "b", resume=True, **kw), labels=labels)
    c.fit()
    for (n, p), q in zip(a.model.state_dict().items(), c.model.state_dict().values(), strict=True):
        assert torch.equal(p, q), n
    with pytest.raises(ConfigError, match="balanced"):
        Trainer(_model(), torch.utils.data.TensorDataset(ds.x), None, _cfg(tmp_path / "d", **kw))
