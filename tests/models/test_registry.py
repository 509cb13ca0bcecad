"""One parametrized contract test over every registered model."""

import pytest
import torch

from biodyn.errors import ConfigError
from biodyn.models import create_model, list_models

N_CHANS, N_OUT, N_TIMES, SFREQ = 3, 4, 256, 100.0


@pytest.mark.parametrize("name", list_models())
def test_model_contract(name):
    torch.manual_seed(0)
    m = create_model(name, n_chans=N_CHANS, n_outputs=N_OUT, n_times=N_TIMES, sfreq=SFREQ)
    x = torch.randn(2, N_CHANS, N_TIMES)
    m.eval()
    with torch.no_grad():
        y_eval = m(x)
    m.train()
    y = m(x)
    assert y.shape == (2, N_OUT)
    assert torch.isfinite(y).all()
    y.square().sum().backward()
    for pname, p in m.named_parameters():
        assert p.grad is not None, f"{name}: no gradient for {pname}"
        assert torch.isfinite(p.grad).all(), pname
    torch.manual_seed(0)
    m2 = create_model(name, n_chans=N_CHANS, n_outputs=N_OUT, n_times=N_TIMES, sfreq=SFREQ)
    m2.eval()
    with torch.no_grad():
        assert torch.equal(y_eval, m2(x))
    m.reset_head(7)
    assert m(x).shape == (2, 7)


def test_unknown_model_and_bad_kwarg():
    with pytest.raises(ConfigError, match="unknown model"):
        create_model("nope", n_chans=1, n_outputs=1, n_times=8, sfreq=1.0)
    with pytest.raises(ConfigError, match="cnn1d"):
        create_model("cnn1d", n_chans=1, n_outputs=1, n_times=8, sfreq=1.0, bogus=3)
