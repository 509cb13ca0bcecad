import pytest
import torch

from biodyn.errors import ConfigError
from biodyn.models import create_model, list_models
from biodyn.models.seizure import STACKS, TEST_CONFIG, parameter_counts, parameter_table

SMALL = {**TEST_CONFIG, "tcn_channels": [8, 8]}  # the contract test's sizes, a wider TCN


def test_registered():
    assert {"seizure_bimamba2", "seizure_gdn", "seizure_tiny"} <= set(list_models())


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("n_chans", [5, 18], ids=["C5", "C18bipolar"])
def test_forward_backward_every_parameter(stack, n_chans):
    torch.manual_seed(0)
    m = create_model(
        "seizure_tiny", n_chans=n_chans, n_outputs=1, sfreq=256.0, n_times=100, stack=stack, **SMALL
    )
    assert m.output == "per_sample"
    x = torch.randn(2, n_chans, 98)  # not a multiple of the stride: padded and cropped
    y = m(x)
    assert y.shape == (2, 98) and torch.isfinite(y).all()
    y.square().mean().backward()
    missing = [n for n, p in m.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing
    m.eval()
    torch.testing.assert_close(m(x), m(x))  # deterministic in eval


def test_pe_is_computed_every_fifth_step_and_held(monkeypatch):
    from biodyn.models import seizure

    m = create_model("seizure_tiny", n_chans=6, n_outputs=1, sfreq=256.0, n_times=64, **SMALL)
    calls = []
    orig = seizure.laplacian_eigenvectors
    monkeypatch.setattr(seizure, "laplacian_eigenvectors", lambda a, k: calls.append(a.shape) or orig(a, k))
    adj = torch.rand(2, 12, 6, 6)
    adj = adj + adj.transpose(-1, -2)
    pe = m.positional_encoding(adj)
    assert calls == [torch.Size([2, 3, 6, 6])]  # steps 0, 5, 10 only
    assert pe.shape == (2, 12, 6, 4) and not pe.requires_grad
    assert (
        torch.equal(pe[:, 1], pe[:, 0])
        and torch.equal(pe[:, 9], pe[:, 5])
        and torch.equal(pe[:, 11], pe[:, 10])
    )
    ref = orig(adj[:, 5], 4)
    torch.testing.assert_close(pe[:, 7], ref)


def test_channel_mismatch_and_bad_config():
    m = create_model("seizure_tiny", n_chans=4, n_outputs=1, sfreq=256.0, n_times=64, **SMALL)
    with pytest.raises(ConfigError, match=r"\(B, 4, T\)"):
        m.forward_features(torch.randn(1, 5, 64))
    with pytest.raises(ConfigError, match="stack"):
        create_model("seizure_tiny", n_chans=4, n_outputs=1, sfreq=256.0, stack="lstm")
    with pytest.raises(ConfigError, match="widht"):
        create_model("seizure_gdn", n_chans=4, n_outputs=1, sfreq=256.0, widht=3)


def test_default_sizes_and_table():
    counts = {
        s: parameter_counts(create_model(f"seizure_{s}", n_chans=19, n_outputs=1, n_times=15360, sfreq=256.0))
        for s in STACKS
    }
    a, b = counts["bimamba2"]["Total"], counts["gdn"]["Total"]
    assert abs(a - b) / max(a, b) < 0.05
    assert abs(counts["bimamba2"]["TCN encoder"] - 12.8e6) / 12.8e6 < 0.05
    text = parameter_table()
    assert "Node SSM" in text and "30.5M" in text and "within 5 %" in text
