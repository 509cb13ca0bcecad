import pytest
import torch

from biodyn.nn import Mamba2Block
from biodyn.testing import assert_close, requires_cuda


def test_mamba2_cpu_uses_torch_path_and_matches_reference():
    from biodyn.ops import last_backend
    from biodyn.ops.ssd import ssd_reference

    torch.manual_seed(0)
    blk = Mamba2Block(8, d_state=4, headdim=4, chunk_size=4).double()
    u = torch.randn(2, 11, 8, dtype=torch.float64)
    z, xbc, dt = blk._split(blk.in_proj(blk.norm(u)))
    x, dt, a, b, c = blk._ssm_inputs(blk.conv(xbc), dt)
    y, _ = ssd_reference(x, dt, a, b, c, blk.D)
    want = u + blk.out_proj(blk.out_norm(y.reshape(2, 11, blk.inner) * torch.nn.functional.silu(z)))
    assert_close(blk(u), want, rtol=1e-10)
    assert last_backend("ssd") == "chunked"


@requires_cuda
def test_mamba_ssm_path_matches_torch_on_cuda(monkeypatch):
    from biodyn.ops._backend import mamba_chunk_scan_combined, record_backends

    if mamba_chunk_scan_combined() is None:
        pytest.skip("mamba-ssm is not installed")
    monkeypatch.delenv("BIODYN_FORCE_TORCH", raising=False)
    monkeypatch.setenv("BIODYN_BACKEND", "auto")
    torch.manual_seed(0)
    blk = Mamba2Block(64, d_state=64, headdim=32).cuda()
    x = torch.randn(2, 200, 64, device="cuda")
    with record_backends() as calls:
        fast = blk(x)
    assert calls == [("ssd", "mamba_ssm")]  # the library really ran
    monkeypatch.setenv("BIODYN_BACKEND", "torch")
    with record_backends() as calls:
        slow = blk(x)
    assert calls == [("ssd", "chunked")]
    assert_close(fast, slow, rtol=5e-3, atol=1e-4)
