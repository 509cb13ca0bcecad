"""PRISM export: biodyn's save_pretrained/from_pretrained and the optional transformers shim."""

import pytest
import torch

from biodyn.models import create_model, from_pretrained, save_pretrained
from biodyn.models.prism import ModalityConfig, PRISMConfig, PRISMForClassification
from biodyn.testing import has_module


def test_save_pretrained_roundtrip(tmp_path):
    torch.manual_seed(0)
    m = create_model(
        "prism_tiny", n_chans=3, n_outputs=4, n_times=16, sfreq=100.0, hidden_dim=16, num_heads=2
    )
    x = torch.randn(2, 3, 10)
    m.eval()
    save_pretrained(m, tmp_path / "p")
    assert {p.name for p in (tmp_path / "p").iterdir()} == {"config.json", "model.safetensors", "README.md"}
    m2 = from_pretrained(tmp_path / "p")
    assert m2.cfg == m.cfg and m2.backbone.block_types == m.backbone.block_types
    with torch.no_grad():
        torch.testing.assert_close(m2(x), m(x), rtol=0, atol=0)


def test_multimodal_prism_roundtrip(tmp_path):
    """PRISMForClassification (the joint run's model: several modalities on one backbone) exports to biodyn's
    folder format too and comes back with its config, its modalities and the same outputs."""
    import json

    torch.manual_seed(0)
    cfg = PRISMConfig(
        hidden_dim=16,
        num_heads=2,
        num_layers=4,
        delta_chunk_size=4,
        modalities=[ModalityConfig("ecg", 3, 5), ModalityConfig("image", 6, 10)],
    )
    m = PRISMForClassification(cfg).eval()
    save_pretrained(m, tmp_path / "j")
    assert json.loads((tmp_path / "j" / "config.json").read_text())["name"] == "prism_multimodal"
    m2 = from_pretrained(tmp_path / "j")
    assert isinstance(m2, PRISMForClassification) and m2.config == cfg and m2.modalities == ["ecg", "image"]
    with torch.no_grad():
        for name, dim in (("ecg", 3), ("image", 6)):
            x = torch.randn(2, 7, dim)
            torch.testing.assert_close(m2(x, modality=name), m(x, modality=name), rtol=0, atol=0)


@pytest.mark.skipif(not has_module("transformers"), reason="transformers (extra 'hf') not installed")
def test_transformers_shim_roundtrip(tmp_path):
    from biodyn.models.prism_hf import get_prism_hf_classes

    torch.manual_seed(0)
    cfg = PRISMConfig(
        hidden_dim=16,
        num_heads=2,
        num_layers=4,
        modalities=[ModalityConfig("ecg", 12, 5), ModalityConfig("image", 48, 10)],
    )
    model = PRISMForClassification(cfg).eval()
    _, HFModel = get_prism_hf_classes()
    hf = HFModel.from_prism(model).eval()
    hf.save_pretrained(tmp_path / "hf")
    assert (tmp_path / "hf" / "config.json").is_file() and (tmp_path / "hf" / "model.safetensors").is_file()
    hf2 = HFModel.from_pretrained(tmp_path / "hf").eval()
    assert hf2.config.to_prism() == cfg
    x, y = torch.randn(2, 9, 12), torch.tensor([1, 3])
    with torch.no_grad():
        ref = model(x, modality="ecg", labels=y)
        out = hf2(x, modality="ecg", labels=y)
    torch.testing.assert_close(out["logits"], ref["logits"], rtol=0, atol=0)
    torch.testing.assert_close(out["loss"], ref["loss"])


def _old_multimodal_export(folder, cfg, model):
    """An export as biodyn wrote it before prism_multimodal was registered: no format marker, the bare
    PRISMConfig fields (no signal shape)."""
    import json

    from biodyn.models._pretrained import save_weights

    folder.mkdir()
    save_weights(model, folder / "model.safetensors")
    (folder / "config.json").write_text(
        json.dumps({"format_version": 1, "name": "prism_multimodal", "config": cfg.to_dict()})
    )


def test_old_prism_multimodal_exports_still_load(tmp_path):
    torch.manual_seed(0)
    cfg = PRISMConfig(
        hidden_dim=16,
        num_heads=2,
        num_layers=4,
        delta_chunk_size=4,
        modalities=[ModalityConfig("ecg", 3, 5), ModalityConfig("image", 6, 10)],
    )
    m = PRISMForClassification(cfg).eval()
    _old_multimodal_export(tmp_path / "old", cfg, m)
    m2 = from_pretrained(tmp_path / "old")
    assert isinstance(m2, PRISMForClassification) and m2.model_name == "prism_multimodal"
    assert m2.cfg == cfg and (m2.n_chans, m2.n_outputs, m2.sfreq) == (3, 5, 1.0)
    x = torch.randn(2, 6, 7)
    with torch.no_grad():
        torch.testing.assert_close(m2(x, modality="image"), m(x, modality="image"), rtol=0, atol=0)
