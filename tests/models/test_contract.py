"""The model contract, checked for every registered model: a new model joins by registering."""

import pytest
import torch

from biodyn.models import (
    OUTPUT_KINDS,
    BiodynModel,
    InputSpec,
    ModelInputs,
    create_model,
    from_pretrained,
    list_models,
    model_entry,
    model_inputs,
    model_output,
    save_pretrained,
)
from biodyn.testing import assert_close

BASE = {"n_chans": 3, "n_outputs": 2, "n_times": 128, "sfreq": 64.0}
B = 2


def build(name: str, seed: int = 0, **kw) -> BiodynModel:
    torch.manual_seed(seed)
    return create_model(name, **{**BASE, **model_entry(name).test_config, **kw})


def inputs(m: BiodynModel, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(B, m.n_chans, m.n_times or BASE["n_times"], generator=g)


def batch_for(m: BiodynModel, x: torch.Tensor) -> dict:
    g = torch.Generator().manual_seed(2)
    return {
        "x": x,
        "y": torch.randint(0, m.n_outputs, (B,), generator=g),
        "mask": torch.randint(0, 2, (B, x.shape[-1]), generator=g).float(),
    }


def check_output(m: BiodynModel, y: torch.Tensor, x: torch.Tensor, name: str) -> None:
    if m.output == "clip":
        assert tuple(y.shape) == (B, m.n_outputs), f"{name}: clip output {tuple(y.shape)}"
    else:
        ok = {(B, m.n_outputs, x.shape[-1])} | ({(B, x.shape[-1])} if m.n_outputs == 1 else set())
        assert tuple(y.shape) in ok, f"{name}: per_sample output {tuple(y.shape)}, expected one of {ok}"
    assert torch.isfinite(y).all(), f"{name}: non-finite output"


models = pytest.mark.parametrize("name", list_models())


@models
def test_declares_its_output_and_shape(name):
    m = build(name)
    assert m.output in OUTPUT_KINDS
    assert m.model_name == name
    x = inputs(m)
    check_output(m, m(x), x, name)
    m.eval()
    with torch.no_grad():
        check_output(m, m(x), x, name)
        feats = m.forward_features(x)
        pooled = m.forward_head(feats, pre_logits=True)
        assert torch.equal(m.forward_head(feats), m(x))
    assert torch.isfinite(feats).all()
    # forward_features: one meaning per output kind (models/_base.py, docs/models.md)
    f, p = tuple(feats.shape), tuple(pooled.shape)
    if m.output == "clip":  # (B, D, T') along time, or (B, D) when the features have no time axis
        assert feats.ndim in (2, 3) and f[0] == B, f"{name}: clip features {f}"
        assert p == (B, f[1]), f"{name}: pre_logits {p} from features {f}"
    else:  # (B, D, T') or one vector per channel (B, C, T', D); pre_logits (B, D', T) at the input's length
        assert f[0] == B and (feats.ndim == 3 or (feats.ndim == 4 and f[1] == m.n_chans)), f"{name}: {f}"
        assert pooled.ndim == 3 and p[0] == B and p[-1] == x.shape[-1], f"{name}: pre_logits {p}"


@models
def test_registry_declares_inputs_and_output(name):
    """What a caller needs to feed the model comes from the registry, not from its name."""
    m = build(name)
    entry = model_entry(name)
    assert model_output(name) == m.output == entry.output
    decl = model_inputs(name, **{k: v for k, v in entry.test_config.items() if k not in BASE})
    assert isinstance(decl, ModelInputs) and decl.form in ("waveform", "tokens")
    assert set(decl.rates) <= set(decl.modalities) and set(decl.preprocess) <= set(decl.modalities)
    if decl.rates:  # a model bound to its modalities' rates: built at one of them
        assert m.sfreq in decl.rates.values(), f"{name}: sfreq {m.sfreq} not among {decl.rates}"


@models
def test_finite_gradient_for_every_parameter(name):
    """Every parameter gets a finite, non-zero gradient from what trains the model: its ``forward_loss``
    (in one of its ``stages`` at least, a frozen part getting none) and the task's loss on ``model(x)``."""
    m = build(name)
    x = inputs(m)
    reached = set()
    for stage in getattr(m, "stages", None) or (None,):
        if stage is not None:
            m.set_stage(stage)
        m.zero_grad(set_to_none=True)
        loss = m(x).square().mean()
        if hasattr(m, "forward_loss"):
            terms = m.forward_loss(batch_for(m, x))
            assert isinstance(terms, dict) and terms, f"{name}: forward_loss returned {terms!r}"
            for k, v in terms.items():
                assert v.ndim == 0 and torch.isfinite(v), f"{name}: loss term {k} = {v}"
            loss = loss + sum(terms.values())
        loss.backward()
        for pname, p in m.named_parameters():
            if not p.requires_grad:
                assert p.grad is None, f"{name} ({stage}): frozen {pname} got a gradient"
                continue
            if p.grad is None:  # unused in this stage (CLD-Trans' graph ODE in stage 1)
                continue
            assert torch.isfinite(p.grad).all(), f"{name} ({stage}): non-finite gradient in {pname}"
            if p.grad.abs().sum() > 0:
                reached.add(pname)
    missed = [n for n, _ in m.named_parameters() if n not in reached]
    assert not missed, f"{name}: no or zero gradient reaches {missed[:5]}"


@models
def test_seeded_determinism(name):
    a, b = build(name, seed=3).eval(), build(name, seed=3).eval()
    x = inputs(a)
    with torch.no_grad():
        assert torch.equal(a(x), b(x))


@models
def test_export_round_trip(name, tmp_path):
    m = build(name).eval()
    x = inputs(m)
    save_pretrained(m, tmp_path / "a")
    assert {p.name for p in (tmp_path / "a").iterdir()} == {"config.json", "model.safetensors", "README.md"}
    m2 = from_pretrained(tmp_path / "a")
    assert type(m2) is type(m) and m2.model_name == name and m2.init_config() == m.init_config()
    assert m2.input_spec is None and not m2.training
    with torch.no_grad():
        assert torch.equal(m(x), m2(x))
    rebuilt = create_model(name, **m.init_config())  # the config alone rebuilds the architecture
    rebuilt.load_state_dict(m.state_dict())
    with torch.no_grad():
        assert torch.equal(rebuilt.eval()(x), m(x)), f"{name}: create_model(**init_config()) is not faithful"
    spec = InputSpec(channels=[f"c{i}" for i in range(m.n_chans)], sfreq=m.sfreq, window_s=2.0, threshold=0.5)
    save_pretrained(m, tmp_path / "s", input_spec=spec)
    assert from_pretrained(tmp_path / "s").input_spec == spec
    m.reset_head(3)  # the new head size travels in config.json
    save_pretrained(m, tmp_path / "b")
    with torch.no_grad():
        assert torch.equal(m.eval()(x), from_pretrained(tmp_path / "b")(x))


@models
def test_reset_head_keeps_kind_device_dtype(name):
    m = build(name).double()
    kind = type(m.head)
    m.reset_head(3)
    assert type(m.head) is kind and m.n_outputs == 3
    assert all(p.dtype == torch.float64 for p in m.head.parameters())
    x = inputs(m).double()
    check_output(m, m(x), x, name)


@models
def test_freeze_features_trains_only_the_head(name):
    m = build(name)
    m.freeze_features()
    m.train()
    assert all(p.requires_grad == n.startswith("head.") for n, p in m.named_parameters())
    assert all(not c.training for n, c in m.named_children() if n != "head")


@models
def test_step_equals_forward(name):
    m = build(name)
    if not hasattr(m, "step"):
        pytest.skip(f"{name} does not stream")
    m = m.double().eval()
    x = inputs(m).double()
    state = m.allocate_state(B)
    outs = []
    with torch.no_grad():
        full = m(x)
        for t in range(x.shape[-1]):
            y_t, state = m.step(x[..., t], state)
            outs.append(y_t)
    if m.output == "per_sample":
        assert_close(torch.stack(outs, dim=-1).reshape(full.shape), full, rtol=1e-10, name=f"{name} step")
    else:
        assert_close(outs[-1], full, rtol=1e-10, name=f"{name} step")
