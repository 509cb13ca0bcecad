"""CLD-Trans: config defaults, the forward_loss terms, lag graphs per recording, bad input."""

import numpy as np
import pytest
import torch

from biodyn.errors import ConfigError
from biodyn.models import create_model
from biodyn.models.cldtrans import SEEDS, CLDTransConfig
from biodyn.types import LagGraph

TINY = {
    "latent_dim": 8,
    "hidden": 8,
    "downsample": 4,
    "lag_hidden": 8,
    "lag_embed_dim": 4,
    "ode_hidden": 8,
    "codebook_size": 16,
    "ode_method": "rk4",
    "ode_step_size": 0.5,
    "n_subwindows": 2,
}


def tiny(**kw):
    torch.manual_seed(0)
    return create_model("cldtrans", n_chans=3, n_outputs=2, n_times=320, sfreq=160.0, **{**TINY, **kw})


def test_config_defaults_follow_the_proposal():
    c = CLDTransConfig()
    assert c.codebook_size == 512
    assert c.modalities == ["eeg", "ecg"] and c.modality_fs == [160.0, 500.0]
    assert list(SEEDS) == [42, 123, 7, 0, 256] and not hasattr(c, "seeds")  # protocol, not architecture
    assert 0 < c.tau_max_s and c.likelihood == "laplace" and c.ode_method == "dopri5"


@pytest.mark.parametrize("stage", ["stage1", "stage2"])
def test_forward_loss_terms_and_gradients(stage):
    m = tiny()
    m.set_stage(stage)
    terms = m.forward_loss({"x": torch.randn(2, 3, 320)})
    expected = {"recon", "vq_commit", "ldsem_nll", "l1", "stability"} | (
        {"ode"} if stage == "stage2" else set()
    )
    assert set(terms) == expected
    assert all(torch.isfinite(v) and v.ndim == 0 for v in terms.values())
    sum(terms.values()).backward()
    lag_grads = [p.grad for p in m.lag["eeg"].parameters()]
    assert any(g is not None and g.abs().sum() > 0 for g in lag_grads)
    if stage == "stage2":  # the tokenizer is frozen, the ODE trains
        assert all(p.grad is None for p in m.tokenizer.parameters())
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in m.ode.parameters())


def test_the_lag_path_really_delays():
    """The LD-SEM term depends on tau (the published code applied no lag at all)."""
    m = tiny()
    x = torch.randn(1, 3, 320)
    w = torch.zeros(1, 3, 3)
    w[0, 0, 1] = 0.8
    from biodyn.nn.lag_encoder import ldsem_terms

    nll = [
        float(ldsem_terms(x, torch.full((1, 3, 3), t), w, m.tau_max_samples("eeg"))[0]) for t in (0.0, 3.0)
    ]
    assert abs(nll[0] - nll[1]) > 1e-3


def test_output_contract_and_ecg_modality():
    m = tiny()
    assert m.output == "clip"
    assert m(torch.randn(2, 3, 320)).shape == (2, 2)
    terms = m.forward_loss(
        {"x": torch.randn(2, 12, 1000), "modality": ["ecg", "ecg"], "fs": torch.tensor([500.0, 500.0])}
    )
    assert torch.isfinite(sum(terms.values()))


def _ldsem_grads(g: float):
    """LD-SEM NLL and its gradient on the tokenizer's encoder at ``ldsem_latent_grad = g``."""
    m = tiny(ldsem_latent_grad=g)
    torch.manual_seed(1)  # the codebook's k-means initialisation draws from the global RNG
    x = torch.randn(2, 3, 320, generator=torch.Generator().manual_seed(2))
    nll = m.forward_loss({"x": x})["ldsem_nll"]
    nll.backward()
    enc = [m.tokenizer.enc_in.weight, m.tokenizer.enc_out.weight]
    return nll.detach(), [torch.zeros_like(p) if p.grad is None else p.grad for p in enc], m.lag["eeg"]


def test_ldsem_gradient_into_the_tokenizer_is_scaled_not_the_values():
    """``ldsem_latent_grad`` scales what the LD-SEM term teaches the tokenizer (at 1 it swamped the
    reconstruction on real data) and leaves the loss and the lag encoder's gradient as they are."""
    full, g_full, lag_full = _ldsem_grads(1.0)
    assert all(g.abs().sum() > 0 for g in g_full)
    for g in (0.1, 0.0):
        nll, grads, lag = _ldsem_grads(g)
        assert torch.equal(nll, full)
        for a, b in zip(grads, g_full):
            torch.testing.assert_close(a, g * b, rtol=1e-5, atol=1e-8)
        for p, q in zip(lag.parameters(), lag_full.parameters()):
            torch.testing.assert_close(p.grad, q.grad)
    assert CLDTransConfig().ldsem_latent_grad == 0.1


