"""The Transformer baseline's KV-cache decoding (bench_prism's streaming comparison) against its causal forward."""

import pytest
import torch

from biodyn.errors import ConfigError
from biodyn.models import create_model


def _model(causal=True):
    torch.manual_seed(0)
    return (
        create_model(
            "transformer",
            n_chans=3,
            n_outputs=4,
            n_times=None,
            sfreq=1.0,
            d_model=16,
            depth=2,
            num_heads=2,
            causal=causal,
        )
        .double()
        .eval()
    )


def test_decode_steps_equal_the_causal_forward_on_every_prefix():
    """Token by token with a growing cache, the logits at step t are the full causal pass's over tokens 0..t
    (mean pooling of the prefix), and the cache holds one key and value per token seen."""
    model = _model()
    x = torch.randn(2, 3, 13, dtype=torch.float64)
    with torch.no_grad():
        cache = model.allocate_kv_cache(2)
        for t in range(x.shape[2]):
            logits, cache = model.decode_step(x[:, :, t], cache)
            torch.testing.assert_close(logits, model(x[:, :, : t + 1]), rtol=1e-10, atol=1e-10)
        assert cache["count"] == 13 and all(k.shape[2] == v.shape[2] == 13 for k, v in cache["kv"])


def test_decode_step_needs_a_causal_model():
    model = _model(causal=False)
    with pytest.raises(ConfigError, match="causal"):
        model.decode_step(torch.zeros(1, 3, dtype=torch.float64), model.allocate_kv_cache(1))
