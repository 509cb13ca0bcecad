"""The examples of docs/models.md run as written."""

import re
from pathlib import Path

import torch

from biodyn.models import create_model, from_pretrained, save_pretrained

DOC = Path(__file__).resolve().parents[2] / "docs" / "models.md"


def blocks() -> list[str]:
    text = DOC.read_text()
    found = [re.sub(r"(?m)^  ", "", b) for b in re.findall(r"```python\n(.*?)```", text, flags=re.S)]
    assert len(found) >= 2, f"{DOC}: expected the example and the variant"
    return found


def test_adding_a_model_example_runs(scratch_registry, tmp_path):
    ns: dict = {}
    example, variant = blocks()[:2]
    assert len(example.strip().splitlines()) <= 20
    exec(compile(example, f"{DOC}:example", "exec"), ns)  # running our own documentation
    torch.manual_seed(0)
    m = create_model("tiny", n_chans=4, n_outputs=2, n_times=256, sfreq=128.0, width=8).eval()
    x = torch.randn(3, 4, 256)
    assert m(x).shape == (3, 2) and m.forward_head(m.forward_features(x), pre_logits=True).shape == (3, 8)
    save_pretrained(m, tmp_path / "tiny")
    assert torch.equal(from_pretrained(tmp_path / "tiny")(x), m(x))
    exec(compile(variant, f"{DOC}:variant", "exec"), ns)
    wide = create_model("tiny_wide", n_chans=4, n_outputs=2, sfreq=128.0)
    assert wide.cfg.width == 64 and wide.head.in_features == 64