def test_stage1_pretraining_trains_the_reconstruction():
    """A few optimiser steps of the stage-1 objective at the defaults lower the reconstruction error of
    structured windows (random-phase sinusoids) well below their variance, with more than one code used."""
    m = tiny()
    opt = torch.optim.AdamW(m.parameters(), lr=3e-3)
    t = torch.arange(320) / 160.0
    recon = []
    for step in range(60):
        g = torch.Generator().manual_seed(step)
        f = 2 + 10 * torch.rand(4, 1, 1, generator=g)
        x = torch.sin(2 * torch.pi * f * t + 2 * torch.pi * torch.rand(4, 3, 1, generator=g))
        terms = m.forward_loss({"x": (x - x.mean(-1, keepdim=True)) / x.std(-1, keepdim=True)})
        opt.zero_grad()
        sum(terms.values()).backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
        recon.append(float(terms["recon"].detach()))
    assert recon[0] > 0.9 and np.mean(recon[-5:]) < 0.5 * recon[0]
    assert m.codebook_stats()["codebook_perplexity"] > 1.5


@pytest.mark.parametrize("mode", ["zero", "integer"])
def test_ablation_lag_modes(mode):
    m = tiny(lag_mode=mode)
    x = torch.randn(1, 3, 320)
    z = m.tokenizer.encode(x, torch.zeros(1, dtype=torch.long))
    tau, _ = m.infer_lags(x, z, "eeg")
    assert (tau == 0).all() if mode == "zero" else torch.equal(tau, tau.round())


def test_no_vq_and_no_ode_ablations_run():
    for kw in ({"use_vq": False}, {"use_ode": False}):
        m = tiny(**kw)
        m.set_stage("stage2")
        terms = m.forward_loss({"x": torch.randn(2, 3, 320)})
        assert ("vq_commit" in terms) == kw.get("use_vq", True) and "ode" in terms
        sum(terms.values()).backward()


def test_lag_graph_of_a_recording():
    m = tiny()
    g = m.lag_graph(
        np.random.default_rng(0).standard_normal((3, 700)), channels=["Fp1", "Fp2", "Cz"], fs=160.0
    )
    assert isinstance(g, LagGraph) and g.channels == ["Fp1", "Fp2", "Cz"] and g.fs == 160.0
    assert (g.tau >= 0).all() and (g.tau <= 0.05 + 1e-9).all() and (np.diag(g.weight) == 0).all()


def test_bad_input_is_refused_clearly():
    m = tiny()
    with pytest.raises(ConfigError, match="at least 2 channels"):
        m.forward_loss({"x": torch.randn(2, 1, 320)})
    with pytest.raises(ConfigError, match="at least 2 channels"):
        create_model("cldtrans", n_chans=1, n_outputs=1, n_times=320, sfreq=160.0)
    with pytest.raises(ConfigError, match=r"ldsem_latent_grad must be in \[0, 1\], got -0.5"):
        tiny(ldsem_latent_grad=-0.5)
    x = torch.randn(2, 3, 320)
    x[1, 0, 5] = float("nan")
    with pytest.raises(ConfigError, match=r"NaN or Inf in input window\(s\) \[1\]"):
        m.forward_loss({"x": x})
    with pytest.raises(ConfigError, match="mixed sampling rates"):
        m.forward_loss({"x": torch.randn(2, 3, 320), "fs": torch.tensor([160.0, 500.0])})
    with pytest.raises(ConfigError, match="resample it first"):
        m.forward_loss({"x": torch.randn(2, 3, 320), "fs": torch.tensor([256.0, 256.0])})
    with pytest.raises(ConfigError, match="resample it first"):
        m.lag_graph(np.zeros((3, 700)), fs=256.0)
    from biodyn.models import InputSpec

    m.input_spec = InputSpec(modalities=["eeg"])  # what a run records (it used to be a config field)
    with pytest.raises(ConfigError, match="trained on eeg only"):
        m.lag_graph(np.random.default_rng(0).standard_normal((3, 2000)), fs=500.0)
    with pytest.raises(ConfigError, match="nope"):
        create_model("cldtrans", n_chans=3, n_outputs=1, n_times=320, sfreq=160.0, nope=1)


def test_dense_lag_impl_matches_fused():
    x = torch.randn(2, 3, 320, dtype=torch.float64)
    tau = torch.rand(2, 3, 3, dtype=torch.float64) * 8
    w = torch.randn(2, 3, 3, dtype=torch.float64) * 0.3
    from biodyn.nn.lag_encoder import ldsem_terms

    a = ldsem_terms(x, tau, w, 8.0, impl="fused")
    b = ldsem_terms(x, tau, w, 8.0, impl="dense")
    for u, v in zip(a, b):
        assert float(u) == pytest.approx(float(v), abs=1e-10)


def test_activation_checkpointing_of_the_lag_path_changes_nothing():
    x = torch.randn(2, 3, 320)
    grads, vals = [], []
    for ckpt in (False, True):
        m = tiny(checkpoint_lag=ckpt, use_vq=False)
        terms = m.forward_loss({"x": x})
        sum(terms.values()).backward()
        vals.append(torch.stack([terms[k] for k in sorted(terms)]))
        grads.append(torch.cat([p.grad.reshape(-1) for p in m.lag["eeg"].parameters()]))
    torch.testing.assert_close(vals[0], vals[1])
    torch.testing.assert_close(grads[0], grads[1])


@pytest.mark.parametrize("use_vq", [False, True])
def test_activation_checkpointing_of_the_tokenizer_changes_nothing(use_vq):
    x = torch.randn(2, 3, 320)
    grads, vals = [], []
    for ckpt in (False, True):
        m = tiny(checkpoint_tokenizer=ckpt, use_vq=use_vq)
        terms = m.forward_loss({"x": x})
        sum(terms.values()).backward()
        vals.append(torch.stack([terms[k] for k in sorted(terms)]))
        grads.append(torch.cat([p.grad.reshape(-1) for p in m.tokenizer.parameters() if p.grad is not None]))
    torch.testing.assert_close(vals[0], vals[1])
    torch.testing.assert_close(grads[0], grads[1])


def test_checkpoint_of_an_older_version_with_run_state_still_loads(tmp_path):
    """Checkpoints written before the config became architecture only carry ``seeds``, ``stage``,
    ``objective``, ``task_weight``, ``kmeans_init`` and ``trained_modalities``: the registry's upgrade drops
    them (the trained modalities go to the input spec), and the generic loader rebuilds CLD-Trans from the
    checkpoint alone (no CLD-Trans-specific loader)."""
    import json

    from biodyn.models import from_pretrained, model_inputs
    from biodyn.models._pretrained import save_weights

    m = tiny().eval()
    folder = tmp_path / "out" / "stage2" / "checkpoints" / "last"
    folder.mkdir(parents=True)
    save_weights(m, folder / "model.safetensors")
    old = {
        "seeds": [42, 123, 7, 0, 256],
        "stage": "stage2",
        "objective": "pretrain",
        "task_weight": 0.0,
        "kmeans_init": False,
        "trained_modalities": ["eeg"],
    }
    cfg = {**m.init_config(), **old}
    (folder / "state.json").write_text(
        json.dumps({"format_version": 1, "model_name": "cldtrans", "model_config": cfg})
    )
    m2 = from_pretrained(tmp_path / "out")
    assert m2.init_config() == m.init_config() and not m2.training
    assert m2.input_spec.modalities == ["eeg"] and m2.stage == "stage1"
    x = torch.randn(2, 3, 320)
    with torch.no_grad():
        assert torch.equal(m2(x), m(x))
    decl = model_inputs("cldtrans")
    assert decl.rates == {"eeg": 160.0, "ecg": 500.0} and decl.preprocess["ecg"] == "CLDTRANS_ECG"


def test_the_config_is_architecture_only_and_rebuilds_the_model():
    """``create_model("cldtrans", **model.init_config())`` is a faithful rebuild: same parameters, same
    outputs, same loss terms once the run sets the same stage; run state is not in the config."""
    m = tiny()
    m.set_stage("stage2")
    cfg = m.init_config()
    assert not set(cfg) & {"seeds", "stage", "objective", "task_weight", "kmeans_init", "trained_modalities"}
    torch.manual_seed(0)
    m2 = create_model("cldtrans", **cfg)
    m2.load_state_dict(m.state_dict())
    assert m2.stage == "stage1" and all(p.requires_grad for p in m2.tokenizer.parameters())
    m2.set_stage("stage2")
    assert not any(p.requires_grad for p in m2.tokenizer.parameters())
    x = torch.randn(2, 3, 320)
    m.eval(), m2.eval()
    with torch.no_grad():
        torch.manual_seed(1)
        a = m.forward_loss({"x": x})
        torch.manual_seed(1)
        b = m2.forward_loss({"x": x})
        assert torch.equal(m(x), m2(x))
    assert a.keys() == b.keys() and "ode" in a and all(torch.equal(a[k], b[k]) for k in a)
